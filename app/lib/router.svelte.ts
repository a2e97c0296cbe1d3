// A tiny hash router: the current route as reactive state, kept in step with the URL.

import { parseHash, type Route } from './routes.ts'

export class Router {
  current = $state.raw<Route>(parseHash(location.hash))
  /** The index page as last seen (its search, filter, sort and page), for links back. */
  lastIndex = $state('#/')

  constructor() {
    this.#remember()
    addEventListener('hashchange', () => {
      this.current = parseHash(location.hash)
      this.#remember()
      // A new page starts at its top, as it would after a real navigation.
      scrollTo(0, 0)
    })
  }

  #remember(): void {
    if (this.current.name === 'index') this.lastIndex = location.hash || '#/'
  }

  /** Goes to a `#/…` path, adding a history entry. */
  go(path: string): void {
    location.hash = path.replace(/^#/, '')
  }

  /**
   * Rewrites the current entry (the index page's search as it is typed): no history entry
   * per keystroke, no scroll, and Back from a listing returns to the same search.
   */
  replace(path: string): void {
    const hash = `#${path.replace(/^#/, '')}`
    if (hash === location.hash || (hash === '#/' && location.hash === '')) return
    history.replaceState(history.state, '', hash)
    this.current = parseHash(hash)
    this.#remember()
  }
}

export const router = new Router()
