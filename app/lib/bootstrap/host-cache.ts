// The page's host cache (ARCHITECTURE.md, "Discovery", step 2): relays this page found itself
// (bootstrap.ts, through discovery.svelte.ts), and relays its mesh neighbours named (app/
// catalog/mesh-exchange.ts), kept in localStorage so an installed app whose first relay is
// gone still has somewhere to start. Addresses are checked as the relays' own host cache
// checks them (relay/supernode/host-cache.ts): an http(s) origin, and no private, loopback or
// multicast address unless this page itself came from such an address (a LAN or a test
// network: the browser's "--local-network"). Neighbours' relays are a source of their own
// under their own cap, newest first, so a flood from the mesh only churns its own slots.

import { addressKind } from '../../../shared/address.ts'
import { canonicalUrl } from '../../../shared/supernode.ts'

/** Relays this page found itself, kept for the next visit. */
export const MAX_CACHED_RELAYS = 64
/** Relays learned from mesh neighbours: enough to find the network again, few enough that
 * bootstrap (MAX_CONTACTS_PER_STEP relays contacted a step) still reaches the page's own. */
export const MAX_MESH_RELAYS = 32
const FOUND_KEY = 'monsoon.discovered-relays'
const MESH_KEY = 'monsoon.mesh-relays'

/** localStorage, or a map in tests. */
export interface HostStore {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
}

/** True when the page was served from a non-public address: relays on the LAN or loopback
 * are then the network, as a relay started with --local-network takes them. */
export function pageIsLocal(origin: string): boolean {
  try {
    return addressKind(new URL(origin).hostname) !== 'public'
  } catch {
    return false
  }
}

export class PageHostCache {
  readonly #store: HostStore
  readonly #localNetwork: boolean

  constructor(store: HostStore, localNetwork: boolean) {
    this.#store = store
    this.#localNetwork = localNetwork
  }

  /** The canonical origin of `url` when this page may contact it, else null. */
  check(url: unknown): string | null {
    if (typeof url !== 'string') return null
    let origin: string
    try {
      origin = canonicalUrl(url)
    } catch {
      return null
    }
    const local = addressKind(new URL(origin).hostname) !== 'public'
    return local && !this.#localNetwork ? null : origin
  }

  /** Every cached relay: the page's own finds first, then its neighbours'. */
  urls(): string[] {
    return [...new Set([...this.#read(FOUND_KEY), ...this.#read(MESH_KEY)])]
  }

  /** Relays this page found itself, best first. */
  saveFound(urls: readonly string[]): void {
    const merged = [...new Set([...urls, ...this.#read(FOUND_KEY)])]
    this.#write(FOUND_KEY, merged.slice(0, MAX_CACHED_RELAYS))
  }

  /** Relays a neighbour named: each checked; returns how many were new here, and how many
   * were refused (malformed, or an address this page may not contact). */
  addFromMesh(urls: readonly unknown[]): { stored: number; refused: number } {
    const known = new Set(this.urls())
    const fresh: string[] = []
    let refused = 0
    for (const url of urls) {
      const origin = this.check(url)
      if (origin === null) refused++
      else if (!known.has(origin)) {
        known.add(origin)
        fresh.push(origin)
      }
    }
    if (fresh.length) {
      const mesh = [...fresh, ...this.#read(MESH_KEY)]
      this.#write(MESH_KEY, mesh.slice(0, MAX_MESH_RELAYS))
    }
    return { stored: Math.min(fresh.length, MAX_MESH_RELAYS), refused }
  }

  #read(key: string): string[] {
    try {
      const value: unknown = JSON.parse(this.#store.getItem(key) ?? '[]')
      return Array.isArray(value) ? value.filter((u): u is string => this.check(u) !== null) : []
    } catch {
      return []
    }
  }

  #write(key: string, urls: string[]): void {
    try {
      this.#store.setItem(key, JSON.stringify(urls))
    } catch {
      // Storage full or refused: the next visit starts from the origin again.
    }
  }
}

let shared: PageHostCache | null = null

/** The page's one host cache, in localStorage. */
export function pageHostCache(): PageHostCache {
  shared ??= new PageHostCache(localStorage, pageIsLocal(location.origin))
  return shared
}
