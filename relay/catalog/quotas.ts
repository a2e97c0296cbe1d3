// Publish quotas: a token bucket per key (a client address, a publisher key, a peer relay),
// holding up to a minute's worth of tokens (or `burst`) and refilling continuously. The buckets live in a Map bounded
// by `maxKeys`, least recently used dropped first, so a flood of new keys costs bounded
// memory (relay/limits.ts says why each figure).

export interface RateLimiterOptions {
  /** Tokens a key earns per minute, and the most it can hold unless `burst` says. */
  perMinute: number
  /** Keys tracked at once. */
  maxKeys: number
  /** The most a key can hold (default: perMinute), for budgets counted per hour. */
  burst?: number
}

interface Bucket {
  tokens: number
  at: number
}

export class RateLimiter {
  readonly options: Required<RateLimiterOptions>
  readonly #buckets = new Map<string, Bucket>()

  constructor(options: RateLimiterOptions) {
    if (!(options.perMinute > 0)) throw new RangeError('perMinute must be positive')
    if (!(options.maxKeys > 0)) throw new RangeError('maxKeys must be positive')
    if (options.burst !== undefined && !(options.burst > 0)) {
      throw new RangeError('burst must be positive')
    }
    this.options = { burst: options.perMinute, ...options }
  }

  /** Keys tracked now. */
  get size(): number {
    return this.#buckets.size
  }

  /** Takes up to `wanted` tokens for `key`; returns how many it got (0 to `wanted`). */
  take(key: string, wanted: number, nowMs: number): number {
    const bucket = this.#refill(key, nowMs)
    const granted = Math.max(0, Math.min(wanted, Math.floor(bucket.tokens)))
    bucket.tokens -= granted
    return granted
  }

  /** Takes `wanted` tokens for `key` if it has them all; else takes none. */
  takeAll(key: string, wanted: number, nowMs: number): boolean {
    const bucket = this.#refill(key, nowMs)
    if (bucket.tokens < wanted) return false
    bucket.tokens -= wanted
    return true
  }

  /** Charges `used` tokens to `key` after the fact, into debt if need be: for work already
   * done (a pulled page), waited out before the next (retryAfter). */
  charge(key: string, used: number, nowMs: number): void {
    this.#refill(key, nowMs).tokens -= used
  }

  /** Seconds until `key` has `wanted` tokens (one by default) again. */
  retryAfter(key: string, nowMs: number, wanted = 1): number {
    const bucket = this.#refill(key, nowMs)
    if (bucket.tokens >= wanted) return 0
    return Math.ceil(((wanted - bucket.tokens) * 60) / this.options.perMinute)
  }

  #refill(key: string, nowMs: number): Bucket {
    const { perMinute, maxKeys, burst } = this.options
    let bucket = this.#buckets.get(key)
    if (bucket) {
      this.#buckets.delete(key)
      const earned = (Math.max(0, nowMs - bucket.at) * perMinute) / 60_000
      bucket.tokens = Math.min(burst, bucket.tokens + earned)
      bucket.at = nowMs
    } else {
      bucket = { tokens: burst, at: nowMs }
      if (this.#buckets.size >= maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!)
    }
    this.#buckets.set(key, bucket)
    return bucket
  }
}
