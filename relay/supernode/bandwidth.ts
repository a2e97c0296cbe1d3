// Bytes per second the relay spends on tracking (announces, scrapes, WebRTC signalling), as
// published in its supernode record's load. Counting must cost next to nothing on the
// tracker's hot path, so `add` only sums; a once-a-second `tick` closes a bucket, and the
// rate is the mean over the last few buckets.

/** Seconds averaged: long enough to smooth bursts, short enough to show overload quickly. */
export const BANDWIDTH_WINDOW_SECONDS = 10

export class BandwidthMeter {
  readonly #buckets: Float64Array
  #pending = 0
  #next = 0
  #filled = 0

  constructor(windowSeconds = BANDWIDTH_WINDOW_SECONDS) {
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) {
      throw new RangeError('window must be a positive number of seconds')
    }
    this.#buckets = new Float64Array(windowSeconds)
  }

  /** Counts bytes sent or received for tracking. */
  add(bytes: number): void {
    this.#pending += bytes
  }

  /** Closes the current one-second bucket; call once a second. */
  tick(): void {
    this.#buckets[this.#next] = this.#pending
    this.#pending = 0
    this.#next = (this.#next + 1) % this.#buckets.length
    this.#filled = Math.min(this.#filled + 1, this.#buckets.length)
  }

  /** Mean bytes per second over the closed buckets of the window (0 before the first). */
  get bytesPerSecond(): number {
    if (this.#filled === 0) return 0
    let sum = 0
    for (let i = 0; i < this.#filled; i++) sum += this.#buckets[i]
    return Math.round(sum / this.#filled)
  }
}
