// The BitTorrent HTTP tracker front end: BEP 3 announce, BEP 23 compact peers, BEP 7 IPv6
// peers, BEP 48 scrape. Parses the raw request target itself rather than through URL /
// URLSearchParams: `info_hash` and `peer_id` are percent-encoded binary, which those decode
// as UTF-8 and mangle, and this is the relay's hottest path (see bench/tracker-http).

import bencode from 'bencode'
import {
  DEFAULT_NUMWANT,
  MAX_NUMWANT,
  MAX_SCRAPE_HASHES,
  MAX_TRACKER_URL_BYTES,
} from '../limits.ts'
import {
  TrackerError,
  clientIp,
  type Announce,
  type AnnounceResult,
  type AnnounceEvent,
  type ScrapeEntry,
  type Tracker,
} from './tracker.ts'

export interface HttpTrackerOptions {
  /** Seconds between announces (`interval`). */
  interval: number
  /** Seconds clients must wait at least (`min interval`). */
  minInterval: number
  /** Take the client address from X-Forwarded-For (set only behind a proxy you run). */
  trustProxy: boolean
}

export interface HttpTrackerRequest {
  /** The request target, e.g. `/announce?info_hash=…`. */
  url: string
  /** The socket's remote address. */
  remoteAddress: string
  /** The X-Forwarded-For header, if any. */
  forwardedFor?: string
}

const EVENTS = new Set<string>(['', 'started', 'stopped', 'completed', 'paused', 'empty'])
/** Scratch bytes for binaryHex (the relay is single-threaded). */
const ID_BYTES = Buffer.alloc(20)

/** Answers `/announce` or `/scrape`; always a bencoded body (a failure reason on error). */
export function handleHttpTracker(
  tracker: Tracker,
  req: HttpTrackerRequest,
  opts: HttpTrackerOptions,
  now: number,
): Uint8Array {
  try {
    if (req.url.length > MAX_TRACKER_URL_BYTES) throw new TrackerError('request too long')
    const q = req.url.indexOf('?')
    const path = q === -1 ? req.url : req.url.slice(0, q)
    const query = q === -1 ? '' : req.url.slice(q + 1)
    const ip = clientIp(req.remoteAddress, req.forwardedFor, opts.trustProxy)
    if (path === '/announce') return announce(tracker, query, ip, opts, now)
    if (path === '/scrape') return scrape(tracker, query)
    throw new TrackerError('not found')
  } catch (err) {
    if (err instanceof TrackerError) return failure(err.message)
    throw err
  }
}

export function failure(reason: string): Uint8Array {
  return bencode.encode({ 'failure reason': reason })
}

function announce(
  tracker: Tracker,
  query: string,
  ip: string,
  opts: HttpTrackerOptions,
  now: number,
): Uint8Array {
  let infoHash: string | null = null
  let peerId: string | null = null
  let port = -1
  let left = Infinity
  let event = ''
  let numwant = DEFAULT_NUMWANT
  let compact = true

  forEachParam(query, (key, value) => {
    switch (key) {
      case 'info_hash':
        infoHash = binaryHex(value)
        if (infoHash === null) throw new TrackerError('invalid info_hash: must be 20 bytes')
        break
      case 'peer_id':
        peerId = binaryHex(value)
        if (peerId === null) throw new TrackerError('invalid peer_id: must be 20 bytes')
        break
      case 'port':
        port = parseUint(value)
        break
      case 'left': {
        const n = parseUint(value)
        if (n >= 0) left = n
        break
      }
      case 'event':
        event = value
        break
      case 'numwant': {
        const n = parseUint(value)
        if (n >= 0) numwant = Math.min(n, MAX_NUMWANT)
        break
      }
      case 'compact':
        compact = value !== '0'
        break
      // `no_peer_id` (BEP 23) needs no reading: peer ids are never sent.
      // `ip=` is deliberately ignored: the socket address is the peer (forging it would let
      // anyone point a swarm at a victim).
    }
  })

  if (infoHash === null) throw new TrackerError('missing info_hash')
  if (peerId === null) throw new TrackerError('missing peer_id')
  if (port < 1 || port > 65535) throw new TrackerError('invalid port: must be 1-65535')
  if (!EVENTS.has(event)) throw new TrackerError('invalid event')

  const req: Announce = {
    kind: 'tcp',
    infoHash,
    peerId,
    ip,
    port,
    left,
    event: (event === 'empty' ? '' : event) as AnnounceEvent,
    numwant,
  }
  const result = tracker.announce(req, now)

  if (compact) return compactAnswer(result, opts)
  return bencode.encode({
    complete: result.complete,
    incomplete: result.incomplete,
    interval: opts.interval,
    'min interval': opts.minInterval,
    // Never `peer id`, asked for or not (BEP 23 lets a tracker leave it out): the peers in an
    // answer are other clients, at other addresses, and their ids are theirs to give in a
    // handshake. Clients cannot need it (compact answers, the common case, carry none, and
    // BEP 3's handshake check against it is optional), while handing it out let anyone name
    // a victim's id (issue 20).
    peers: result.peers.map((p) => ({ ip: p.ip, port: p.port })),
  })
}

/**
 * The compact answer (BEP 23 `peers`, BEP 7 `peers6`), framed by hand into one buffer as
 * scrape frames its outer dictionary: this is the relay's hottest path, and the bencode
 * package costs a key sort and a few dozen small arrays per announce. Keys are in bencode's
 * byte order (http.test.ts compares the bytes with bencode.encode). IPv4 peers are written
 * from `Peer.ip4` and `port`, so no second object is read per peer.
 */
