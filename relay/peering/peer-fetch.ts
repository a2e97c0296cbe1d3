// Requests to peer relays: every one has a timeout (and the caller's stop signal), a
// response body is read only up to a byte cap, and its JSON is parsed only if it nests no
// deeper and holds no more objects and arrays than any answer a relay gives
// (parsePeerJson), so a slow or hostile peer costs bounded time and memory.

import type { Agent as HttpsAgent } from 'node:https'
import { BodyTooLargeError, readCappedText } from '../../shared/capped-body.ts'
import { MAX_PEER_JSON_CONTAINERS, MAX_PEER_JSON_DEPTH } from '../limits.ts'

export class PeerError extends Error {
  override name = 'PeerError'
  constructor(
    message: string,
    /** The HTTP status, when the peer answered. */
    readonly status?: number,
    /** Seconds from the peer's Retry-After header, if any. */
    readonly retryAfter?: number,
  ) {
    super(message)
  }
}

/** No HTTP answer at all: refused, reset, or a TLS handshake that failed. */
export class PeerUnreachableError extends PeerError {
  override name = 'PeerUnreachableError'
}

export interface PeerRequest {
  method?: 'GET' | 'POST'
  body?: string
  timeoutMs: number
  maxBytes: number
  signal?: AbortSignal
  /** Reads the body instead of parsePeerJson (a catalog puller hands the text to a worker,
   * which applies the same caps there). */
  parse?: (text: string, source: string) => unknown
  /** Reads the body's bytes instead, where the transport holds them (sealed answers); the
   * catalog puller hands them to a worker without decoding them here. */
  parseBytes?: (bytes: Uint8Array, source: string) => unknown
}

/** How requests to peer relays travel: sealed over plain HTTP, with the configured CAs over
 * HTTPS (relay/sealed/transport.ts). createRelay makes one and hands it to every part that
 * asks other relays (catalog, supernode, bootstrap). */
export interface PeerTransport {
  /** Fetches `url` and parses its JSON body; throws PeerError for non-2xx or bad bodies. */
  fetchJson(url: string, req: PeerRequest): Promise<unknown>
  /** For requests made with node:https (the announce proxy): trusts the same CAs. */
  readonly httpsAgent?: HttpsAgent
}

/** Requests as they are, with no sealing and the system's CAs: for tests and tools. */
export const directTransport: PeerTransport = { fetchJson: fetchPeerJsonDirect }

/** A request as it goes on the wire, with no sealing. */
export async function fetchPeerJsonDirect(url: string, req: PeerRequest): Promise<unknown> {
  const timeout = AbortSignal.timeout(req.timeoutMs)
  let res: Response
  try {
    res = await fetch(url, {
      method: req.method ?? 'GET',
      headers: req.body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: req.body,
      signal: req.signal ? AbortSignal.any([req.signal, timeout]) : timeout,
    })
  } catch (err) {
    // fetch says only "fetch failed"; the reason (refused, a certificate not trusted) is
    // its cause, which the logs should show.
    const cause = (err as { cause?: unknown }).cause
    if (!(err instanceof TypeError) || !(cause instanceof Error)) throw err
    throw new PeerUnreachableError(`cannot reach ${url}: ${cause.message}`)
  }
  const text = await readCappedText(res, req.maxBytes).catch((err: unknown) => {
    throw err instanceof BodyTooLargeError ? new PeerError(err.message) : err
  })
  if (!res.ok) {
    const retryAfter = Number(res.headers.get('retry-after')) || undefined
    throw new PeerError(`HTTP ${res.status} from ${url}`, res.status, retryAfter)
  }
  return (req.parse ?? parsePeerJson)(text, url)
}

/**
 * JSON.parse for a peer's answer (already under its byte cap), refused before parsing when
 * it nests deeper than MAX_PEER_JSON_DEPTH or opens more than MAX_PEER_JSON_CONTAINERS
 * objects and arrays. A scan of the text rather than a reviver: a reviver runs only after
 * JSON.parse has built the whole tree, and that tree is the cost (8 MB of `[[[[…` took a
 * relay to 2.2 GB). The scan allocates nothing and costs about what the parse does.
 */
export function parsePeerJson(text: string, source: string): unknown {
  const why = jsonShapeProblem(text)
  if (why !== null) throw new PeerError(`${source} answered with JSON that ${why}`)
  try {
    return JSON.parse(text)
  } catch {
    throw new PeerError(`${source} answered with bad JSON`)
  }
}

const OPEN_BRACE = 0x7b
const OPEN_BRACKET = 0x5b
const CLOSE_BRACE = 0x7d
const CLOSE_BRACKET = 0x5d
const QUOTE = 0x22
const BACKSLASH = 0x5c

/** Why `text` is over the shape caps, or null. Strings are skipped whole (indexOf to the
 * next quote not escaped: most of a catalog page is hex inside strings, and a byte-by-byte
 * walk through them cost ~3.5 µs a listing of a verify worker's time, this ~1); the syntax
 * itself is left to JSON.parse. */
export function jsonShapeProblem(
  text: string,
  maxDepth = MAX_PEER_JSON_DEPTH,
  maxContainers = MAX_PEER_JSON_CONTAINERS,
): string | null {
  let depth = 0
  let containers = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      i = closingQuote(text, i)
      if (i < 0) return null
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return `nests deeper than ${maxDepth}`
      if (++containers > maxContainers) return `holds over ${maxContainers} objects and arrays`
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--
    }
  }
  return null
}

/** Where the string opened at `open` closes: the next quote after an even run of
 * backslashes (-1: never). Each run is counted once, so a text of backslashes and quotes
 * costs linear time too. */
function closingQuote(text: string, open: number): number {
  for (let at = open + 1; ; at++) {
    at = text.indexOf('"', at)
    if (at < 0) return -1
    let slashes = 0
    while (text.charCodeAt(at - 1 - slashes) === BACKSLASH) slashes++
    if (slashes % 2 === 0) return at
  }
}
