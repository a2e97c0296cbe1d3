// Peers the mesh banned for what they sent (issue 22: "disconnected and remembered"), newest
// kept, each for BAN_MS: peer ids cost nothing to mint, so a long memory buys little and a
// bounded one costs little.

import { BoundedMap } from '../../../shared/bounded-map.ts'
import { BAN_MS, MAX_BANNED_PEERS } from '../../../shared/mesh/limits.ts'

export interface Ban {
  peerId: string
  reason: string
  /** Unix ms when it was banned. */
  at: number
}

export class Bans {
  readonly #bans = new BoundedMap<string, Ban>({ maxSize: MAX_BANNED_PEERS, order: 'oldest' })

  /** Bans `peerId` from `now` on (again: the ban starts over with the new reason). */
  add(peerId: string, reason: string, now: number): void {
    this.#bans.set(peerId, { peerId, reason, at: now })
  }

  has(peerId: string, now: number): boolean {
    const ban = this.#bans.get(peerId)
    if (!ban) return false
    if (now - ban.at < BAN_MS) return true
    this.#bans.delete(peerId)
    return false
  }

  /** Bans still in force, newest first, at most `limit`. */
  newest(now: number, limit: number): Ban[] {
    const out: Ban[] = []
    for (const ban of [...this.#bans.values()].reverse()) {
      if (out.length >= limit) break
      if (this.has(ban.peerId, now)) out.push({ ...ban })
    }
    return out
  }

  get size(): number {
    return this.#bans.size
  }
}
