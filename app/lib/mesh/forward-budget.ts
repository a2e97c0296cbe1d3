// How many signals the mesh carries for others (issue 22: "each forward rate-limited per pair
// and in total"): a token bucket per (neighbour, target peer id) pair, least recently used
// pairs forgotten past MAX_FORWARD_PAIRS, and one bucket for all forwards.

import { BoundedMap } from '../../../shared/bounded-map.ts'
import {
  FORWARD_BURST,
  FORWARD_BURST_PER_PAIR,
  FORWARDS_PER_SECOND,
  FORWARDS_PER_SECOND_PER_PAIR,
  MAX_FORWARD_PAIRS,
} from '../../../shared/mesh/limits.ts'
import { TokenBucket } from '../../../shared/token-bucket.ts'

export class ForwardBudget {
  readonly #pairs = new BoundedMap<string, TokenBucket>({
    maxSize: MAX_FORWARD_PAIRS,
    order: 'lru',
  })
  readonly #total: TokenBucket

  constructor(now: number) {
    this.#total = new TokenBucket(
      { tokens: FORWARDS_PER_SECOND, everyMs: 1000, burst: FORWARD_BURST },
      now,
    )
  }

  get pairs(): number {
    return this.#pairs.size
  }

  /** True (and one forward charged) when a signal from `from` to `to` may go on now. */
  take(from: string, to: string, now: number): boolean {
    const key = `${from}>${to}`
    let pair = this.#pairs.get(key)
    if (!pair) {
      const rate = { tokens: FORWARDS_PER_SECOND_PER_PAIR, everyMs: 1000 }
      pair = new TokenBucket({ ...rate, burst: FORWARD_BURST_PER_PAIR }, now)
      this.#pairs.set(key, pair)
    }
    // The pair first: a pair past its budget must not spend everyone's.
    return pair.take(1, now) && this.#total.take(1, now)
  }
}
