// Requests to peer relays: every one has a timeout (and the caller's stop signal), and a
// response body is read only up to a byte cap, so a slow or hostile peer costs bounded time
// and memory.

import type { Agent as HttpsAgent } from 'node:https'

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
}

/** How requests to peer relays travel: sealed over plain HTTP, with the configured CAs over
 * HTTPS (relay/sealed/transport.ts). One relay per process: createRelay installs it. */
export interface PeerTransport {
  fetchJson(url: string, req: PeerRequest): Promise<unknown>
  /** For requests made with node:https (the announce proxy): trusts the same CAs. */
  readonly httpsAgent?: HttpsAgent
}

let transport: PeerTransport | undefined

export function usePeerTransport(next: PeerTransport | undefined): void {
  transport = next
}

export function peerTransport(): PeerTransport | undefined {
  return transport
}

/** Fetches `url` and parses its JSON body; throws PeerError for non-2xx or bad bodies. */
export function fetchPeerJson(url: string, req: PeerRequest): Promise<unknown> {
  return transport ? transport.fetchJson(url, req) : fetchPeerJsonDirect(url, req)
}

/** fetchPeerJson as it goes on the wire, with no sealing. */
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
  const text = await readCapped(res, req.maxBytes)
  if (!res.ok) {
    const retryAfter = Number(res.headers.get('retry-after')) || undefined
    throw new PeerError(`HTTP ${res.status} from ${url}`, res.status, retryAfter)
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new PeerError(`${url} answered with bad JSON`)
  }
}

export async function readCapped(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'))
  if (declared > maxBytes) {
    await res.body?.cancel()
    throw new PeerError(`answer of ${declared} bytes is over ${maxBytes}`)
  }
  if (!res.body) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = res.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.length
    if (size > maxBytes) {
      await reader.cancel()
      throw new PeerError(`answer is over ${maxBytes} bytes`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}
