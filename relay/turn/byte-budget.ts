// One token bucket counted in bytes, for the relay's total TURN bandwidth. Not the keyed
// TokenBuckets of relay/dns/rate.ts: that one takes one token per call and moves a key in an
// LRU map; this is charged once per relayed packet with the packet's size, on the data path.

export class ByteBudget {
  readonly perSecond: number
  readonly burst: number
  #tokens: number
  #atMs: number

  /** `perSecond` 0 means no cap. `burst` defaults to one second's worth. */
  constructor(perSecond: number, nowMs: number, burst = perSecond) {
    if (!(perSecond >= 0)) throw new RangeError('perSecond must not be negative')
    this.perSecond = perSecond
    this.burst = burst
    this.#tokens = burst
    this.#atMs = nowMs
  }

  /** Takes `bytes`; false (nothing taken) when the budget has not that many. */
  take(bytes: number, nowMs: number): boolean {
    if (this.perSecond === 0) return true
    if (nowMs > this.#atMs) {
      this.#tokens = Math.min(
        this.burst,
        this.#tokens + ((nowMs - this.#atMs) * this.perSecond) / 1000,
      )
      this.#atMs = nowMs
    }
    if (this.#tokens < bytes) return false
    this.#tokens -= bytes
    return true
  }
}
