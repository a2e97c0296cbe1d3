// Relays a neighbour's lookup answer referred one of our torrents to (issue 22, hash lookup).
// The URL is a neighbour's text, not a verified record: only one that parses as a relay is
// taken, as the WebSocket tracker it runs (ws:/wss: as given; http(s): the relay's own), and at
// most MAX_REFERRED_RELAYS_PER_TORRENT distinct ones per torrent each REFERRED_RELAYS_WINDOW_MS.
// Whether the torrent then announces there is the page's rule for any referral text
// (app/lib/rehome.ts planTrackers, through the client host): this only bounds what reaches it.

import { BoundedMap } from '../../../shared/bounded-map.ts'
import {
  MAX_REFERRED_RELAYS_PER_TORRENT,
  MAX_REFERRED_TORRENTS,
  REFERRED_RELAYS_WINDOW_MS,
} from '../../../shared/mesh/limits.ts'
import { canonicalUrl } from '../../../shared/supernode.ts'
import { wsTrackerOrigin } from '../referral.ts'
import { relayTracker } from '../trackers.ts'

/** The WebSocket tracker a referred relay URL names, or null: a scheme other than ws(s) or
 * http(s), credentials, a path, query or fragment, spaces or control characters (which URL()
 * would quietly drop). */
export function referredTracker(url: string): string | null {
  if (!/^[\x21-\x7e]+$/.test(url)) return null
  if (/^wss?:\/\//.test(url)) return wsTrackerOrigin(url)
  try {
    return relayTracker(canonicalUrl(url))
  } catch {
    return null
  }
}

export class ReferredRelays {
  /** By info hash: the trackers handed on since the window began. */
  readonly #byTorrent = new BoundedMap<string, { since: number; trackers: Set<string> }>({
    maxSize: MAX_REFERRED_TORRENTS,
    order: 'oldest',
  })

  get size(): number {
    return this.#byTorrent.size
  }

  /** Hands `tracker` to `infoHash`'s torrent by `hand` unless it was handed already this
   * window or the torrent's slots are spent; a tracker `hand` refuses (false) takes no slot.
   * True when handed. */
  take(infoHash: string, tracker: string, now: number, hand: () => boolean): boolean {
    let handed = this.#byTorrent.get(infoHash)
    if (!handed || now - handed.since >= REFERRED_RELAYS_WINDOW_MS) {
      handed = { since: now, trackers: new Set() }
      this.#byTorrent.set(infoHash, handed)
    }
    if (handed.trackers.has(tracker)) return false
    if (handed.trackers.size >= MAX_REFERRED_RELAYS_PER_TORRENT || !hand()) return false
    handed.trackers.add(tracker)
    return true
  }
}
