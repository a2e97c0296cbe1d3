// Gossip: every listing this relay newly stores from a POST (a client's or a peer's push)
// is pushed on to up to PUSH_FANOUT random known relays, so news reaches N relays in about
// log N rounds (ARCHITECTURE.md, "The catalog"). A relay that already has a listing answers
// 409 and does not push it on, so pushes die out instead of looping. Best effort: the queue
// is bounded, failures are dropped, and pulling (sync.ts) catches up with whatever is lost.

import type { Listing } from '../../shared/listing.ts'
import type { Logger } from '../log.ts'
import {
  MAX_LISTINGS_POST_BYTES,
  MAX_PUSH_QUEUE,
  PEER_REQUEST_TIMEOUT_MS,
  PUSH_BATCH,
  PUSH_FANOUT,
} from '../limits.ts'
import { fetchPeerJson } from './peer-fetch.ts'

/** The answer to a push lists one short result per listing; this is ample for a batch. */
const MAX_PUSH_ANSWER_BYTES = 256 * 1024

export interface GossipOptions {
  fanout: number
  maxQueue: number
  batch: number
  /** Bytes of listings JSON in one push (under the receiver's body cap). */
  maxBatchBytes: number
  timeoutMs: number
  random: () => number
}

export interface GossipStats {
  queued: number
  /** Listings sent (counted once per peer). */
  sent: number
  /** Of those, stored by the receiver as new. */
  accepted: number
  /** Listings not queued because the queue was full. */
  dropped: number
  /** Push requests that failed (network, timeout, non-200). */
  failures: number
}

export class Gossip {
  readonly options: GossipOptions
  readonly stats: GossipStats = { queued: 0, sent: 0, accepted: 0, dropped: 0, failures: 0 }
  readonly #peers: readonly string[]
  readonly #log: Logger
  readonly #queue: string[] = []
  readonly #stop = new AbortController()
  #running = false
  #idle: Promise<void> = Promise.resolve()

  constructor(peers: readonly string[], log: Logger, options: Partial<GossipOptions> = {}) {
    this.options = {
      fanout: PUSH_FANOUT,
      maxQueue: MAX_PUSH_QUEUE,
      batch: PUSH_BATCH,
      maxBatchBytes: Math.floor(MAX_LISTINGS_POST_BYTES * 0.75),
      timeoutMs: PEER_REQUEST_TIMEOUT_MS,
      random: Math.random,
      ...options,
    }
    this.#peers = peers
    this.#log = log
  }

  /** Queues listings to push; returns at once. */
  push(listings: readonly Listing[]): void {
    if (this.#peers.length === 0 || this.#stop.signal.aborted) return
    for (const listing of listings) {
      if (this.#queue.length >= this.options.maxQueue) {
        this.stats.dropped++
        continue
      }
      this.#queue.push(JSON.stringify(listing))
      this.stats.queued++
    }
    if (!this.#running && this.#queue.length > 0) {
      this.#running = true
      this.#idle = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain())
    }
  }

  /** Stops pushing; in-flight requests are aborted. */
  async stop(): Promise<void> {
    this.#stop.abort()
    this.#queue.length = 0
    await this.#idle
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#stop.signal.aborted) {
        const batch = this.#takeBatch()
        const body = `{"listings":[${batch.join(',')}]}`
        await Promise.all(this.#pickPeers().map((peer) => this.#send(peer, body, batch.length)))
      }
    } finally {
      this.#running = false
    }
  }

  #takeBatch(): string[] {
    const batch: string[] = []
    let bytes = 0
    while (this.#queue.length > 0 && batch.length < this.options.batch) {
      const next = this.#queue[0]
      if (batch.length > 0 && bytes + next.length > this.options.maxBatchBytes) break
      batch.push(this.#queue.shift()!)
      bytes += next.length
    }
    return batch
  }

  /** Up to `fanout` distinct peers, chosen at random (partial Fisher–Yates). */
  #pickPeers(): string[] {
    const peers = [...this.#peers]
    const n = Math.min(this.options.fanout, peers.length)
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.options.random() * (peers.length - i))
      ;[peers[i], peers[j]] = [peers[j], peers[i]]
    }
    return peers.slice(0, n)
  }

  async #send(peer: string, body: string, count: number): Promise<void> {
    try {
      const answer = (await fetchPeerJson(`${peer}/v1/listings`, {
        method: 'POST',
        body,
        timeoutMs: this.options.timeoutMs,
        maxBytes: MAX_PUSH_ANSWER_BYTES,
        signal: this.#stop.signal,
      })) as { stored?: unknown } | null
      const accepted = typeof answer?.stored === 'number' ? answer.stored : 0
      this.stats.sent += count
      this.stats.accepted += accepted
      this.#log.debug('catalog push', { peer, sent: count, accepted })
    } catch (err) {
      if (this.#stop.signal.aborted) return
      this.stats.failures++
      this.#log.warn('catalog push failed', { peer, listings: count, error: String(err) })
    }
  }
}
