// Requests per address (issue 20, "a budget for every address, everywhere"). Every other
// budget refuses cheaply, but a refusal is still a request parsed and answered: one address
// pipelining 15,000 announces a second, or keeping 200 GET /v1/stats in flight, kept the
// relay's one thread busy enough that honest announces from other addresses timed out
// (npm run bench -- abuse). So each address gets a token bucket of requests (HTTP requests
// and WebSocket upgrades on the one port); past it the request gets 429 and its connection
// is closed, and for a short penalty new connections from that address are closed at
// accept, before a byte is parsed. Requests another relay proxies for a client (signed
// X-Monsoon-Announce) are not charged to the relay's address.

import { BoundedMap } from '../../shared/bounded-map.ts'
import { RateLimiter } from '../budget/quotas.ts'
import type { Refusals } from '../refusals.ts'

export interface RequestRateOptions {
  /** Requests one address may make per second, sustained. */
  perSecond: number
  /** Requests one address may make at once after a quiet spell. */
  burst: number
  /** How long new connections from an address over its rate are closed at accept (ms). */
  penaltyMs: number
  /** Addresses tracked at once (buckets: least recently used dropped; penalties: the one
   * given longest ago dropped). */
  maxAddresses: number
  refusals: Refusals
}

export class RequestRate {
  readonly options: RequestRateOptions
  readonly #buckets: RateLimiter
  /** Address → until when (ms) its new connections are closed at accept. */
  readonly #penalties: BoundedMap<string, number>

  constructor(options: RequestRateOptions) {
    if (!(options.perSecond > 0)) throw new RangeError('perSecond must be positive')
    this.options = options
    this.#buckets = new RateLimiter({
      perMinute: options.perSecond * 60,
      burst: options.burst,
      maxKeys: options.maxAddresses,
    })
    this.#penalties = new BoundedMap({ maxSize: options.maxAddresses, order: 'oldest' })
  }

  /** Charges one request from `key`; false when the address is over its rate (counted as a
   * refusal, and the address put in the penalty box): the caller answers 429 and closes. */
  take(key: string, nowMs = Date.now()): boolean {
    if (this.#buckets.takeAll(key, 1, nowMs)) return true
    this.options.refusals.refuse('request-rate', key, { perSecond: this.options.perSecond })
    this.#penalties.set(key, nowMs + this.options.penaltyMs)
    return false
  }

  /** Charges `tokens` more to `key` (a request that cost more than one, e.g. a forged
   * proxy header). */
  charge(key: string, tokens: number, nowMs = Date.now()): void {
    this.#buckets.charge(key, tokens, nowMs)
  }

  /** Whether a new connection from `key` is closed at accept (counted as a refusal). */
  penalized(key: string, nowMs = Date.now()): boolean {
    const until = this.#penalties.get(key)
    if (until === undefined) return false
    if (until <= nowMs) {
      this.#penalties.delete(key)
      return false
    }
    this.options.refusals.refuse('request-rate', key, { atAccept: true })
    return true
  }
}
