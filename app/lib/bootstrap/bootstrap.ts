// How the page finds relays when the one that served it knows too few (ARCHITECTURE.md,
// "Discovery"), in order, stopping once it has `enough`:
//   1. the origin: its GET /v1/supernodes;
//   2. the host cache: relays this page found before (kept by discovery.svelte.ts);
//   3. DNS: TXT `_supernodes.<zone>` through DoH endpoints (shared/doh/), the zones and
//      endpoints the origin names in GET /v1/discovery;
//   4. bootstrap lists (shared/bootstrap-list.ts), likewise named by the origin.
// A relay found by name only counts once its signed record (GET /v1/hello) verifies, the
// check every node runs. Each relay keeps the route that found it first.

import { parseBootstrapList } from '../../../shared/bootstrap-list.ts'
import { verifySupernodeRecord, type SupernodeRecord } from '../../../shared/supernode.ts'
import { checkSupernodes } from '../network.ts'
import { fetchCapped } from '../../../shared/capped-body.ts'
import { lookupSupernodes } from '../../../shared/doh/client.ts'

export type FoundVia = 'origin' | 'host-cache' | 'dns' | 'list'

export interface Found {
  route: FoundVia
  record: SupernodeRecord
}

export interface BootstrapHints {
  zones: string[]
  dohEndpoints: string[]
  lists: string[]
}

export interface PageBootstrapOptions {
  origin: string
  /** Relays this page found before, best first. */
  cached: readonly string[]
  /** Relays to find before stopping (the origin included). */
  enough: number
  /** Zones, DoH endpoints and lists to use beside those the origin names. */
  hints?: Partial<BootstrapHints>
  fetch?: typeof fetch
  /** Unix seconds, for verifying records. */
  now?: () => number
  signal?: AbortSignal
}

/** Relays contacted per step: a page needs a handful. */
export const MAX_CONTACTS_PER_STEP = 16
/** Bytes read of a relay's answer (a hello, a supernode list, a bootstrap list). */
const MAX_JSON_BYTES = 1024 * 1024

/** Every relay found, by node id, with the route that found it first. */
export async function bootstrapPage(options: PageBootstrapOptions): Promise<Map<string, Found>> {
  const fetchFn = options.fetch ?? fetch
  const now = options.now ?? (() => Math.floor(Date.now() / 1000))
  const json = async (url: string) => {
    const body = await fetchCapped(url, {
      fetch: fetchFn,
      signal: options.signal,
      maxBytes: MAX_JSON_BYTES,
    })
    return JSON.parse(new TextDecoder().decode(body)) as unknown
  }
  const found = new Map<string, Found>()
  const add = (record: SupernodeRecord, route: FoundVia) => {
    if (!found.has(record.id)) found.set(record.id, { route, record })
  }
  const known = (url: string) => [...found.values()].some((f) => f.record.urls.includes(url))
  const hello = async (urls: readonly string[], route: FoundVia) => {
    const fresh = [...new Set(urls)].filter((u) => !known(u)).slice(0, MAX_CONTACTS_PER_STEP)
    await Promise.all(
      fresh.map(async (url) => {
        try {
          add(verifySupernodeRecord(await json(`${url}/v1/hello`), now()), route)
        } catch {
          // Down, or not a relay: skipped.
        }
      }),
    )
  }

  let hints: BootstrapHints = { zones: [], dohEndpoints: [], lists: [] }
  try {
    const [list, discovery] = await Promise.all([
      json(`${options.origin}/v1/supernodes`),
      json(`${options.origin}/v1/discovery`).catch(() => null),
    ])
    for (const record of checkSupernodes(list, now()).records) add(record, 'origin')
    hints = readHints(discovery)
  } catch {
    // The origin is down or old: the other routes still work.
  }
  hints = mergeHints(hints, options.hints ?? {})
  const steps: [FoundVia, () => Promise<string[]>][] = [
    ['host-cache', async () => [...options.cached]],
    ['dns', () => fromDns(hints, fetchFn, options.signal)],
    ['list', () => fromLists(hints, json)],
  ]
  for (const [route, urls] of steps) {
    if (found.size >= options.enough) break
    await hello(await urls(), route)
  }
  return found
}

async function fromDns(hints: BootstrapHints, fetchFn: typeof fetch, signal?: AbortSignal) {
  const lookups = hints.zones.flatMap((zone) =>
    hints.dohEndpoints.map((endpoint) =>
      lookupSupernodes(endpoint, zone, { fetch: fetchFn, signal }).catch(() => [] as string[]),
    ),
  )
  return (await Promise.all(lookups)).flat()
}

async function fromLists(hints: BootstrapHints, json: (url: string) => Promise<unknown>) {
  const lists = hints.lists.map((url) =>
    json(url)
      .then(parseBootstrapList)
      .catch(() => [] as string[]),
  )
  return (await Promise.all(lists)).flat()
}

function mergeHints(a: BootstrapHints, b: Partial<BootstrapHints>): BootstrapHints {
  const merge = (x: string[], y: string[] = []) => [...new Set([...y, ...x])]
  return {
    zones: merge(a.zones, b.zones),
    dohEndpoints: merge(a.dohEndpoints, b.dohEndpoints),
    lists: merge(a.lists, b.lists),
  }
}

/** The zones, DoH endpoints and lists of a GET /v1/discovery answer (strings only). */
export function readHints(value: unknown): BootstrapHints {
  const v = (value ?? {}) as Record<string, unknown>
  const strings = (x: unknown) =>
    Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string').slice(0, 16) : []
  return { zones: strings(v.zones), dohEndpoints: strings(v.dohEndpoints), lists: strings(v.lists) }
}
