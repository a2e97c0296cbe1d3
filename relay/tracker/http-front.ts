// What the relay does with an HTTP `/announce` or `/scrape`, whichever path read it: node's
// HTTP server (relay/server.ts onRequest) or the one port's fast path, which reads plain
// requests straight off the socket (relay/transport/tracker-fast-path.ts). Both call
// `answer`, so the request rate, proxied announces, the bridge, the bandwidth meter and the
// answers themselves are one code.

import { NodeMessageError } from '../supernode/node-message.ts'
import { connectionKey } from '../transport/connection-budget.ts'
import type { RequestRate } from '../transport/request-rate.ts'
import { addressKey } from './holdings.ts'
import { failure } from './http.ts'
import { clientIp } from './tracker.ts'

/** An HTTP tracker request as either path reads it. */
export interface TrackerHttpRequest {
  /** The request target, e.g. `/announce?info_hash=…`. */
  url: string
  /** The socket's remote address. */
  remoteAddress: string
  /** The X-Monsoon-Announce header: an announce another relay proxied here. */
  proxied?: string
  /** The X-Forwarded-For header (read only behind a trusted proxy), as node types it. */
  forwardedFor?: string | string[]
}

export interface TrackerFrontDeps {
  /** Take the client address from X-Forwarded-For (set only behind a proxy you run). */
  trustProxy: boolean
  requestRate: RequestRate
  /** Tracking bandwidth (the supernode record's load). */
  meter: { add(bytes: number): void }
  /** A classic client's announce may ask the bridge to join a swarm only browsers seed. */
  onAnnounce(url: string): void
  /** The answer for a client at `ip`: here, or through the hash's owners. */
  answer(url: string, ip: string): Uint8Array | Promise<Uint8Array>
  /** The answer as this relay alone gives it (for announces proxied here). */
  localAnswer(url: string, ip: string): Uint8Array
  /** The client address a proxied announce's header vouches for; throws NodeMessageError. */
  forwardedIp(header: string, url: string): string
}

/** Whether `url` is the HTTP tracker's, answered by TrackerFront. */
export function isTrackerPath(url: string): boolean {
  return url.startsWith('/announce') || url.startsWith('/scrape')
}

/** Query parameters in a request target (bounded by its length). */
export function countParams(url: string): number {
  let n = 0
  for (let i = url.indexOf('?'); i !== -1 && i < url.length; i = url.indexOf('&', i + 1)) n++
  return n
}

/** What a proxied announce with a forged header costs its sender, in requests: it skipped
 * the request rate, which is charged to the client it names. */
const FORGED_PROXY_COST = 10

export class TrackerFront {
  readonly #deps: TrackerFrontDeps

  constructor(deps: TrackerFrontDeps) {
    this.#deps = deps
  }

  /** The request-rate key of a client: behind a trusted proxy, the address it names. */
  requestKey(remoteAddress: string, forwardedFor: string | string[] | undefined): string {
    return this.#deps.trustProxy
      ? addressKey(clientIp(remoteAddress, forwardedFor, true))
      : connectionKey(remoteAddress)
  }

  /**
   * The bencoded answer to a tracker request (a Promise when asked of other relays), or null
   * when its address is over its request rate: the caller answers 429 and closes.
   */
  answer(req: TrackerHttpRequest): Uint8Array | Promise<Uint8Array> | null {
    const { url, proxied } = req
    const deps = this.#deps
    const forwardedFor = deps.trustProxy ? req.forwardedFor : undefined
    // Another relay's proxied announce is charged to the client it names, not to the relay.
    if (proxied === undefined) {
      const key = this.requestKey(req.remoteAddress, forwardedFor)
      if (!deps.requestRate.take(key)) return null
      // Figures of many hashes cost more than one request (each may be asked of its owners):
      // a tenth of a request per hash asked.
      if (url.startsWith('/scrape')) deps.requestRate.charge(key, Math.floor(countParams(url) / 10))
    }
    // A classic client's announce, here or proxied from a relay that does not own the hash,
    // may ask the bridge to join a swarm only browsers seed.
    if (url.startsWith('/announce')) deps.onAnnounce(url)
    const answer =
      proxied !== undefined
        ? this.#forwarded(req, proxied, forwardedFor)
        : deps.answer(url, clientIp(req.remoteAddress, forwardedFor, deps.trustProxy))
    if (answer instanceof Uint8Array) return this.#metered(url, answer)
    return answer.then((body) => this.#metered(url, body))
  }

  /** Tracking bandwidth: request line and answer body. */
  #metered(url: string, body: Uint8Array): Uint8Array {
    this.#deps.meter.add(url.length + body.length)
    return body
  }

  /** An announce another relay proxied or copied here: answered here, never forwarded. */
  #forwarded(req: TrackerHttpRequest, header: string, forwardedFor: string | string[] | undefined) {
    try {
      return this.#deps.localAnswer(req.url, this.#deps.forwardedIp(header, req.url))
    } catch (err) {
      if (!(err instanceof NodeMessageError)) throw err
      const key = this.requestKey(req.remoteAddress, forwardedFor)
      this.#deps.requestRate.charge(key, FORGED_PROXY_COST)
      return failure(`proxied request refused: ${err.message}`)
    }
  }
}
