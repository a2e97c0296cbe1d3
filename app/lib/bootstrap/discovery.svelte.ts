// What the Network view shows of discovery: how the relay that served the page found each
// supernode it lists (its GET /v1/discovery), and how this page itself finds relays when
// that relay knows too few (bootstrap.ts). Relays the page found are kept in localStorage,
// as its own host cache for the next visit.

import { fetchRelayJson } from '../../catalog/relay-client.ts'
import { bootstrapPage, type Found } from './bootstrap.ts'

/** Relays the page wants to know before it stops looking (the origin's minimum too). */
export const ENOUGH_RELAYS = 3
/** Relays kept in the page's host cache. */
export const MAX_CACHED_RELAYS = 64
const CACHE_KEY = 'monsoon.discovered-relays'

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
      cached: loadCache(),
      enough: ENOUGH_RELAYS,
    })
    this.found = [...found.values()]
    saveCache(this.found.map((f) => f.record.urls[0]))
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

function loadCache(): string[] {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(CACHE_KEY) ?? '[]')
    return Array.isArray(value) ? value.filter((u) => typeof u === 'string') : []
  } catch {
    return []
  }
}

function saveCache(urls: string[]): void {
  const merged = [...new Set([...urls, ...loadCache()])].slice(0, MAX_CACHED_RELAYS)
  try {
    localStorage.setItem(CACHE_KEY, JSON.stringify(merged))
  } catch {
    // Storage full or refused: the next visit starts from the origin again.
  }
}
