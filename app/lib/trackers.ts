// Which WebSocket trackers a torrent announces to. Every info hash is tracked by its owners,
// the top two supernodes by rendezvous hashing over the live supernode set (shared/
// rendezvous.ts, the code the relays run), so a torrent announces to its owners' trackers
// and two browsers anywhere on the network meet there (ARCHITECTURE.md, "Supernodes, lookups
// and load"). Until this page knows any supernode record it announces to the relay that
// served it, which refers it on to the owners (app/lib/referral.ts). Relays the catalog
// knows that are not in the supernode records (outside the supernode network this page
// sees) and a link's own trackers are added as before; a known relay that does not own the
// hash is left out, since all it would do is refer the torrent on.

import type { SupernodeRecord } from '../../shared/supernode.ts'
import { MAX_TRACKERS } from './magnet.ts'
import { torrentOwners } from './network.ts'

/** Relays outside the known supernodes whose trackers a torrent announces to. Each costs a
 * WebSocket and an announce every interval, so a handful: enough for two browsers on
 * different relays to share one. */
export const MAX_RELAY_TRACKERS = 4

/** A relay's WebSocket tracker (`http://h:p` → `ws://h:p/`), or null if it is no HTTP URL. */
export function relayTracker(relay: string): string | null {
  let url: URL
  try {
    url = new URL(relay)
  } catch {
    return null
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null
  return `${url.protocol === 'https:' ? 'wss' : 'ws'}://${url.host}/`
}

/** One spelling per tracker for comparisons: the stock client drops the trailing slash. */
export function trackerKey(tracker: string): string {
  return tracker.toLowerCase().replace(/\/+$/, '')
}

/** Whether two announce lists name the same trackers, in any order. */
export function sameTrackers(a: readonly string[], b: readonly string[]): boolean {
  const keys = new Set(a.map(trackerKey))
  const other = new Set(b.map(trackerKey))
  return keys.size === other.size && [...keys].every((k) => other.has(k))
}

/** A page served over HTTPS cannot open `ws:` sockets (mixed content). */
function usable(tracker: string, secure: boolean): boolean {
  return !(secure && tracker.startsWith('ws:'))
}

/** The first tracker of a supernode record this page can use, if any. */
export function recordTracker(record: SupernodeRecord, secure: boolean): string | null {
  for (const url of record.urls) {
    const tracker = relayTracker(url)
    if (tracker && usable(tracker, secure)) return tracker
  }
  return null
}

/** The records, with the page's own origin put first among the URLs of the relay that served
 * it (node `id`): the page reaches that relay where it loaded it from, whatever URL the relay
 * publishes (one started without --public-url calls itself localhost). */
export function preferOrigin(
  records: readonly SupernodeRecord[],
  id: string | null,
  origin: string,
): SupernodeRecord[] {
  return records.map((r) =>
    r.id === id && !r.urls.includes(origin) ? { ...r, urls: [origin, ...r.urls] } : r,
  )
}

/** The trackers of the owners of `infoHash`, best first, leaving out nodes in `down`
 * (seen dead by this page): their hashes fall to the next-ranked owners. */
export function ownerTrackers(
  infoHash: string,
  records: readonly SupernodeRecord[],
  secure: boolean,
  down: ReadonlySet<string> = new Set(),
): string[] {
  const live = down.size ? records.filter((r) => !down.has(r.id)) : records
  return torrentOwners(infoHash, live).flatMap((r) => recordTracker(r, secure) ?? [])
}

export interface AnnounceInput {
  /** The WebSocket tracker of the relay that served the page. */
  origin: string
  /** The owners' trackers (ownerTrackers); empty while no supernode record is known. */
  owners: readonly string[]
  /** Every supernode record known, any role: their relays are left out unless they own
   * the hash. */
  records?: readonly SupernodeRecord[]
  /** Other relays the catalog knows (http origins). */
  relays: readonly string[]
  /** Trackers a link brought. */
  fromLink: readonly string[]
  secure: boolean
}

/**
 * The announce list: the owners' trackers (or, with none, the origin's), then those of up
 * to MAX_RELAY_TRACKERS catalog relays outside the known supernodes, then a link's own,
 * without repeats or known non-owners, at most MAX_TRACKERS in all, and no `ws:` tracker
 * on a page served over HTTPS.
 */
export function announceList(input: AnnounceInput): string[] {
  const { owners, records = [], secure } = input
  const head = owners.filter((t) => usable(t, secure))
  const ownerKeys = new Set(head.map(trackerKey))
  const knownKeys = new Set<string>()
  for (const record of records) {
    for (const url of record.urls) {
      const tracker = relayTracker(url)
      if (tracker) knownKeys.add(trackerKey(tracker))
    }
  }
  const list: string[] = []
  const add = (tracker: string | null): boolean => {
    if (tracker === null || list.length >= MAX_TRACKERS || !usable(tracker, secure)) return false
    const key = trackerKey(tracker)
    if (list.some((t) => trackerKey(t) === key)) return false
    if (knownKeys.has(key) && !ownerKeys.has(key)) return false
    list.push(tracker)
    return true
  }
  if (head.length) for (const t of head) add(t)
  else list.push(input.origin)
  let relays = 0
  for (const relay of input.relays) {
    if (relays >= MAX_RELAY_TRACKERS) break
    if (add(relayTracker(relay))) relays++
  }
  for (const tracker of input.fromLink) add(tracker)
  return list
}
