// Quotas per key (a client address, a publisher key, a peer relay, a UDP source): one token
// bucket each (shared/token-bucket.ts), holding up to a minute's worth of tokens (or `burst`). The
// buckets live in a bounded map, least recently used dropped first, so a flood of new keys
// costs bounded memory; a dropped key starts full again, which helps only someone who already
// controls that many keys (relay/limits.ts says why each figure).

import { BoundedMap } from '../../shared/bounded-map.ts'
import { TokenBucket, type TokenRate } from '../../shared/token-bucket.ts'

export interface RateLimiterOptions {
  /** Tokens a key earns per minute, and the most it can hold unless `burst` says. */
  perMinute: number
  /** Keys tracked at once. */
  maxKeys: number
  /** The most a key can hold (default: perMinute), for budgets counted per hour. */
  burst?: number
}

export class RateLimiter {
  readonly options: Required<RateLimiterOptions>
  readonly #rate: TokenRate
  readonly #buckets: BoundedMap<string, TokenBucket>

  constructor(options: RateLimiterOptions) {
    if (!(options.perMinute > 0)) throw new RangeError('perMinute must be positive')
    if (!(options.maxKeys > 0)) throw new RangeError('maxKeys must be positive')
    if (options.burst !== undefined && !(options.burst > 0)) {
      throw new RangeError('burst must be positive')
    }
    this.options = { burst: options.perMinute, ...options }
    this.#rate = { tokens: options.perMinute, everyMs: 60_000, burst: this.options.burst }
    this.#buckets = new BoundedMap({ maxSize: Math.ceil(options.maxKeys), order: 'lru' })
  }

  /** Keys tracked now. */
  get size(): number {
    return this.#buckets.size
  }

  /** Takes up to `wanted` tokens for `key`; returns how many it got (0 to `wanted`). */
  take(key: string, wanted: number, nowMs: number): number {
    return this.#bucket(key, nowMs).takeUpTo(wanted, nowMs)
  }

  /** Takes `wanted` tokens for `key` if it has them all; else takes none. */
  takeAll(key: string, wanted: number, nowMs: number): boolean {
    return this.#bucket(key, nowMs).take(wanted, nowMs)
  }

  /** Charges `used` tokens to `key` after the fact, into debt if need be: for work already
   * done (a pulled page), waited out before the next (retryAfter). */
  charge(key: string, used: number, nowMs: number): void {
    this.#bucket(key, nowMs).charge(used, nowMs)
  }

  /** Seconds until `key` has `wanted` tokens (one by default) again. */
  retryAfter(key: string, nowMs: number, wanted = 1): number {
    return Math.ceil(this.#bucket(key, nowMs).msUntil(wanted, nowMs) / 1000)
  }

  #bucket(key: string, nowMs: number): TokenBucket {
    let bucket = this.#buckets.get(key)
    if (!bucket) {
      bucket = new TokenBucket(this.#rate, nowMs)
      this.#buckets.set(key, bucket)
    }
    return bucket
  }
}
