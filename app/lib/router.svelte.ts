// A tiny hash router: the current route as reactive state, kept in step with the URL.

import { parseHash, type Route } from './routes.ts'

export class Router {
  current = $state.raw<Route>(parseHash(location.hash))

  constructor() {
    addEventListener('hashchange', () => {
      this.current = parseHash(location.hash)
      // A new page starts at its top, as it would after a real navigation.
      scrollTo(0, 0)
    })
  }

  /** Goes to a `#/…` path, adding a history entry. */
  go(path: string): void {
    location.hash = path.replace(/^#/, '')
  }
}

export const router = new Router()
