// A token bucket: `tokens` earned every `everyMs`, continuously, holding at most `burst`; it
// starts full. Counted in whatever the caller charges: requests, new sessions, bytes. The
// clock is passed in on every call. Time that runs backwards earns nothing and is not
// counted again once the clock catches up.

export interface TokenRate {
  /** Tokens earned every `everyMs`. */
  tokens: number
  everyMs: number
  /** The most the bucket holds, and what it starts with. */
  burst: number
}

export class TokenBucket {
  readonly rate: TokenRate
  #tokens: number
  #atMs: number

  constructor(rate: TokenRate, nowMs: number) {
    if (!(rate.tokens > 0)) throw new RangeError('tokens must be positive')
    if (!(rate.everyMs > 0)) throw new RangeError('everyMs must be positive')
    if (!(rate.burst > 0)) throw new RangeError('burst must be positive')
    this.rate = { ...rate }
    this.#tokens = rate.burst
    this.#atMs = nowMs
  }

  /** Tokens held at `nowMs`; negative while in debt. */
  level(nowMs: number): number {
    if (nowMs > this.#atMs) {
      const { tokens, everyMs, burst } = this.rate
      this.#tokens = Math.min(burst, this.#tokens + ((nowMs - this.#atMs) * tokens) / everyMs)
      this.#atMs = nowMs
    }
    return this.#tokens
  }

  /** Takes `wanted` tokens if all are there; else takes none. */
  take(wanted: number, nowMs: number): boolean {
    if (this.level(nowMs) < wanted) return false
    this.#tokens -= wanted
    return true
  }

  /** Takes up to `wanted` whole tokens; returns how many (0 to `wanted`). */
  takeUpTo(wanted: number, nowMs: number): number {
    const granted = Math.max(0, Math.min(wanted, Math.floor(this.level(nowMs))))
    this.#tokens -= granted
    return granted
  }

  /** Charges `used` tokens after the fact, into debt if need be (work already done). */
  charge(used: number, nowMs: number): void {
    this.#tokens = this.level(nowMs) - used
  }

  /** Milliseconds until `wanted` tokens are there (0 when they are now). */
  msUntil(wanted: number, nowMs: number): number {
    const missing = wanted - this.level(nowMs)
    return missing <= 0 ? 0 : (missing * this.rate.everyMs) / this.rate.tokens
  }
}
