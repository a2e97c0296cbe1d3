// The relay's TURN bandwidth in bytes per second: one token bucket (relay/budget/) charged
// once per relayed packet with the packet's size, on the data path, or no cap at all.

import { TokenBucket } from '../../shared/token-bucket.ts'

export class ByteBudget {
  readonly perSecond: number
  readonly burst: number
  readonly #bucket: TokenBucket | null

  /** `perSecond` 0 means no cap. `burst` defaults to one second's worth. */
  constructor(perSecond: number, nowMs: number, burst = perSecond) {
    if (!(perSecond >= 0)) throw new RangeError('perSecond must not be negative')
    this.perSecond = perSecond
    this.burst = burst
    this.#bucket =
      perSecond === 0 ? null : new TokenBucket({ tokens: perSecond, everyMs: 1000, burst }, nowMs)
  }

  /** Takes `bytes`; false (nothing taken) when the budget has not that many. */
  take(bytes: number, nowMs: number): boolean {
    return this.#bucket?.take(bytes, nowMs) ?? true
  }
}
