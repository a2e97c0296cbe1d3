// Whether the browser has a network, as reactive state: transfers and the index say so when
// it is gone (navigator.onLine is false only when there is surely none).

export class Connectivity {
  online = $state(globalThis.navigator?.onLine ?? true)

  constructor() {
    addEventListener('online', () => (this.online = true))
    addEventListener('offline', () => (this.online = false))
  }
}

export const connectivity = new Connectivity()
