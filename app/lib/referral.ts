// The referral a relay's WebSocket tracker sends for an info hash it does not track
// (ARCHITECTURE.md, "Supernodes, lookups and load"). The stock tracker client hands the
// app nothing but the text of a `failure reason` (a newcomer: not tracked there) or of a
// `warning message` (a peer that joined before the hash moved), each as a torrent warning:
//   "monsoon: not tracked here; announce to ws://h1:p1/ ws://h2:p2/"
//   "monsoon: moved; announce to ws://h1:p1/ ws://h2:p2/"
// The prefixes are shared/referral.ts's, which the relay writes. The text comes from any
// relay a torrent announces to, so it is parsed strictly: exactly one of those prefixes,
// then WebSocket tracker URLs separated by single spaces and nothing else, or it is no
// referral at all.

import { MOVED_PREFIX, REFERRAL_PREFIX } from '../../shared/referral.ts'

export { MOVED_PREFIX, REFERRAL_PREFIX }

/** Longest referral text read: two owners' URLs need ~100 chars; longer text is refused
 * unread rather than split. */
export const MAX_REFERRAL_CHARS = 2048
/** Trackers kept from one referral: a hash has two owners (shared/rendezvous.ts R = 2);
 * a little room for a relay that names more, and no more sockets than that. */
export const MAX_REFERRAL_TRACKERS = 4
/** Longest single URL accepted (a host name is at most 253 chars). */
const MAX_URL_CHARS = 300

export interface Referral {
  /** `refer`: the relay did not track this peer; `moved`: it did, and asks it to move. */
  kind: 'refer' | 'moved'
  /** WebSocket trackers, `ws(s)://host[:port]/`, without repeats, at most
   * MAX_REFERRAL_TRACKERS. */
  trackers: string[]
}

/** Reads a torrent warning's text as a referral; null when it is none, or is malformed. */
export function parseReferral(message: unknown): Referral | null {
  if (typeof message !== 'string' || message.length > MAX_REFERRAL_CHARS) return null
  let kind: Referral['kind']
  let rest: string
  if (message.startsWith(REFERRAL_PREFIX)) {
    kind = 'refer'
    rest = message.slice(REFERRAL_PREFIX.length)
  } else if (message.startsWith(MOVED_PREFIX)) {
    kind = 'moved'
    rest = message.slice(MOVED_PREFIX.length)
  } else {
    return null
  }
  const words = rest.split(' ')
  const trackers: string[] = []
  for (const word of words) {
    const tracker = wsTrackerOrigin(word)
    if (tracker === null) return null
    if (!trackers.includes(tracker) && trackers.length < MAX_REFERRAL_TRACKERS) {
      trackers.push(tracker)
    }
  }
  return { kind, trackers }
}

/** `ws(s)://host[:port]/` for a bare WebSocket tracker URL, or null for anything else:
 * another scheme, credentials, a path, a query, a fragment, control characters. */
export function wsTrackerOrigin(text: string): string | null {
  if (text.length === 0 || text.length > MAX_URL_CHARS) return null
  // URL() quietly strips tabs and newlines and trims spaces; refuse them instead.
  if (!/^wss?:\/\/[\x21-\x7e]+$/.test(text)) return null
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return null
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return null
  if (url.username || url.password || url.search || url.hash) return null
  if (url.pathname !== '/' || !url.hostname) return null
  return `${url.protocol}//${url.host}/`
}
