// The puller against fake peer relays on 127.0.0.1 serving hostile pages: forged listings
// marked `more`, an epoch flipping on every page, and an honest peer with more than this
// relay's budget for it. What is measured is how many requests the fake received for each
// failure, and what was stored once the budget bit: without backoff and budgets, hundreds
// of requests and no failure at all.

import { createServer, type Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import type { Listing } from '../../shared/listing.ts'
import type { Logger } from '../log.ts'
import { directTransport } from '../peering/peer-fetch.ts'
import { quietRefusals, type Refusals } from '../refusals.ts'
import { MAX_PAGE_LISTINGS, PEER_PULL_PAGES_AHEAD } from '../limits.ts'
import { CatalogStore } from './store.ts'
import { PeerPuller, type PeerPullerOptions } from './sync.ts'
import { FastSigner, sampleDraft } from './test-support.ts'
import { createFastVerifier } from '../signatures/verify.ts'
import { VerifyPool } from './verify-pool.ts'

const quiet = () => {}
const log: Logger = { debug: quiet, info: quiet, warn: quiet, error: quiet }
const cleanup: (() => Promise<void> | void)[] = []

afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f()
})

interface FakePeer {
  url: string
  /** Requests for pages received so far. */
  requests: () => number
}

/** A peer relay answering GET /v1/listings?after=&limit= with `page(after, limit, n)`. */
async function fakePeer(
  page: (after: number, limit: number, n: number) => object,
): Promise<FakePeer> {
  let n = 0
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    const after = Number(url.searchParams.get('after'))
    const limit = Number(url.searchParams.get('limit'))
    res.setHeader('Content-Type', 'application/json')
    res.end(JSON.stringify(page(after, limit, n++)))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())))
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, requests: () => n }
}

function pullFrom(peer: FakePeer, options: Partial<PeerPullerOptions> = {}) {
  const store = new CatalogStore(':memory:')
  const pool = new VerifyPool(0, createFastVerifier())
  const refusals: Refusals = quietRefusals()
  const puller = new PeerPuller(
    peer.url,
    { store, pool, log, refusals, transport: directTransport },
    {
      pollIntervalMs: 50,
      maxBackoffMs: 400,
      // The longest wait each time: the fewest requests backoff allows.
      random: () => 1,
      ...options,
    },
  )
  cleanup.push(() => store.close())
  cleanup.push(() => pool.close())
  cleanup.push(() => puller.stop())
  return { store, puller, refusals }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Waits for `check`; the deadline is a hang detector, not a timing assertion. */
async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await sleep(20)
  }
}
/** A peer serving `all` by cursor, `limit` at a time, as a relay does. */
function honestPeer(all: Listing[]): Promise<FakePeer> {
  return fakePeer((after, limit) => {
    const listings = all.slice(after, after + limit)
    const next = after + listings.length
    return { listings, next, more: next < all.length, epoch: 'ab' }
  })
}

const nowSeconds = () => Math.floor(Date.now() / 1000)

function signed(count: number): Listing[] {
  const signer = new FastSigner()
  return Array.from({ length: count }, (_, i) =>
    signer.listing(sampleDraft(i, 7), { seq: 1, ts: nowSeconds() }),
  )
}

