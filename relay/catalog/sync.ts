// Anti-entropy between relays: a relay started with `--peer URL` pulls that peer's catalog
// page after page (GET /v1/listings?after=CURSOR) until the peer says there is no more,
// then polls every few seconds. Every listing is verified before it is stored; verified
// pages are committed a few at a time (up to PEER_PULL_COMMIT_BYTES of rows, and at the end
// of a pass, a failure or a stop: staged-pages.ts), rows and the new cursor in one
// transaction (store.ts), so a restarted relay resumes where it stopped. A page's bytes go
// as they came to a worker (verify-pool.ts), which parses and verifies it off the main
// thread; up to PEER_PULL_PAGES_AHEAD pages ahead are fetched and checked while the current
// one is stored (none after a failure). The next page is asked for as soon as a page's
// bytes are in, its cursor read from its last bytes (page-check.ts, peekPageLead) and
// checked against the parse later, while the peer builds that next page ahead of being asked
// (page-server.ts): neither relay waits on the other's parse or query. Every request has a
// timeout.
//
// A peer is a source like any address (issue 20): what it makes us store is budgeted in
// listings and bytes per minute, waited out between pages (nothing pulled is skipped). A
// peer that sends nothing valid costs a bounded trickle of CPU: a failed request, a
// malformed page, an empty page marked `more`, or a page mostly of forgeries
// (MAX_PAGE_INVALID_SHARE) is a failure, after which the puller stops following `more` and
// backs off exponentially up to PEER_MAX_BACKOFF_MS, with jitter. An epoch change (the
// peer's database replaced) resets the cursor at most once per hold, and the hold doubles
// with each reset, so an epoch flipping on every page backs off too.
//
// A peer that answers 503 or 429 with Retry-After is busy, not broken (it sheds page
// requests while its event loop runs late, relay/catalog/page-server.ts): the puller waits
// what it asks, at least a poll interval and at most PEER_MAX_BACKOFF_MS, without growing
// the failure backoff, so a loaded peer slows a sync down instead of stalling it for minutes.
//
// The page loop is the browser's too (shared/cursor-puller.ts), strict here: a peer whose
// cursor goes back or that sends an empty page marked `more` has failed. Waits are
// shared/backoff.ts.

import { BackgroundLoop } from '../../shared/background-loop.ts'
import { Backoff } from '../../shared/backoff.ts'
import { CursorPageError, pullByCursor, type CursorPullSteps } from '../../shared/cursor-puller.ts'
import type { Logger } from '../log.ts'
import {
  MAX_PAGE_BYTES,
  MAX_PAGE_INVALID_SHARE,
  MAX_PAGE_LISTINGS,
  PEER_MAX_BACKOFF_MS,
  PEER_PULL_COMMIT_BYTES,
  PEER_PULL_PAGES_AHEAD,
  PEER_PULL_BYTES_PER_LISTING,
  PEER_PULL_LISTINGS_PER_MINUTE,
  PEER_REQUEST_TIMEOUT_MS,
} from '../limits.ts'
import type { Refusals } from '../refusals.ts'
import { PeerError, PeerUnreachableError, type PeerTransport } from '../peering/peer-fetch.ts'
import { RateLimiter } from '../budget/quotas.ts'
import type { PageBody, PageLead } from './page-check.ts'
import { StagedPages, type CommittedPage } from './staged-pages.ts'
import type { CatalogStore } from './store.ts'
import type { VerifiedPage, VerifyPool } from './verify-pool.ts'

export interface PeerPullerOptions {
  /** Wait after a page that said `more: false`. */
  pollIntervalMs: number
  maxBackoffMs: number
  timeoutMs: number
  pageSize: number
  /** Listings pulled from this peer per minute (received, valid or not). */
  listingsPerMinute: number
  /** Bytes of listings stored from this peer per minute. */
  bytesPerMinute: number
  random: () => number
}

export interface PeerPullerDeps {
  store: CatalogStore
  pool: VerifyPool
  log: Logger
  refusals: Refusals
  /** How requests to other relays travel (sealed over plain HTTP: relay/sealed/transport.ts). */
  transport: PeerTransport
}

/** A page that is no use: counted as 'peer-page-invalid', and backed off from. */
class InvalidPageError extends PeerError {
  override name = 'InvalidPageError'
}

/** A page's head, and its verification, started as soon as the page arrived. */
interface FetchedPage extends PageLead {
  /** Stands for the listings for the cursor loop, which reads only whether there are any. */
  listings: { length: number }
  verified: Promise<VerifiedPage>
}

