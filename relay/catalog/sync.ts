// Anti-entropy between relays: a relay started with `--peer URL` pulls that peer's catalog
// page after page (GET /v1/listings?after=CURSOR) until the peer says there is no more,
// then polls every few seconds. Every listing is verified before it is stored; the page's
// rows and the new cursor are committed in one transaction (store.ts), so a restarted relay
// resumes where it stopped and fetches nothing twice. One page ahead is fetched and verified
// (off the main thread, verify-pool.ts) while the current one is stored. Failures back off exponentially up to
// PEER_MAX_BACKOFF_MS, with jitter; every request has a timeout.

import type { Logger } from '../log.ts'
import {
  MAX_PAGE_BYTES,
  MAX_PAGE_LISTINGS,
  PEER_MAX_BACKOFF_MS,
  PEER_REQUEST_TIMEOUT_MS,
} from '../limits.ts'
import { PeerError, fetchPeerJson } from './peer-fetch.ts'
import type { CatalogStore } from './store.ts'
import type { VerifiedPage, VerifyPool } from './verify-pool.ts'

export interface PeerPullerOptions {
  /** Wait after a page that said `more: false`. */
  pollIntervalMs: number
  maxBackoffMs: number
  timeoutMs: number
  pageSize: number
  random: () => number
}

/** A page requested after a cursor, and its verification, started as soon as it arrives. */
interface Fetched {
  after: number
  page: Promise<Page>
  verified: Promise<VerifiedPage>
}

interface Page {
  listings: unknown[]
  next: number
  more: boolean
  epoch: string
}

export class PeerPuller {
  readonly peer: string
  readonly options: PeerPullerOptions
  /** Listings received and stored as new in this run (the store keeps the all-time total). */
  readonly stats = { pages: 0, received: 0, stored: 0, invalid: 0, failures: 0 }
  readonly #store: CatalogStore
  readonly #pool: VerifyPool
  readonly #log: Logger
  readonly #stop = new AbortController()
  #loop: Promise<void> | null = null
  #wake: (() => void) | null = null

  constructor(
    peer: string,
    deps: { store: CatalogStore; pool: VerifyPool; log: Logger },
    options: Partial<PeerPullerOptions> = {},
  ) {
    this.peer = peer
    this.options = {
      pollIntervalMs: 5000,
      maxBackoffMs: PEER_MAX_BACKOFF_MS,
      timeoutMs: PEER_REQUEST_TIMEOUT_MS,
      pageSize: MAX_PAGE_LISTINGS,
      random: Math.random,
      ...options,
    }
    this.#store = deps.store
    this.#pool = deps.pool
    this.#log = deps.log
  }

  start(): void {
    this.#loop ??= this.#run()
  }

  async stop(): Promise<void> {
    this.#stop.abort()
    this.#wake?.()
    await this.#loop
  }

  async #run(): Promise<void> {
    const at = this.#store.peerCursor(this.peer)
    this.#log.info('catalog pull start', {
      peer: this.peer,
      cursor: at?.cursor ?? 0,
      fetched: at?.fetched ?? 0,
    })
    let failures = 0
    let caughtUp = false
    // The next page is fetched while this one is verified and stored.
    let prefetched: Fetched | null = null
    while (!this.#stop.signal.aborted) {
      let wait: number
      try {
        const after = this.#store.peerCursor(this.peer)?.cursor ?? 0
        const fetched = prefetched?.after === after ? prefetched : this.#fetch(after)
        prefetched = null
        const page = await fetched.page
        const more = page.more && page.next > after
        if (more) prefetched = this.#fetch(page.next)
        if (await this.#apply(after, page, fetched.verified)) continue
        failures = 0
        if (!caughtUp) {
          caughtUp = true
          const now = this.#store.peerCursor(this.peer)
          this.#log.info('catalog caught up', {
            peer: this.peer,
            cursor: now?.cursor ?? 0,
            received: this.stats.received,
            stored: this.stats.stored,
          })
        }
        wait = this.options.pollIntervalMs
      } catch (err) {
        prefetched = null
        if (this.#stop.signal.aborted) break
        failures++
        this.stats.failures++
        const backoff = this.options.pollIntervalMs * 2 ** Math.min(failures, 20)
        wait = Math.min(this.options.maxBackoffMs, backoff) * (0.5 + this.options.random() / 2)
        this.#log.warn('catalog pull failed', {
          peer: this.peer,
          error: String(err),
          retryInMs: Math.round(wait),
        })
      }
      await this.#sleep(wait)
    }
  }

  #fetch(after: number): Fetched {
    const url = `${this.peer}/v1/listings?after=${after}&limit=${this.options.pageSize}`
    const page = fetchPeerJson(url, {
      timeoutMs: this.options.timeoutMs,
      // Room for the stats map and a last listing that crossed the byte cap.
      maxBytes: MAX_PAGE_BYTES * 2,
      signal: this.#stop.signal,
    }).then(parsePage)
    const verified = page.then((p) =>
      this.#pool.verifyPage(p.listings, Math.floor(Date.now() / 1000)),
    )
    // Awaited later, or dropped: never an unhandled rejection.
    page.catch(() => {})
    verified.catch(() => {})
    return { after, page, verified }
  }

  /** Verifies and stores a page pulled `after` a cursor; true when the peer has more. */
  async #apply(after: number, page: Page, verified: Promise<VerifiedPage>): Promise<boolean> {
    const at = this.#store.peerCursor(this.peer)
    if (at && at.epoch !== page.epoch) {
      // The peer's database was replaced: its cursors mean nothing we knew. Start over.
      this.#log.warn('catalog peer reset', { peer: this.peer, was: at.epoch, now: page.epoch })
      this.#store.resetPeer(this.peer, page.epoch)
      return true
    }
    if (page.next < after) throw new PeerError(`cursor went back from ${after} to ${page.next}`)
    const { listings, invalid } = await verified
    if (this.#stop.signal.aborted) return false
    const results = this.#store.ingest(
      this.peer,
      page.epoch,
      page.next,
      listings,
      page.listings.length,
    )
    const stored = results.filter((r) => r.outcome === 'inserted' || r.outcome === 'replaced')
    this.stats.pages++
    this.stats.received += page.listings.length
    this.stats.stored += stored.length
    this.stats.invalid += invalid
    const log = page.listings.length > 0 ? this.#log.info : this.#log.debug
    log('catalog pull', {
      peer: this.peer,
      after,
      next: page.next,
      received: page.listings.length,
      stored: stored.length,
      invalid,
    })
    return page.more && page.next > after
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.#wake = done
    })
  }
}

function parsePage(value: unknown): Page {
  const page = value as Partial<Page> | null
  if (
    typeof page !== 'object' ||
    page === null ||
    !Array.isArray(page.listings) ||
    page.listings.length > MAX_PAGE_LISTINGS ||
    !Number.isSafeInteger(page.next) ||
    page.next! < 0 ||
    typeof page.more !== 'boolean' ||
    typeof page.epoch !== 'string' ||
    !/^[0-9a-f]{1,64}$/.test(page.epoch)
  ) {
    throw new PeerError('peer sent a malformed page')
  }
  return page as Page
}
