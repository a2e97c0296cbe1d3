// Token buckets per key (a UDP source address): `perSecond` tokens earned, at most `burst`
// held. The map is bounded by `maxKeys`, least recently used dropped first; a dropped key
// starts full again, which helps only someone who already controls that many addresses.

export interface TokenBucketOptions {
  perSecond: number
  burst: number
  maxKeys: number
}

interface Bucket {
  tokens: number
  atMs: number
}

export class TokenBuckets {
  readonly options: TokenBucketOptions
  readonly #buckets = new Map<string, Bucket>()

  constructor(options: TokenBucketOptions) {
    if (!(options.perSecond > 0)) throw new RangeError('perSecond must be positive')
    if (!(options.burst >= 1)) throw new RangeError('burst must be at least 1')
    if (!(options.maxKeys > 0)) throw new RangeError('maxKeys must be positive')
    this.options = { ...options }
  }

  get size(): number {
    return this.#buckets.size
  }

  /** Takes one token for `key`; false when it has none. */
  take(key: string, nowMs: number): boolean {
    const { perSecond, burst, maxKeys } = this.options
    let bucket = this.#buckets.get(key)
    if (bucket) {
      this.#buckets.delete(key)
      const earned = (Math.max(0, nowMs - bucket.atMs) * perSecond) / 1000
      bucket.tokens = Math.min(burst, bucket.tokens + earned)
      bucket.atMs = nowMs
    } else {
      bucket = { tokens: burst, atMs: nowMs }
      if (this.#buckets.size >= maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!)
    }
    this.#buckets.set(key, bucket)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }
}
