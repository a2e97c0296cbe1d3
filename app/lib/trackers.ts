// Which WebSocket trackers a torrent announces to. Browsers served by different relays
// only find each other if they announce to a common tracker, so every torrent announces to
// the tracker of the relay that served the page and to those of the other relays the
// catalog knows (each relay is a tracker on its own port, ARCHITECTURE.md "HTTP surface").

import { MAX_TRACKERS } from './magnet.ts'

/** Relays besides the origin whose trackers a torrent announces to. Each costs a
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

/**
 * The announce list: the origin's tracker first, then those of up to MAX_RELAY_TRACKERS
 * other relays, then a link's own, without repeats, at most MAX_TRACKERS in all. A page
 * served over HTTPS cannot open `ws:` sockets (mixed content), so it leaves them out.
 */
export function announceList(
  origin: string,
  relays: readonly string[],
  fromLink: readonly string[],
  secure: boolean,
): string[] {
  const list = [origin]
  const add = (tracker: string | null) => {
    if (tracker === null || list.includes(tracker) || list.length >= MAX_TRACKERS) return
    if (secure && tracker.startsWith('ws:')) return
    list.push(tracker)
  }
  for (const relay of relays) {
    if (list.length > MAX_RELAY_TRACKERS) break
    add(relayTracker(relay))
  }
  for (const tracker of fromLink) add(tracker)
  return list
}