export class PeerPuller {
  readonly peer: string
  readonly options: PeerPullerOptions
  /** Listings received and stored as new in this run (the store keeps the all-time total). */
  readonly stats = {
    pages: 0,
    received: 0,
    stored: 0,
    invalid: 0,
    failures: 0,
    /** Times the puller waited for this peer's budget. */
    throttled: 0,
    /** Times the peer said it was busy (503 or 429 with Retry-After) and was waited for. */
    busy: 0,
    resets: 0,
  }
  readonly #store: CatalogStore
  readonly #pool: VerifyPool
  readonly #log: Logger
  readonly #refusals: Refusals
  readonly #transport: PeerTransport
  readonly #loop = new BackgroundLoop()
  /** This peer's budgets (one key: the peer), charged after each page. */
  readonly #listings: RateLimiter
  readonly #bytes: RateLimiter
  /** False after a failure: no page is fetched ahead until one is good again. */
  #trusted = true
  /** Waits after failures in a row. */
  readonly #backoff: Backoff
  /** Holds between cursor resets for an epoch change, and when the last one was. */
  readonly #resetHold: Backoff
  #resetAt = -Infinity
  /** Verified pages not yet committed. */
  readonly #staged: StagedPages
  readonly #steps: CursorPullSteps<FetchedPage> = {
    cursor: () => this.#staged.cursor(),
    fetch: (after) => this.#fetch(after),
    restarted: (_after, page) => this.#restarted(page),
    store: (after, page) => this.#apply(after, page),
    beforePage: () => this.#waitForBudget(),
  }

  constructor(peer: string, deps: PeerPullerDeps, options: Partial<PeerPullerOptions> = {}) {
    this.peer = peer
    this.options = {
      pollIntervalMs: 5000,
      maxBackoffMs: PEER_MAX_BACKOFF_MS,
      timeoutMs: PEER_REQUEST_TIMEOUT_MS,
      pageSize: MAX_PAGE_LISTINGS,
      listingsPerMinute: PEER_PULL_LISTINGS_PER_MINUTE,
      bytesPerMinute: PEER_PULL_LISTINGS_PER_MINUTE * PEER_PULL_BYTES_PER_LISTING,
      random: Math.random,
      ...options,
    }
    this.#store = deps.store
    this.#pool = deps.pool
    this.#log = deps.log
    this.#refusals = deps.refusals
    this.#transport = deps.transport
    this.#staged = new StagedPages(deps.store, peer, PEER_PULL_COMMIT_BYTES)
    this.#listings = new RateLimiter({ perMinute: this.options.listingsPerMinute, maxKeys: 1 })
    this.#bytes = new RateLimiter({ perMinute: this.options.bytesPerMinute, maxKeys: 1 })
    const { pollIntervalMs, maxBackoffMs, random } = this.options
    // Two poll intervals after the first failure (or reset), doubling up to maxBackoffMs.
    const delays = { minMs: 2 * pollIntervalMs, maxMs: maxBackoffMs }
    this.#backoff = new Backoff({ ...delays, jitter: 0.5, random })
    this.#resetHold = new Backoff(delays)
  }

  start(): void {
    this.#loop.start(() => this.#run())
  }

  async stop(): Promise<void> {
    await this.#loop.stop()
  }

  async #run(): Promise<void> {
    const at = this.#store.peerCursor(this.peer)
    this.#log.info('catalog pull start', {
      peer: this.peer,
      cursor: at?.cursor ?? 0,
      fetched: at?.fetched ?? 0,
    })
    let caughtUp = false
    const signal = this.#loop.signal
    while (!signal.aborted) {
      let wait: number
      try {
        await pullByCursor(this.#steps, {
          strict: true,
          prefetch: () => this.#trusted,
          ahead: PEER_PULL_PAGES_AHEAD,
          signal,
        })
        this.#commit()
        this.#backoff.reset()
        if (!caughtUp && !signal.aborted) {
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
        this.#trusted = false
        // The good pages before the failure are kept, as they would have been one by one.
        this.#commitQuietly()
        if (signal.aborted) break
        const busyMs = this.#busyWaitMs(err)
        if (busyMs !== null) {
          this.stats.busy++
          this.#log.debug('catalog peer busy', { peer: this.peer, retryInMs: busyMs })
          await this.#loop.sleep(busyMs)
          continue
        }
        this.stats.failures++
        if (isInvalidPage(err)) {
          this.#refusals.refuse('peer-page-invalid', this.peer, { error: String(err) })
        }
        wait = this.#backoff.next()
        this.#log.warn('catalog pull failed', {
          peer: this.peer,
          error: String(err),
          retryInMs: Math.round(wait),
        })
      }
      if (!signal.aborted) await this.#loop.sleep(wait)
    }
    this.#commitQuietly()
  }

  /** Waits while this peer is over its budgets; true when it waited (a page fetched ahead
   * would only have gone stale). Staged pages whose bytes would go over the budget are
   * committed (and charged) first, so they count before the next page, and never wait. */
  async #waitForBudget(): Promise<boolean> {
    if (this.#staged.size > 0 && this.#owedMs(Date.now(), this.#staged.bytes) > 0) {
      this.#commit()
    }
    let waited = false
    for (;;) {
      const owedMs = this.#owedMs(Date.now())
      if (owedMs <= 0 || this.#loop.signal.aborted) return waited
      waited = true
      this.stats.throttled++
      this.#refusals.refuse('publish-rate', this.peer, { pull: true, waitMs: owedMs })
      await this.#loop.sleep(owedMs)
    }
  }

  async #fetch(after: number): Promise<FetchedPage> {
    const url = `${this.peer}/v1/listings?after=${after}&limit=${this.options.pageSize}`
    const body = (await this.#transport.fetchJson(url, {
      timeoutMs: this.options.timeoutMs,
      // Room for the stats map and a last listing that crossed the byte cap.
      maxBytes: MAX_PAGE_BYTES * 2,
      signal: this.#loop.signal,
      // Parsed in a worker, under the same caps (page-check.ts), as bytes where they came so.
      parse: (text) => text,
      parseBytes: (bytes) => bytes,
    })) as PageBody
    const { head, verified } = this.#pool.checkPage(body, url, Math.floor(Date.now() / 1000))
    const lead = await head
    return { ...lead, listings: { length: lead.empty ? 0 : 1 }, verified }
  }

  /** How long a peer that said it is busy asked us to wait (bounded), or null when the
   * error is something else. */
  #busyWaitMs(err: unknown): number | null {
    if (!(err instanceof PeerError) || (err.status !== 503 && err.status !== 429)) return null
    if (err.retryAfter === undefined) return null
    const { pollIntervalMs, maxBackoffMs } = this.options
    return Math.min(maxBackoffMs, Math.max(pollIntervalMs, err.retryAfter * 1000))
  }

  /** Milliseconds until this peer's budgets allow another page, were `pendingBytes` more
   * charged. */
  #owedMs(nowMs: number, pendingBytes = 0): number {
    const seconds = Math.max(
      this.#listings.retryAfter(this.peer, nowMs),
      this.#bytes.retryAfter(this.peer, nowMs, pendingBytes + 1),
    )
    return seconds * 1000
  }

  /** True when the peer's database was replaced (its epoch changed) and the cursor was reset;
   * throws when that came too soon after the last reset. */
  #restarted(page: FetchedPage): boolean {
    const was = this.#staged.epoch()
    if (was === undefined || was === page.epoch) return false
    this.#holdReset(Date.now())
    // The pages before it were good, of the epoch they came in.
    this.#commit()
    // Its cursors mean nothing we knew. Start over.
    this.#log.warn('catalog peer reset', { peer: this.peer, was, now: page.epoch })
    this.#store.resetPeer(this.peer, page.epoch)
    return true
  }

  /** Verifies a page pulled `after` a cursor and stages it, committing the pages staged when
   * they are enough, at the end of the pass, or before a failure is thrown. */
  async #apply(after: number, page: FetchedPage): Promise<void> {
    const { rows, invalid, received } = await page.verified
    if (this.#loop.signal.aborted) return
    this.#listings.charge(this.peer, received, Date.now())
    this.stats.pages++
    this.stats.received += received
    this.stats.invalid += invalid
    const staged = { after, next: page.next, epoch: page.epoch, rows, received, invalid }
    const full = this.#staged.add(staged)
    const last = !page.more || page.next <= after
    const failed = invalid > received * MAX_PAGE_INVALID_SHARE
    if (full || last || failed) this.#commit()
    if (failed) {
      throw new InvalidPageError(`${invalid} of ${received} listings failed verification`)
    }
    this.#trusted = true
  }

  /** Commits the staged pages: charges the bytes stored, counts refusals, logs each page. */
  #commit(): void {
    const committed = this.#staged.commit()
    const nowMs = Date.now()
    for (const c of committed) this.#committed(c, nowMs)
  }

  /** #commit where a failure can only be logged (its pages are pulled again). */
  #commitQuietly(): void {
    try {
      this.#commit()
    } catch (err) {
      this.#log.warn('catalog pull commit failed', { peer: this.peer, error: String(err) })
    }
  }

  #committed({ page, results }: CommittedPage, nowMs: number): void {
    const { after, next, received, invalid } = page
    let stored = 0
    let bytes = 0
    for (const r of results) {
      if (r.outcome === 'inserted' || r.outcome === 'replaced') {
        stored++
        bytes += r.bytes!
      }
      if (r.outcome === 'full') this.#refusals.refuse('publisher-full', this.peer)
      if (r.outcome === 'catalog-full') this.#refusals.refuse('catalog-full', this.peer)
    }
    this.#bytes.charge(this.peer, bytes, nowMs)
    this.stats.stored += stored
    const log = received > 0 ? this.#log.info : this.#log.debug
    log('catalog pull', { peer: this.peer, after, next, received, stored, invalid })
  }

  /** Allows a cursor reset for an epoch change, or throws if one came too soon after the
   * last: the hold doubles with each reset in a row (capped at maxBackoffMs), and a run of
   * resets ends once none came for maxBackoffMs. */
  #holdReset(nowMs: number): void {
    const heldMs = this.#resetHold.wait(nowMs)
    if (heldMs > 0) throw new InvalidPageError(`epoch changed again, ${heldMs} ms too soon`)
    if (nowMs - this.#resetAt >= this.options.maxBackoffMs) this.#resetHold.reset()
    this.#resetHold.defer(nowMs)
    this.#resetAt = nowMs
    this.stats.resets++
  }
}

/** A page that came but was no use (not a network or HTTP failure). */
function isInvalidPage(err: unknown): boolean {
  return (
    err instanceof CursorPageError ||
    (err instanceof PeerError && err.status === undefined && !(err instanceof PeerUnreachableError))
  )
}
