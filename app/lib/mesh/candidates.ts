// Peers the mesh may introduce us to (issue 22): named by a neighbour in PEX or in a lookup
// answer, each remembered with the neighbour that can carry our offer to it. Bounded over all
// swarms (oldest dropped first), forgotten CANDIDATE_TTL_MS after last named, and tried again
// only CANDIDATE_RETRY_MS after an attempt.

import { BoundedMap } from '../../../shared/bounded-map.ts'
import {
  CANDIDATE_RETRY_MS,
  CANDIDATE_TTL_MS,
  MAX_MESH_CANDIDATES,
} from '../../../shared/mesh/limits.ts'

export interface Candidate {
  infoHash: string
  peerId: string
  /** The neighbour's peer id that named it: our signals to it go through that neighbour. */
  via: string
  /** 'pex': only the lower peer id offers; 'lookup': we asked, so we offer. */
  source: 'pex' | 'lookup'
  /** Unix ms when last named. */
  seen: number
  /** Unix ms of our last attempt, or null. */
  tried: number | null
}

export class Candidates {
  readonly #all = new BoundedMap<string, Candidate>({
    maxSize: MAX_MESH_CANDIDATES,
    order: 'oldest',
  })

  get size(): number {
    return this.#all.size
  }

  /** Remembers (or renews) `peerId` in `infoHash`'s swarm, named by `via`. */
  add(infoHash: string, peerId: string, via: string, source: Candidate['source'], now: number) {
    const k = key(infoHash, peerId)
    const known = this.#all.get(k)
    // A lookup answer outranks PEX: it is the asker who must offer.
    const kept = known?.source === 'lookup' && known.via === via ? 'lookup' : source
    this.#all.set(k, {
      infoHash,
      peerId,
      via,
      source: kept,
      seen: now,
      tried: known?.tried ?? null,
    })
  }

  /** Forgets `peerId` in `infoHash` when `via` (the neighbour that named it) drops it. */
  drop(infoHash: string, peerId: string, via: string): void {
    const k = key(infoHash, peerId)
    if (this.#all.get(k)?.via === via) this.#all.delete(k)
  }

  /** Forgets every candidate `peerId` named (its wires closed: it carries no more signals). */
  forgetVia(peerId: string): void {
    for (const [k, c] of [...this.#all]) if (c.via === peerId) this.#all.delete(k)
  }

  /** Forgets every candidate that is `peerId` or that `peerId` named (banned). */
  forgetPeer(peerId: string): void {
    for (const [k, c] of [...this.#all]) {
      if (c.peerId === peerId || c.via === peerId) this.#all.delete(k)
    }
  }

  /** Candidates due an attempt at `now` (not tried within CANDIDATE_RETRY_MS); forgets the
   * expired ones. */
  due(now: number): Candidate[] {
    const out: Candidate[] = []
    for (const [k, c] of [...this.#all]) {
      if (now - c.seen >= CANDIDATE_TTL_MS) this.#all.delete(k)
      else if (c.tried === null || now - c.tried >= CANDIDATE_RETRY_MS) out.push(c)
    }
    return out
  }

  tried(c: Candidate, now: number): void {
    c.tried = now
  }
}

function key(infoHash: string, peerId: string): string {
  return `${infoHash}:${peerId}`
}
