// Publish quotas: a token bucket per key (a client address, a publisher key), holding up to
// a minute's worth of tokens and refilling continuously. The buckets live in a Map bounded
// by `maxKeys`, least recently used dropped first, so a flood of new keys costs bounded
// memory (relay/limits.ts says why each figure).

export interface RateLimiterOptions {
  /** Tokens a key earns per minute, and the most it can hold (the burst). */
  perMinute: number
  /** Keys tracked at once. */
  maxKeys: number
}

interface Bucket {
  tokens: number
  at: number
}

export class RateLimiter {
  readonly options: RateLimiterOptions
  readonly #buckets = new Map<string, Bucket>()

  constructor(options: RateLimiterOptions) {
    if (!(options.perMinute > 0)) throw new RangeError('perMinute must be positive')
    if (!(options.maxKeys > 0)) throw new RangeError('maxKeys must be positive')
    this.options = { ...options }
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

  /** Seconds until `key` has one token again. */
  retryAfter(key: string, nowMs: number): number {
    const bucket = this.#refill(key, nowMs)
    if (bucket.tokens >= 1) return 0
    return Math.ceil(((1 - bucket.tokens) * 60) / this.options.perMinute)
  }

  #refill(key: string, nowMs: number): Bucket {
    const { perMinute, maxKeys } = this.options
    let bucket = this.#buckets.get(key)
    if (bucket) {
      this.#buckets.delete(key)
      const earned = (Math.max(0, nowMs - bucket.at) * perMinute) / 60_000
      bucket.tokens = Math.min(perMinute, bucket.tokens + earned)
      bucket.at = nowMs
    } else {
      bucket = { tokens: perMinute, at: nowMs }
      if (this.#buckets.size >= maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!)
    }
    this.#buckets.set(key, bucket)
    return bucket
  }
}
