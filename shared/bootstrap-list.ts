// Bootstrap lists (ARCHITECTURE.md, "Discovery", step 4): a small JSON document anyone can
// publish on any web server, naming relays a new node may start from. Every relay serves
// its own at GET /.well-known/monsoon.json. Format, version 1:
//
//   { "v": 1, "supernodes": ["https://relay.example", …], "updated": <unix seconds> }
//
// Readers take the http(s) origins they understand and skip the rest (a list written by
// hand may hold a typo); anything that is not such an object is refused as a whole.
// Isomorphic: the relay's bootstrap loop and the app both read lists with it.

import { canonicalUrl } from './supernode.ts'

export const BOOTSTRAP_LIST_VERSION = 1
/** URLs read from one list; the rest are ignored (a node needs a handful). */
export const MAX_BOOTSTRAP_LIST_URLS = 256

export interface BootstrapList {
  v: typeof BOOTSTRAP_LIST_VERSION
  supernodes: string[]
  updated: number
}

export class BootstrapListError extends Error {
  override name = 'BootstrapListError'
}

export function encodeBootstrapList(urls: readonly string[], nowSeconds: number): BootstrapList {
  return { v: BOOTSTRAP_LIST_VERSION, supernodes: [...new Set(urls)], updated: nowSeconds }
}

/** The canonical origins a list names, in its order, without duplicates. */
export function parseBootstrapList(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BootstrapListError('a bootstrap list must be a JSON object')
  }
  const { v, supernodes } = value as Record<string, unknown>
  if (v !== BOOTSTRAP_LIST_VERSION) {
    throw new BootstrapListError(`unsupported bootstrap list version ${String(v)}`)
  }
  if (!Array.isArray(supernodes)) throw new BootstrapListError('"supernodes" must be a list')
  const out = new Set<string>()
  for (const url of supernodes.slice(0, MAX_BOOTSTRAP_LIST_URLS)) {
    try {
      out.add(canonicalUrl(url as string))
    } catch {
      // Not an http(s) origin: skipped.
    }
  }
  return [...out]
}
