// Our "who has this info hash" lookups in flight (issue 22, hash lookup): each asked of every
// neighbour under one query id, an answer taken only from a neighbour we asked, once, for the
// hash we asked about, within LOOKUP_TIMEOUT_MS. We ask at most LOOKUPS_SENT_PER_MINUTE times a
// minute, well inside what a neighbour answers, so our asking never looks like a flood.

import { BoundedMap } from '../../../shared/bounded-map.ts'
import {
  LOOKUP_TIMEOUT_MS,
  LOOKUPS_SENT_PER_MINUTE,
  MAX_PENDING_LOOKUPS,
} from '../../../shared/mesh/limits.ts'
import { TokenBucket } from '../../../shared/token-bucket.ts'

export class Lookups {
  /** By `${peerId}/${query}`: the hash asked about, and when. */
  readonly #asked = new BoundedMap<string, { infoHash: string; at: number }>({
    maxSize: MAX_PENDING_LOOKUPS,
    order: 'oldest',
  })
  readonly #budget: TokenBucket
  #query = 0

  constructor(now: number) {
    const rate = { tokens: LOOKUPS_SENT_PER_MINUTE, everyMs: 60_000 }
    this.#budget = new TokenBucket({ ...rate, burst: LOOKUPS_SENT_PER_MINUTE }, now)
  }

  get size(): number {
    return this.#asked.size
  }

  /** A query id for a new lookup, or null while our budget is spent. */
  next(now: number): number | null {
    return this.#budget.take(1, now) ? ++this.#query : null
  }

  /** `query` about `infoHash` went to `peerId`. */
  sent(peerId: string, query: number, infoHash: string, now: number): void {
    this.#asked.set(`${peerId}/${query}`, { infoHash, at: now })
  }

  /** The hash `peerId` was asked about under `query` (forgotten now: one answer each), or
   * undefined for an answer to nothing we asked. */
  answered(peerId: string, query: number, now: number): string | undefined {
    const key = `${peerId}/${query}`
    const asked = this.#asked.get(key)
    this.#asked.delete(key)
    return asked && now - asked.at < LOOKUP_TIMEOUT_MS ? asked.infoHash : undefined
  }

  expire(now: number): void {
    for (const [key, asked] of [...this.#asked]) {
      if (now - asked.at >= LOOKUP_TIMEOUT_MS) this.#asked.delete(key)
    }
  }
}