describe('PeerPuller against a hostile peer', () => {
  /** 100 forged listings: v1 with a bad signature, or v2 moved under a real batch's root and
   * signature with other content (no proof folds to it). */
  const forgeries = {
    v1: () => {
      const [real] = signed(1)
      const sig = (real.sig.startsWith('0') ? '1' : '0') + real.sig.slice(1)
      return Array(100).fill({ ...real, sig })
    },
    v2: () =>
      new FastSigner()
        .batches(0, 100, { seq: 1, ts: nowSeconds() }, { batchSize: 100 })
        .map((l, i) => ({ ...l, name: `Forged ${i}` })),
  }

  it.each(['v1', 'v2'] as const)(
    'backs off from pages of forged %s listings marked more, instead of following them',
    async (format) => {
      const forged = forgeries[format]()
      const peer = await fakePeer((after, limit) => ({
        listings: forged.slice(0, limit),
        next: after + 100,
        more: true,
        epoch: 'ab',
      }))
      const { store, puller, refusals } = pullFrom(peer)
      puller.start()
      await until('four failed pages', () => puller.stats.failures >= 4)
      // One request per failure (and the pages fetched ahead before the first): following
      // `more` it was hundreds of requests and never a failure.
      expect(peer.requests()).toBeLessThanOrEqual(puller.stats.failures + PEER_PULL_PAGES_AHEAD)
      expect(refusals.count('peer-page-invalid')).toBe(puller.stats.failures)
      expect(store.count()).toBe(0)
    },
  )

  it('pulls v2 batches and v1 listings from an honest peer, whole', async () => {
    const signer = new FastSigner()
    const meta = { seq: 1, ts: nowSeconds() }
    const all = [...signer.batches(0, 250, meta, { batchSize: 100, salt: 3 }), ...signed(50)]
    const peer = await honestPeer(all)
    const { store, puller } = pullFrom(peer, { pageSize: 120 })
    puller.start()
    await until('every listing stored', () => store.count() === all.length)
    expect(puller.stats.invalid).toBe(0)
    for (const l of [all[0], all[149], all[260]]) {
      expect(store.get(l.publisher, l.infoHash)).toEqual(l)
    }
  })

  it('waits out a busy peer (503 with Retry-After) without counting it as failing', async () => {
    const all = signed(30)
    let requests = 0
    const server: Server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x')
      const after = Number(url.searchParams.get('after'))
      // Busy for the first two requests, as a relay shedding pages under load.
      if (requests++ < 2) {
        res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' })
        res.end(JSON.stringify({ error: 'busy', code: 'busy' }))
        return
      }
      const listings = all.slice(after, after + 10)
      const next = after + listings.length
      res.setHeader('Content-Type', 'application/json')
      res.end(JSON.stringify({ listings, next, more: next < all.length, epoch: 'ab' }))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())))
    const { port } = server.address() as { port: number }
    const { store, puller, refusals } = pullFrom(
      { url: `http://127.0.0.1:${port}`, requests: () => requests },
      { pageSize: 10 },
    )
    puller.start()
    await until('every listing stored', () => store.count() === all.length)
    expect(puller.stats.busy).toBe(2)
    expect(puller.stats.failures).toBe(0)
    expect(refusals.count('peer-page-invalid')).toBe(0)
  })

  it('backs off from an empty page marked more', async () => {
    const peer = await fakePeer((after) => ({
      listings: [],
      next: after + 1,
      more: true,
      epoch: 'ab',
    }))
    const { puller, refusals } = pullFrom(peer)
    puller.start()
    await until('three failed pages', () => puller.stats.failures >= 3)
    expect(peer.requests()).toBeLessThanOrEqual(puller.stats.failures + 2)
    expect(refusals.count('peer-page-invalid')).toBe(puller.stats.failures)
  })

  it('resets the cursor at most once per hold when the epoch flips on every page', async () => {
    const pool = signed(50)
    const peer = await fakePeer((after, _limit, n) => ({
      listings: Array.from({ length: 5 }, (_, i) => pool[(after + i) % pool.length]),
      next: after + 5,
      more: true,
      epoch: n % 2 === 0 ? 'aa' : 'bb',
    }))
    // Holds up to 2 s, so even a slow machine's page takes less than a hold.
    const { store, puller, refusals } = pullFrom(peer, { maxBackoffMs: 2000 })
    puller.start()
    await until('four refused resets', () => puller.stats.failures >= 4)
    // Each hold lets one reset through: a good page, the flip that resets, the flip that is
    // refused (backing off). With a reset allowed on every page it was hundreds of requests
    // and never a failure.
    const { resets, failures } = puller.stats
    expect(resets).toBeLessThanOrEqual(failures + 3)
    expect(peer.requests()).toBeLessThanOrEqual(3 * (failures + resets) + 3)
    expect(refusals.count('peer-page-invalid')).toBe(puller.stats.failures)
    // The listings themselves are genuine, and were kept.
    expect(store.count()).toBeGreaterThan(0)
  })
})

