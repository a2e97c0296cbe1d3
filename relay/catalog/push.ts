// Gossip: every listing this relay newly stores from a POST (a client's or a peer's push)
// is pushed on to up to PUSH_FANOUT random known relays, so news reaches N relays in about
// log N rounds (ARCHITECTURE.md, "The catalog"). A relay that already has a listing answers
// 409 and does not push it on, so pushes die out instead of looping. Best effort: the queue
// is bounded; listings a peer refuses for its per-address quota (429) are sent again after
// its Retry-After, a few times, within a byte bound; other failures are dropped. Pulling
// (sync.ts) catches up with whatever is lost between relays that list each other as peers.

import type { Listing } from '../../shared/listing.ts'
import type { Logger } from '../log.ts'
import {
  MAX_LISTINGS_POST_BYTES,
  MAX_PUSH_ATTEMPTS,
  MAX_PUSH_QUEUE,
  MAX_PUSH_RETRY_BYTES,
  MAX_PUSH_RETRY_DELAY_MS,
  PEER_REQUEST_TIMEOUT_MS,
  PUSH_BATCH,
  PUSH_FANOUT,
} from '../limits.ts'
import { PeerError, type PeerTransport } from '../peering/peer-fetch.ts'

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
  /** Listings sent again after a 429. */
  retried: number
}

export interface GossipDeps {
  log: Logger
  /** How requests to other relays travel (sealed over plain HTTP: relay/sealed/transport.ts). */
  transport: PeerTransport
}

export class Gossip {
  readonly options: GossipOptions
  readonly stats: GossipStats = {
    queued: 0,
    sent: 0,
    accepted: 0,
    dropped: 0,
    failures: 0,
    retried: 0,
  }
  readonly #peers: readonly string[]
  readonly #log: Logger
  readonly #transport: PeerTransport
  readonly #queue: string[] = []
  readonly #stop = new AbortController()
  readonly #retryTimers = new Set<NodeJS.Timeout>()
  #retryBytes = 0
  #running = false
  #idle: Promise<void> = Promise.resolve()

  constructor(peers: readonly string[], deps: GossipDeps, options: Partial<GossipOptions> = {}) {
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
    this.#log = deps.log
    this.#transport = deps.transport
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
    for (const timer of this.#retryTimers) clearTimeout(timer)
    this.#retryTimers.clear()
    await this.#idle
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#stop.signal.aborted) {
        const batch = this.#takeBatch()
        await Promise.all(this.#pickPeers().map((peer) => this.#send(peer, batch, 1)))
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

  async #send(peer: string, batch: string[], attempt: number): Promise<void> {
    let refused: string[] = []
    let retryAfter: number | undefined
    try {
      const answer = (await this.#transport.fetchJson(`${peer}/v1/listings`, {
        method: 'POST',
        body: `{"listings":[${batch.join(',')}]}`,
        timeoutMs: this.options.timeoutMs,
        maxBytes: MAX_PUSH_ANSWER_BYTES,
        signal: this.#stop.signal,
      })) as { stored?: unknown; results?: unknown } | null
      const accepted = typeof answer?.stored === 'number' ? answer.stored : 0
      this.stats.sent += batch.length
      this.stats.accepted += accepted
      this.#log.debug('catalog push', { peer, sent: batch.length, accepted, attempt })
      // Some of the batch may have run into the peer's quota half-way.
      const results = Array.isArray(answer?.results) ? answer.results : []
      refused = batch.filter((_, i) => (results[i] as { status?: unknown })?.status === 429)
    } catch (err) {
      if (this.#stop.signal.aborted) return
      this.stats.failures++
      this.#log.warn('catalog push failed', {
        peer,
        listings: batch.length,
        attempt,
        error: String(err),
      })
      if (err instanceof PeerError && err.status === 429) {
        refused = batch
        retryAfter = err.retryAfter
      }
    }
    if (refused.length > 0) this.#retryLater(peer, refused, attempt, retryAfter)
  }

  /** Sends `batch` to `peer` again after its Retry-After, within the attempt and byte caps. */
  #retryLater(peer: string, batch: string[], attempt: number, retryAfter = 1): void {
    const bytes = batch.reduce((n, l) => n + l.length, 0)
    if (attempt >= MAX_PUSH_ATTEMPTS || this.#retryBytes + bytes > MAX_PUSH_RETRY_BYTES) {
      this.stats.dropped += batch.length
      return
    }
    this.#retryBytes += bytes
    const delay = Math.min(MAX_PUSH_RETRY_DELAY_MS, Math.max(1, retryAfter) * 1000)
    const timer = setTimeout(() => {
      this.#retryTimers.delete(timer)
      this.#retryBytes -= bytes
      this.stats.retried += batch.length
      void this.#send(peer, batch, attempt + 1)
    }, delay)
    timer.unref()
    this.#retryTimers.add(timer)
  }
}
