// The HTTP/1.1 bytes of the tracker's fast path (relay/transport/tracker-fast-path.ts): the
// request head it reads straight from a connection (RFC 9112 §3 request line, §5 fields) and
// the answers it writes, the same bytes node's HTTP server writes for them.
//
// Only the plainest head is taken: `GET /announce?…` or `GET /scrape?…`, HTTP/1.0 or 1.1, every
// line ended by CRLF, printable ASCII only, no body and nothing that changes how the request
// is handled (Content-Length, Transfer-Encoding, Expect, Upgrade, a Connection header other
// than one `close` or `keep-alive`, HTTP/1.1 without Host). Anything else, or a head not yet
// whole, is undefined: node's parser takes it, and answers it as it always has. Being strict
// here costs only the slow path, never a different answer.

import { MAX_FAST_HEAD_BYTES, MAX_FAST_HEADERS } from '../limits.ts'

export interface TrackerRequestHead {
  /** The request target as sent, e.g. `/announce?info_hash=…`. */
  url: string
  /** Whether the connection stays open after the answer (RFC 9112 §9.3). */
  keepAlive: boolean
  /** The first X-Monsoon-Announce value: another relay's proxied announce. */
  proxied: string | undefined
  /** X-Forwarded-For values, joined by ", " as node joins them. */
  forwardedFor: string | undefined
  /** Bytes from the start through the empty line that ends the head. */
  length: number
}

const CR = 0x0d
const LF = 0x0a
const SP = 0x20
const HTAB = 0x09
const COLON = 0x3a

/** RFC 9110 §5.6.2 tchar. */
const TOKEN = new Uint8Array(256)
for (const c of "!#$%&'*+-.^_`|~0123456789") TOKEN[c.charCodeAt(0)] = 1
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = TOKEN[c + 0x20] = 1

const bytesOf = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0))
const ANNOUNCE = bytesOf('GET /announce?')
const SCRAPE = bytesOf('GET /scrape?')
const VERSION = bytesOf(' HTTP/1.')
const TARGET_START = 4

/** Fields the fast path reads or that send a request to node's parser. */
const OTHER = 0
const HOST = 1
const CONNECTION = 2
const PROXIED = 3
const FORWARDED_FOR = 4
/** A field that changes how the request is read or answered: node's parser takes it. */
const REFUSED = 5
const FIELDS: [string, number][] = [
  ['host', HOST],
  ['connection', CONNECTION],
  // PROXY_HEADER (supernode/announce-proxy.ts; http-wire.test.ts holds them equal).
  ['x-monsoon-announce', PROXIED],
  ['x-forwarded-for', FORWARDED_FOR],
  ['content-length', REFUSED],
  ['transfer-encoding', REFUSED],
  ['expect', REFUSED],
  ['upgrade', REFUSED],
]

/**
 * The tracker request that opens `bytes`, when it is one whole plain head within
 * `maxHeadBytes` and `maxHeaders` fields; otherwise undefined (node's parser takes it).
 */