describe('PeerPuller against pages that make no sense', () => {
  it('keeps a good page, then backs off from a cursor that goes back', async () => {
    const good = signed(5)
    const peer = await fakePeer((after) =>
      after === 0
        ? { listings: good, next: 5, more: true, epoch: 'ab' }
        : { listings: good.slice(0, 1), next: 2, more: true, epoch: 'ab' },
    )
    const { store, puller, refusals } = pullFrom(peer)
    puller.start()
    await until('three failed pages', () => puller.stats.failures >= 3)
    expect(store.count()).toBe(5)
    expect(store.peerCursor(peer.url)?.cursor).toBe(5)
    expect(peer.requests()).toBeLessThanOrEqual(puller.stats.failures + 2)
    expect(refusals.count('peer-page-invalid')).toBe(puller.stats.failures)
  })

  it('refuses garbage and a page over MAX_PAGE_LISTINGS as malformed, storing nothing', async () => {
    const [one] = signed(1)
    for (const page of [
      { listings: 'not a list', next: 1, more: true, epoch: 'ab' },
      { listings: [], next: -1, more: false, epoch: 'ab' },
      { listings: [], next: 1, more: false, epoch: '../etc' },
      { listings: Array(MAX_PAGE_LISTINGS + 1).fill(one), next: 1001, more: false, epoch: 'ab' },
    ]) {
      const peer = await fakePeer(() => page)
      const { store, puller, refusals } = pullFrom(peer)
      puller.start()
      await until('two failed pages', () => puller.stats.failures >= 2)
      expect(refusals.count('peer-page-invalid')).toBe(puller.stats.failures)
      expect(store.count()).toBe(0)
      await puller.stop()
    }
  })

  it('polls an honest peer once caught up: one request a poll, nothing stored twice', async () => {
    const all = signed(30)
    const peer = await honestPeer(all)
    const { store, puller } = pullFrom(peer, { pageSize: 10 })
    puller.start()
    await until('caught up and polled twice', () => peer.requests() >= 6)
    expect(store.count()).toBe(30)
    expect(puller.stats).toMatchObject({ received: 30, stored: 30, failures: 0 })
  })
})

describe('PeerPuller commits', () => {
  it('commits the pages it holds when stopped mid-pass, and resumes after them', async () => {
    const all = signed(300)
    const asked: number[] = []
    const peer = await fakePeer((after, limit) => {
      asked.push(after)
      const listings = all.slice(after, after + limit)
      const next = after + listings.length
      return { listings, next, more: next < all.length, epoch: 'ab' }
    })
    const { store, puller } = pullFrom(peer, { pageSize: 10 })
    puller.start()
    await until('a few pages pulled', () => puller.stats.pages >= 3)
    await puller.stop()
    // Far under the commit size: held until the stop, then committed with their cursor.
    const cursor = store.peerCursor(peer.url)!.cursor
    expect(cursor).toBe(puller.stats.pages * 10)
    expect(store.count()).toBe(cursor)
    expect(puller.stats.stored).toBe(cursor)
    // Started again, it asks from there and stores the rest.
    asked.length = 0
    const pool = new VerifyPool(0, createFastVerifier())
    const deps = { store, pool, log, refusals: quietRefusals(), transport: directTransport }
    const again = new PeerPuller(peer.url, deps, { pageSize: 10, pollIntervalMs: 50 })
    cleanup.push(() => pool.close())
    cleanup.push(() => again.stop())
    again.start()
    await until('the rest pulled', () => store.count() === all.length)
    expect(asked[0]).toBe(cursor)
    expect(again.stats.stored).toBe(all.length - cursor)
  })
})

describe('PeerPuller budgets', () => {
  it('pulls no more listings a minute from one peer than its budget, and skips none', async () => {
    const all = signed(2000)
    const peer = await honestPeer(all)
    const { store, puller, refusals } = pullFrom(peer, { pageSize: 100, listingsPerMinute: 600 })
    const startedAt = Date.now()
    puller.start()
    await until('the budget to bite', () => puller.stats.throttled >= 1)
    await sleep(1000)
    // A minute's burst of 600, what the elapsed time earned back (10 a second), and the one
    // page of 100 that may go into debt; unbudgeted, all 2,000 were in within a second.
    const earned = Math.ceil(((Date.now() - startedAt) / 60_000) * 600)
    expect(store.count()).toBeGreaterThanOrEqual(600)
    expect(store.count()).toBeLessThanOrEqual(600 + earned + 100)
    expect(store.count()).toBeLessThan(all.length)
    expect(refusals.count('publish-rate')).toBe(puller.stats.throttled)
    // Nothing was skipped: what is stored is the first listings, in order.
    const cursor = store.peerCursor(peer.url)!.cursor
    expect(cursor).toBe(store.count())
    const last = all[cursor - 1]
    expect(store.get(last.publisher, last.infoHash)).toEqual(last)
  })

  it('pulls no more bytes a minute from one peer than its budget', async () => {
    const all = signed(300)
    const peer = await honestPeer(all)
    const oneListing = Buffer.byteLength(JSON.stringify(all[0]))
    const { store, puller } = pullFrom(peer, { pageSize: 10, bytesPerMinute: oneListing * 25 })
    puller.start()
    await until('the byte budget used', () => puller.stats.throttled >= 1)
    await sleep(500)
    // 25 listings' worth a minute: three pages of 10 (the third into debt), then a wait.
    expect(store.count()).toBeGreaterThanOrEqual(20)
    expect(store.count()).toBeLessThanOrEqual(40)
  })
})