export function compactAnswer(result: AnnounceResult, opts: HttpTrackerOptions): Buffer {
  let n4 = 0
  let n6 = 0
  for (const p of result.peers) {
    if (p.ip4 >= 0) n4++
    else if (p.compact?.length === 18) n6++
  }
  const head =
    `d8:completei${result.complete}e10:incompletei${result.incomplete}e` +
    `8:intervali${opts.interval}e12:min intervali${opts.minInterval}e5:peers${n4 * 6}:`
  const head6 = n6 > 0 ? `6:peers6${n6 * 18}:` : ''
  const out = Buffer.allocUnsafe(head.length + n4 * 6 + head6.length + n6 * 18 + 1)
  let o = out.write(head, 0, 'latin1')
  for (const p of result.peers) {
    const a = p.ip4
    if (a < 0) continue
    out[o] = a >>> 24
    out[o + 1] = a >>> 16
    out[o + 2] = a >>> 8
    out[o + 3] = a
    out[o + 4] = p.port >>> 8
    out[o + 5] = p.port
    o += 6
  }
  if (n6 > 0) {
    o += out.write(head6, o, 'latin1')
    for (const p of result.peers) {
      if (p.ip4 >= 0 || p.compact?.length !== 18) continue
      out.set(p.compact, o)
      o += 18
    }
  }
  out[o] = 0x65 // 'e'
  return out
}

function scrape(tracker: Tracker, query: string): Uint8Array {
  const hashes = scrapeHashes(query)
  // A full scrape (no info_hash) would hand out the whole swarm table: refused.
  if (hashes.length === 0) throw new TrackerError('missing info_hash')
  return scrapeAnswer(tracker.scrape(hashes))
}

/** The distinct info hashes (hex) a query names, at most MAX_SCRAPE_HASHES; throws
 * TrackerError for a malformed one. */
function scrapeHashes(query: string): string[] {
  const hashes = new Set<string>()
  forEachParam(query, (key, value) => {
    if (key !== 'info_hash' || hashes.size >= MAX_SCRAPE_HASHES) return
    const hex = binaryHex(value)
    if (hex === null) throw new TrackerError('invalid info_hash: must be 20 bytes')
    hashes.add(hex)
  })
  return [...hashes]
}

/** The info hashes (hex) a tracker request target names: one for an announce, up to
 * MAX_SCRAPE_HASHES for a scrape; empty when there is none or one is malformed (the local
 * tracker then answers with the failure reason). */
export function requestInfoHashes(url: string): string[] {
  const q = url.indexOf('?')
  if (q === -1 || url.length > MAX_TRACKER_URL_BYTES) return []
  try {
    return scrapeHashes(url.slice(q + 1))
  } catch {
    return []
  }
}

/** A BEP 48 scrape answer. The `files` keys are raw 20-byte hashes, which the bencode
 * package would write as UTF-8 text: so the outer dictionary is framed here, in byte order,
 * and each value encoded by it. */
export function scrapeAnswer(entries: ScrapeEntry[]): Uint8Array {
  const sorted = [...entries].sort((a, b) => (a.infoHash < b.infoHash ? -1 : 1))
  const parts: Uint8Array[] = [FILES_OPEN]
  for (const entry of sorted) {
    parts.push(KEY_PREFIX, Buffer.from(entry.infoHash, 'hex'))
    parts.push(
      bencode.encode({
        complete: entry.complete,
        incomplete: entry.incomplete,
        downloaded: entry.downloaded,
      }),
    )
  }
  parts.push(FILES_CLOSE)
  return Buffer.concat(parts)
}

const FILES_OPEN = Buffer.from('d5:filesd')
const FILES_CLOSE = Buffer.from('ee')
const KEY_PREFIX = Buffer.from('20:')

function forEachParam(query: string, fn: (key: string, value: string) => void): void {
  let start = 0
  while (start < query.length) {
    let end = query.indexOf('&', start)
    if (end === -1) end = query.length
    const eq = query.indexOf('=', start)
    if (eq !== -1 && eq < end) fn(query.slice(start, eq), query.slice(eq + 1, end))
    else if (end > start) fn(query.slice(start, end), '')
    start = end + 1
  }
}

/** Non-negative integer, or -1 when the value is not one (or beyond 2^53). */
function parseUint(value: string): number {
  if (value.length === 0 || value.length > 16) return -1
  let n = 0
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i) - 48
    if (c < 0 || c > 9) return -1
    n = n * 10 + c
  }
  return n
}

/** Percent-decodes a binary query value; returns its 20 bytes as hex, or null. */
export function binaryHex(value: string): string | null {
  let bytes = 0
  for (let i = 0; i < value.length; i++) {
    let b = value.charCodeAt(i)
    if (b === 0x25 /* % */) {
      const hi = hexDigit(value.charCodeAt(i + 1))
      const lo = hexDigit(value.charCodeAt(i + 2))
      if (hi < 0 || lo < 0) return null
      b = (hi << 4) | lo
      i += 2
    } else if (b === 0x2b /* + */) {
      b = 0x20
    } else if (b > 0x7e) {
      return null
    }
    if (bytes === 20) return null
    ID_BYTES[bytes++] = b
  }
  // One flat string, not a rope of 20 pieces: it is hashed and compared on every announce.
  return bytes === 20 ? ID_BYTES.toString('hex') : null
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}
