// What the Network view shows of discovery: how the relay that served the page found each
// supernode it lists (its GET /v1/discovery), and how this page itself finds relays when
// that relay knows too few (bootstrap.ts). Relays the page found are kept in its host cache
// (host-cache.ts) for the next visit, beside those its mesh neighbours named.

import { fetchRelayJson } from '../../catalog/relay-client.ts'
import { bootstrapPage, type Found } from './bootstrap.ts'
import { pageHostCache } from './host-cache.ts'

/** Relays the page wants to know before it stops looking (the origin's minimum too). */
export const ENOUGH_RELAYS = 3

export interface RelayRoute {
  id: string
  url: string
  route: string
}

export class DiscoveryState {
  /** How the origin found each supernode; null until read. */
  relayRoutes = $state.raw<RelayRoute[] | null>(null)
  /** How this page found each relay; null until its bootstrap ran. */
  found = $state.raw<Found[] | null>(null)
  error = $state<string | null>(null)

  readonly #origin: string

  constructor(origin: string) {
    this.#origin = origin
  }

  async refresh(): Promise<void> {
    try {
      const answer = await fetchRelayJson(`${this.#origin}/v1/discovery`)
      this.relayRoutes = readRoutes(answer)
      this.error = null
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err)
    }
    const found = await bootstrapPage({
      origin: this.#origin,
      cached: pageHostCache().urls(),
      enough: ENOUGH_RELAYS,
    })
    this.found = [...found.values()]
    pageHostCache().saveFound(this.found.map((f) => f.record.urls[0]))
  }
}

function readRoutes(value: unknown): RelayRoute[] {
  const list = (value as { supernodes?: unknown } | null)?.supernodes
  if (!Array.isArray(list)) throw new TypeError('the relay sent no discovery list')
  return list
    .slice(0, 256)
    .filter(
      (s): s is RelayRoute =>
        typeof s?.id === 'string' && typeof s?.url === 'string' && typeof s?.route === 'string',
    )
    .map((s) => ({ id: s.id, url: s.url, route: s.route }))
}