export function readTrackerHead(
  bytes: Uint8Array,
  maxHeadBytes = MAX_FAST_HEAD_BYTES,
  maxHeaders = MAX_FAST_HEADERS,
): TrackerRequestHead | undefined {
  const end = Math.min(bytes.length, maxHeadBytes)
  if (!startsWith(bytes, ANNOUNCE, 0) && !startsWith(bytes, SCRAPE, 0)) return undefined
  let pos = TARGET_START
  while (pos < end && bytes[pos] !== SP) {
    if (bytes[pos] < 0x21 || bytes[pos] > 0x7e) return undefined
    pos++
  }
  const targetEnd = pos
  if (!startsWith(bytes, VERSION, pos) || pos + VERSION.length + 3 > end) return undefined
  pos += VERSION.length
  const minor = bytes[pos] - 0x30
  if ((minor !== 0 && minor !== 1) || bytes[pos + 1] !== CR || bytes[pos + 2] !== LF) {
    return undefined
  }
  pos += 3

  let fields = 0
  let hosts = 0
  let connection: string | undefined
  let proxied: string | undefined
  let forwardedFor: string | undefined
  for (;;) {
    if (pos + 1 >= end) return undefined
    if (bytes[pos] === CR) {
      if (bytes[pos + 1] !== LF) return undefined
      pos += 2
      break
    }
    if (++fields > maxHeaders) return undefined
    const nameStart = pos
    while (pos < end && TOKEN[bytes[pos]] === 1) pos++
    if (pos === nameStart || pos >= end || bytes[pos] !== COLON) return undefined
    const field = fieldOf(bytes, nameStart, pos)
    pos++
    while (pos < end && (bytes[pos] === SP || bytes[pos] === HTAB)) pos++
    const valueStart = pos
    while (pos < end && bytes[pos] !== CR) {
      const b = bytes[pos]
      if ((b < 0x20 && b !== HTAB) || b > 0x7e) return undefined
      pos++
    }
    if (pos + 1 >= end || bytes[pos + 1] !== LF) return undefined
    let valueEnd = pos
    while (valueEnd > valueStart && (bytes[valueEnd - 1] === SP || bytes[valueEnd - 1] === HTAB)) {
      valueEnd--
    }
    pos += 2
    switch (field) {
      case REFUSED:
        return undefined
      case HOST:
        hosts++
        break
      case CONNECTION:
        if (connection !== undefined) return undefined
        connection = latin1(bytes, valueStart, valueEnd).toLowerCase()
        if (connection !== 'close' && connection !== 'keep-alive') return undefined
        break
      case PROXIED:
        proxied ??= latin1(bytes, valueStart, valueEnd)
        break
      case FORWARDED_FOR: {
        const value = latin1(bytes, valueStart, valueEnd)
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`
        break
      }
    }
  }
  // Node answers an HTTP/1.1 request without Host with 400 (RFC 9112 §3.2).
  if (minor === 1 && hosts === 0) return undefined
  return {
    url: latin1(bytes, TARGET_START, targetEnd),
    keepAlive: minor === 1 ? connection !== 'close' : connection === 'keep-alive',
    proxied,
    forwardedFor,
    length: pos,
  }
}

/**
 * Whether `bytes` may be the start of a head readTrackerHead takes, cut off by the end of a
 * read: shorter than `maxHeadBytes`, not yet ended by an empty line, and opening as a tracker
 * request does (or with a part of that opening). The fast path waits for the rest of these.
 */
export function mayBeTrackerHead(bytes: Uint8Array, maxHeadBytes = MAX_FAST_HEAD_BYTES): boolean {
  if (bytes.length === 0 || bytes.length >= maxHeadBytes) return false
  const opens = (prefix: Uint8Array) => {
    const n = Math.min(prefix.length, bytes.length)
    for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return false
    return true
  }
  if (!opens(ANNOUNCE) && !opens(SCRAPE)) return false
  for (let i = 3; i < bytes.length; i++) {
    if (bytes[i] === LF && bytes[i - 1] === CR && bytes[i - 2] === LF && bytes[i - 3] === CR) {
      return false
    }
  }
  return true
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array, at: number): boolean {
  if (bytes.length < at + prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false
  return true
}

/** Which field a name (token bytes) is, case-insensitively. */
function fieldOf(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start
  next: for (const [name, field] of FIELDS) {
    if (name.length !== length) continue
    // Of token bytes, only letters OR 0x20 to a lower-case letter, and '-' stays '-'.
    for (let i = 0; i < length; i++) {
      if ((bytes[start + i] | 0x20) !== name.charCodeAt(i)) continue next
    }
    return field
  }
  return OTHER
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1')
}

/** The answer node's ServerResponse writes for writeHead(200, {Content-Type: text/plain,
 * Content-Length}) and end(body): Date, then Connection, and when kept Keep-Alive with the
 * server's timeout in whole seconds (none when the server has no keep-alive timeout). */
export function okResponse(
  body: Uint8Array,
  keepAlive: boolean,
  date: string,
  keepAliveSeconds: number | undefined,
): Buffer {
  const head =
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n` +
    `Date: ${date}\r\n${connectionFields(keepAlive, keepAliveSeconds)}\r\n`
  const out = Buffer.allocUnsafe(head.length + body.length)
  const written = out.write(head, 0, 'latin1')
  out.set(body, written)
  return out
}

function connectionFields(keepAlive: boolean, keepAliveSeconds: number | undefined): string {
  if (!keepAlive) return 'Connection: close\r\n'
  return keepAliveSeconds === undefined
    ? 'Connection: keep-alive\r\n'
    : `Connection: keep-alive\r\nKeep-Alive: timeout=${keepAliveSeconds}\r\n`
}

export const TOO_MANY_BODY = 'too many requests from this address; slow down\n'

/** The 429 relay/server.ts answers an address over its request rate with (node writes a body
 * given to end() without a Content-Length as one chunk); the connection closes after it. */
export function tooManyResponse(date: string): Buffer {
  return Buffer.from(
    'HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nRetry-After: 1\r\n' +
      `Connection: close\r\nDate: ${date}\r\nTransfer-Encoding: chunked\r\n\r\n` +
      `${TOO_MANY_BODY.length.toString(16)}\r\n${TOO_MANY_BODY}\r\n0\r\n\r\n`,
    'latin1',
  )
}

/** RFC 9110 §5.6.7 IMF-fixdate, as node writes Date; made once a second. */
export class HttpDate {
  #second = -1
  #text = ''

  at(nowMs: number): string {
    const second = Math.floor(nowMs / 1000)
    if (second !== this.#second) {
      this.#second = second
      this.#text = new Date(second * 1000).toUTCString()
    }
    return this.#text
  }
}
