// Our "who has this info hash" lookups in flight (issue 22, hash lookup): each asked of every
// neighbour under one query id (a round), an answer taken only from a neighbour we asked, once,
// for the hash we asked about, within LOOKUP_TIMEOUT_MS. An answer's referral to a peer may add
// one more neighbour to the round (one hop: a referred answer's own referral is not followed),
// never one the round already asked, and at most REFERRALS_FOLLOWED_PER_LOOKUP of them, so two
// neighbours that refer to each other end the round. We ask at most LOOKUPS_SENT_PER_MINUTE
// rounds a minute, well inside what a neighbour answers, so our asking never looks like a flood.

import { BoundedMap } from '../../../shared/bounded-map.ts'
import {
  LOOKUP_TIMEOUT_MS,
  LOOKUPS_SENT_PER_MINUTE,
  MAX_PENDING_LOOKUPS,
  REFERRALS_FOLLOWED_PER_LOOKUP,
} from '../../../shared/mesh/limits.ts'
import { TokenBucket } from '../../../shared/token-bucket.ts'

/** What one neighbour was asked under one query. */
export interface Asked {
  infoHash: string
  at: number
  /** Asked on another neighbour's referral: its own referral is not followed. */
  referred: boolean
}

/** One round: the neighbours it asked, and the referrals it followed. */
interface Round {
  at: number
  asked: Set<string>
  referrals: number
}

export class Lookups {
  /** By `${peerId}/${query}`. */
  readonly #asked = new BoundedMap<string, Asked>({
    maxSize: MAX_PENDING_LOOKUPS,
    order: 'oldest',
  })
  /** By query id. A round lives LOOKUP_TIMEOUT_MS and we start LOOKUPS_SENT_PER_MINUTE a
   * minute, so that many cover every round still answerable. */
  readonly #rounds = new BoundedMap<number, Round>({
    maxSize: LOOKUPS_SENT_PER_MINUTE,
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

  /** A query id for a new round, or null while our budget is spent. */
  next(now: number): number | null {
    if (!this.#budget.take(1, now)) return null
    const query = ++this.#query
    this.#rounds.set(query, { at: now, asked: new Set(), referrals: 0 })
    return query
  }

  /** `query` about `infoHash` went to `peerId` (on a referral: `referred`). */
  sent(peerId: string, query: number, infoHash: string, now: number, referred = false): void {
    this.#asked.set(`${peerId}/${query}`, { infoHash, at: now, referred })
    this.#rounds.get(query)?.asked.add(peerId)
  }

  /** What `peerId` was asked under `query` (forgotten now: one answer each), or undefined
   * for an answer to nothing we asked. */
  answered(peerId: string, query: number, now: number): Asked | undefined {
    const key = `${peerId}/${query}`
    const asked = this.#asked.get(key)
    this.#asked.delete(key)
    return asked && now - asked.at < LOOKUP_TIMEOUT_MS ? asked : undefined
  }

  /** True when round `query` may ask `peerId` on a referral (then counted): the round is
   * still answerable, has not asked it, and has referrals left. */
  refer(query: number, peerId: string, now: number): boolean {
    const round = this.#rounds.get(query)
    if (!round || now - round.at >= LOOKUP_TIMEOUT_MS || round.asked.has(peerId)) return false
    if (round.referrals >= REFERRALS_FOLLOWED_PER_LOOKUP) return false
    round.referrals++
    return true
  }

  expire(now: number): void {
    for (const [key, asked] of [...this.#asked]) {
      if (now - asked.at >= LOOKUP_TIMEOUT_MS) this.#asked.delete(key)
    }
    for (const [query, round] of [...this.#rounds]) {
      if (now - round.at >= LOOKUP_TIMEOUT_MS) this.#rounds.delete(query)
    }
  }
}
