// Introductions in flight (issue 22, signal relay): WebRTC connections the mesh opened whose
// offer or answer still has to cross the mesh. One per (swarm, remote peer id), at most
// MAX_PENDING_INTRODUCTIONS, each destroyed when it outlives INTRODUCTION_TIMEOUT_MS. Glare
// (both sides offer at once) goes to the lower peer id's offer.

import { INTRODUCTION_TIMEOUT_MS, MAX_PENDING_INTRODUCTIONS } from '../../../shared/mesh/limits.ts'
import type { SignalledPeer } from '../engine/index.ts'

export interface Introduction {
  infoHash: string
  peerId: string
  /** True for our offer awaiting its answer; false for an offer we are answering. */
  initiator: boolean
  /** The neighbour's peer id its signals travel through (an answer comes back only that way,
   * or from the remote peer itself). */
  via: string
  /** Unix ms when it was opened. */
  at: number
  peer: Promise<SignalledPeer>
}

/** Whether the offer from `remote` wins over our own pending one to it: the lower id's does. */
export function remoteOfferWins(ourPeerId: string, remote: string): boolean {
  return remote < ourPeerId
}

export class Introductions {
  readonly #pending = new Map<string, Introduction>()
  readonly #destroyed: (intro: Introduction) => void

  /** `destroyed` hears of each introduction destroyed (timed out, lost to glare, banned). */
  constructor(destroyed: (intro: Introduction) => void = () => {}) {
    this.#destroyed = destroyed
  }

  get size(): number {
    return this.#pending.size
  }

  get full(): boolean {
    return this.#pending.size >= MAX_PENDING_INTRODUCTIONS
  }

  get(infoHash: string, peerId: string): Introduction | undefined {
    return this.#pending.get(key(infoHash, peerId))
  }

  /** Holds `intro`; false (and nothing held) when full or one to that peer is in flight. */
  add(intro: Introduction): boolean {
    const k = key(intro.infoHash, intro.peerId)
    if (this.full || this.#pending.has(k)) return false
    // A connection that never opened cannot be destroyed; nothing to hold then.
    intro.peer.catch(() => this.#pending.get(k) === intro && this.#pending.delete(k))
    this.#pending.set(k, intro)
    return true
  }

  /** Lets `intro` go on without us (its signals have crossed). */
  finish(intro: Introduction): void {
    const k = key(intro.infoHash, intro.peerId)
    if (this.#pending.get(k) === intro) this.#pending.delete(k)
  }

  /** Drops `intro` and destroys its connection. */
  destroy(intro: Introduction): void {
    this.finish(intro)
    this.#destroyed(intro)
    intro.peer.then((peer) => peer.destroy()).catch(() => undefined)
  }

  /** Destroys every introduction to `peerId` (a banned peer). */
  destroyPeer(peerId: string): void {
    for (const intro of [...this.#pending.values()]) {
      if (intro.peerId === peerId) this.destroy(intro)
    }
  }

  /** Destroys the introductions older than INTRODUCTION_TIMEOUT_MS. */
  expire(now: number): void {
    for (const intro of [...this.#pending.values()]) {
      if (now - intro.at >= INTRODUCTION_TIMEOUT_MS) this.destroy(intro)
    }
  }
}

function key(infoHash: string, peerId: string): string {
  return `${infoHash}:${peerId}`
}
