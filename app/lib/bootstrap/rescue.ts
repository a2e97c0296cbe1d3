// When every relay the catalog syncs from has failed (an installed app that outlived the relay
// that served it), the page looks for others as the Network view does (bootstrap.ts): its host
// cache — relays it found before and relays its mesh neighbours named —, then DNS and lists.
// Only relays whose signed record verifies are used, so a neighbour that named junk costs a
// failed fetch, never a sync slot. The catalog then syncs from them, and torrents announce to
// them (App.svelte passes the catalog's relays on).

import type { RelaySyncProgress } from '../../catalog/protocol.ts'
import type { Found, PageBootstrapOptions } from './bootstrap.ts'

/** How long after a search that found nothing the page searches again. */
export const RESCUE_RETRY_MS = 60_000

export interface RescueDeps {
  origin: string
  /** Relays to try first, best first (the host cache). */
  cached(): string[]
  bootstrap(options: PageBootstrapOptions): Promise<Map<string, Found>>
  /** Relays to look for before stopping. */
  enough: number
  /** Starts the catalog on these relays too. */
  start(urls: string[]): void
  /** Keeps what was found for the next visit. */
  saveFound(urls: string[]): void
  now(): number
}

/** True when the catalog has relays and every one of them failed its last pass. */
export function allRelaysDown(relays: readonly RelaySyncProgress[]): boolean {
  return relays.length > 0 && relays.every((r) => r.state === 'error')
}

export class RelayRescue {
  readonly #deps: RescueDeps
  #running = false
  #lastAt = -Infinity

  constructor(deps: RescueDeps) {
    this.#deps = deps
  }

  /** Called as the catalog's relays change: searches when all are down, at most once per
   * RESCUE_RETRY_MS. Returns the relays it started, or [] when it did not search. */
  async check(relays: readonly RelaySyncProgress[]): Promise<string[]> {
    const deps = this.#deps
    if (this.#running || !allRelaysDown(relays)) return []
    if (deps.now() - this.#lastAt < RESCUE_RETRY_MS) return []
    this.#running = true
    this.#lastAt = deps.now()
    try {
      const found = await deps.bootstrap({
        origin: deps.origin,
        cached: deps.cached(),
        enough: deps.enough,
      })
      const known = new Set(relays.map((r) => r.relay))
      const urls = [...found.values()]
        .map((f) => f.record.urls[0])
        .filter((url): url is string => typeof url === 'string' && !known.has(url))
      if (urls.length > 0) {
        deps.saveFound(urls)
        deps.start(urls)
      }
      return urls
    } catch {
      return []
    } finally {
      this.#running = false
    }
  }
}
