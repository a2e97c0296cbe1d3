// What a user pastes or opens: magnet links (BEP 9), bare info hashes, and the app's own
// share URLs (`#/t/<infohash>?dn=<name>&tr=<tracker>`). Pure: text in, a TorrentRef or a
// TorrentInputError out. Info hashes are BitTorrent v1 (BEP 3): SHA-1, 40 hex characters,
// or 32 base32 characters in older magnet links.

import { MAX_NAME_CHARS } from '../../shared/limits.ts'

/** Longest text we try to parse; a real magnet link with a few trackers is well under this. */
export const MAX_INPUT_CHARS = 8192
/** Trackers kept from one link; more only slows the page down announcing to them. */
export const MAX_TRACKERS = 8

export interface TorrentRef {
  /** Lower-case hex v1 info hash. */
  infoHash: string
  /** Display name from the link (`dn`), if any. Untrusted: render as text only. */
  name?: string
  /** WebSocket trackers (ws: or wss:) from the link; the only kind a browser can use. */
  trackers: string[]
}

export class TorrentInputError extends Error {
  override name = 'TorrentInputError'
}

const HEX_HASH = /^[0-9a-fA-F]{40}$/
const BASE32_HASH = /^[A-Za-z2-7]{32}$/

/** Parses a magnet link or a bare info hash (hex or base32). Throws TorrentInputError. */
export function parseTorrentInput(input: string): TorrentRef {
  const text = input.trim()
  if (!text) throw new TorrentInputError('Paste a magnet link or a 40-character info hash.')
  if (text.length > MAX_INPUT_CHARS) {
    throw new TorrentInputError(`That is too long to be a magnet link (${text.length} characters).`)
  }
  if (!/^magnet:/i.test(text)) return { infoHash: parseInfoHash(text), trackers: [] }

  const query = text.slice(text.indexOf(':') + 1).replace(/^\/*\?/, '')
  const params = new URLSearchParams(query)
  const topics = params.getAll('xt')
  const v1 = topics.find((xt) => /^urn:btih:/i.test(xt))
  if (!v1) {
    if (topics.some((xt) => /^urn:btmh:/i.test(xt))) {
      throw new TorrentInputError(
        'This magnet link is for a BitTorrent v2-only torrent, which is not supported yet.',
      )
    }
    throw new TorrentInputError(
      'This magnet link has no BitTorrent info hash (no "xt=urn:btih:…" part).',
    )
  }
  return refFromParams(parseInfoHash(v1.slice('urn:btih:'.length)), params)
}

/** Reads the `dn` and `tr` parameters of a magnet link or a share URL onto an info hash. */
export function refFromParams(infoHash: string, params: URLSearchParams): TorrentRef {
  const ref: TorrentRef = { infoHash: parseInfoHash(infoHash), trackers: [] }
  const name = params.get('dn')?.trim()
  // One name limit everywhere: the app's own links carry a listing's name, which relays
  // refuse past it, and the app keeps no name longer than it can publish.
  if (name) ref.name = name.slice(0, MAX_NAME_CHARS)
  for (const tr of params.getAll('tr')) {
    if (ref.trackers.length >= MAX_TRACKERS) break
    if (isWebSocketUrl(tr) && !ref.trackers.includes(tr)) ref.trackers.push(tr)
  }
  return ref
}

/** A v1 info hash as lower-case hex, from hex or base32 text. Throws TorrentInputError. */
export function parseInfoHash(text: string): string {
  const s = text.trim()
  if (HEX_HASH.test(s)) return s.toLowerCase()
  if (BASE32_HASH.test(s)) return base32ToHex(s.toUpperCase())
  throw new TorrentInputError(
    'That is not a valid info hash: expected 40 hexadecimal characters (or 32 base32 ones).',
  )
}

/** RFC 4648 §6 base32 (no padding) to hex; 32 characters are exactly 20 bytes. */
function base32ToHex(s: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = 0
  let value = 0
  let hex = ''
  for (const ch of s) {
    value = (value << 5) | alphabet.indexOf(ch)
    bits += 5
    if (bits >= 8) {
      bits -= 8
      hex += ((value >>> bits) & 0xff).toString(16).padStart(2, '0')
    }
  }
  return hex
}

function isWebSocketUrl(text: string): boolean {
  try {
    const url = new URL(text)
    return url.protocol === 'ws:' || url.protocol === 'wss:'
  } catch {
    return false
  }
}

/** The WebSocket tracker of the relay that served the page: same host, ws or wss. */
export function originTracker(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`
}

function linkParams(ref: TorrentRef): string {
  const params = new URLSearchParams()
  if (ref.name) params.set('dn', ref.name)
  for (const tr of ref.trackers) params.append('tr', tr)
  return params.toString()
}

/** A magnet link (BEP 9) for the torrent, carrying its name and trackers. */
export function magnetUri(ref: TorrentRef): string {
  const rest = linkParams(ref)
  return `magnet:?xt=urn:btih:${ref.infoHash}${rest ? `&${rest}` : ''}`
}

/** The app's route for a torrent: `#/t/<infohash>?dn=…&tr=…`. */
export function torrentPath(ref: TorrentRef): string {
  const rest = linkParams(ref)
  return `#/t/${ref.infoHash}${rest ? `?${rest}` : ''}`
}

/** A link to this app's torrent view that anyone can open. */
export function shareUrl(origin: string, ref: TorrentRef): string {
  return `${origin}/${torrentPath(ref)}`
}
