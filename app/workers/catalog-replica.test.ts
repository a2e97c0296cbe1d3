// The catalog worker's logic in Node: storage in memory, relays as fakes serving really
// signed listings, the page's messages in and out.

import { afterEach, describe, expect, it, vi } from 'vitest'
import { createIdentity } from '../../shared/identity.ts'
import { createListing, type Listing } from '../../shared/listing.ts'
import type { FromWorker, RelaySyncProgress } from '../catalog/protocol.ts'
import { RelayError } from '../catalog/relay-client.ts'
import { sampleDraft } from '../../relay/catalog/test-support.ts'
import { fakeLocks, memoryCatalogStorage } from './catalog-test-support.ts'
import { CatalogReplica, failureText } from './catalog-replica.ts'

const NOW = 1_764_115_200_000
const author = createIdentity()

function listing(i: number, seq = 1): Listing {
  return createListing(sampleDraft(i), author, { seq, ts: NOW / 1000 })
}

/** A relay whose catalog is `rows` (cursor i + 1 for row i), paged as the relay does. */
function fakeRelay(origin: string, rows: unknown[], pageSize = 10) {
  const relay = {
    origin,
    rows,
    epoch: 'e1',
    requests: [] as string[],
    /** Replaces the answer to a page request (garbage, failures, lies). */
    page: null as ((after: number) => unknown) | null,
    answer(url: string, init: RequestInit = {}): unknown {
      const { pathname, searchParams } = new URL(url)
      relay.requests.push(`${init.method ?? 'GET'} ${pathname}${new URL(url).search}`)
      if (pathname === '/v1/relays') return { relays: [] }
      if (pathname === '/v1/listings' && init.method === 'POST') return { ok: true }
      if (pathname === '/v1/listings') {
        const after = Number(searchParams.get('after'))
        if (relay.page) return relay.page(after)
        const listings = relay.rows.slice(after, after + pageSize)
        const next = after + listings.length
        const more = next < relay.rows.length
        return { listings, next, more, latest: relay.rows.length, epoch: relay.epoch }
      }
      if (pathname.startsWith('/v1/listings/')) {
        const hash = pathname.slice('/v1/listings/'.length)
        return {
          listings: relay.rows.filter((r) => (r as Listing).infoHash === hash),
          stats: { seeds: 3, leechers: 1, downloads: 9 },
        }
      }
      throw new RelayError(`HTTP 404`, 404)
    },
  }
  return relay
}

function setup(relays: ReturnType<typeof fakeRelay>[], storage = memoryCatalogStorage()) {
  const posted: FromWorker[] = []
  const fetchJson = vi.fn(async (url: string, init?: RequestInit) => {
    const relay = relays.find((r) => url.startsWith(r.origin))
    if (!relay) throw new RelayError(`cannot reach ${new URL(url).host}`)
    await Promise.resolve()
    return relay.answer(url, init)
  })
  const replica = new CatalogReplica({
    storage: Promise.resolve(storage.storage),
    fetchJson,
    post: (m) => posted.push(m),
    now: () => NOW,
  })
  replicas.push(replica)
  /** The last progress the page was told of, for one relay. */
  const progress = (origin: string): RelaySyncProgress | undefined =>
    posted
      .filter((m) => m.type === 'progress')
      .at(-1)
      ?.relays.find((r) => r.relay === origin)
  const settled = (origin: string) =>
    vi.waitFor(() => expect(progress(origin)?.state).toMatch(/idle|error/), { timeout: 10_000 })
  return { replica, posted, storage, progress, settled }
}

const replicas: CatalogReplica[] = []
afterEach(() => {
  for (const r of replicas.splice(0)) r.stop()
})

const A = 'http://relay-a.test'

/** The replica's answer to a search for `text`, as the page gets it. */
async function searched(s: ReturnType<typeof setup>, text: string) {
  await s.replica.receive({
    type: 'search',
    id: 7,
    query: { text, sort: 'added', descending: false, offset: 0, limit: 100 },
  })
  const result = s.posted.findLast((m) => m.type === 'result')
  return result?.type === 'result' ? result : undefined
}

/** A replica started with relay A, once its first pass from A ended. */
async function syncedFrom(relay: ReturnType<typeof fakeRelay>, storage = memoryCatalogStorage()) {
  const s = setup([relay], storage)
  await s.replica.receive({ type: 'start', relays: [A] })
  await s.settled(A)
  return s
}

describe('CatalogReplica: two tabs on one database', () => {
  it('stores a listing both tabs sync once: each write first indexes what the other stored', async () => {
    vi.stubGlobal('navigator', { locks: fakeLocks() })
    try {
      const relay = fakeRelay(
        A,
        Array.from({ length: 45 }, (_, i) => listing(i + 1)),
      )
      const storage = memoryCatalogStorage()
      const tabs = [setup([relay], storage), setup([relay], storage)]
      await Promise.all(tabs.map((t) => t.replica.receive({ type: 'start', relays: [A] })))
      await Promise.all(tabs.map((t) => t.settled(A)))
      expect(await storage.storage.countListings()).toBe(45)
      for (const tab of tabs) expect((await searched(tab, 'release'))?.total).toBe(45)
    } finally {
      vi.unstubAllGlobals()
    }
  })
})

describe('CatalogReplica: syncing from relays', () => {
  it('reads a relay to its end, stores and indexes what verifies, and reports progress', async () => {
    const good = Array.from({ length: 25 }, (_, i) => listing(i + 1))
    const forged = { ...listing(99), name: 'Changed after signing' }
    const relay = fakeRelay(A, [...good, forged])
    const s = await syncedFrom(relay)
    expect(s.progress(A)).toMatchObject({ state: 'idle', fetched: 26, fraction: 1, error: null })
    expect(s.storage.listings.size).toBe(25)
    expect(s.storage.sync.get(A)).toMatchObject({ cursor: 26, epoch: 'e1' })
    const query = {
      text: 'release 7',
      sort: 'name',
      descending: false,
      offset: 0,
      limit: 10,
    } as const
    await s.replica.receive({ type: 'search', id: 1, query })
    const result = s.posted.find((m) => m.type === 'result')
    expect(result?.type === 'result' && result.rows.map((r) => r.name)).toContain(
      'Sample release 7 (0)',
    )
  })

  it('a relay failing midway keeps what came, and the next pass resumes from there', async () => {
    const relay = fakeRelay(
      A,
      Array.from({ length: 30 }, (_, i) => listing(i + 1)),
    )
    const serve = relay.answer
    let down = true
    relay.answer = (url, init) => {
      if (down && url.includes('after=20')) throw new RelayError('cannot reach relay-a.test')
      return serve(url, init)
    }
    const s = await syncedFrom(relay)
    expect(s.progress(A)).toMatchObject({ state: 'error', error: 'cannot reach relay-a.test' })
    expect(s.storage.listings.size).toBe(20)
    down = false
    relay.requests.length = 0
    await s.replica.receive({ type: 'sync' })
    await vi.waitFor(() => expect(s.progress(A)?.state).toBe('idle'), { timeout: 10_000 })
    expect(s.storage.listings.size).toBe(30)
    expect(relay.requests.filter((r) => r.startsWith('GET /v1/listings?'))).toEqual([
      'GET /v1/listings?after=20&limit=1000',
    ])
  })

  it('shows a failure as the relay state, with the message, and notes it in storage', async () => {
    const relay = fakeRelay(
      A,
      Array.from({ length: 15 }, (_, i) => listing(i + 1)),
    )
    let calls = 0
    relay.page = (after) => {
      if (calls++ === 1) throw new RelayError('relay-a.test did not answer within 15 s')
      return {
        listings: relay.rows.slice(after, after + 10),
        next: after + 10,
        more: true,
        epoch: 'e1',
      }
    }
    const s = await syncedFrom(relay)
    expect(s.progress(A)).toMatchObject({
      state: 'error',
      error: 'relay-a.test did not answer within 15 s',
    })
    expect(s.storage.sync.get(A)).toMatchObject({
      cursor: 10,
      lastError: 'relay-a.test did not answer within 15 s',
    })
  })

  it('garbage for a page is an error, and stores nothing', async () => {
    const relay = fakeRelay(A, [])
    relay.page = () => ({ listings: 'not a list', next: -1 })
    const s = await syncedFrom(relay)
    expect(s.progress(A)).toMatchObject({
      state: 'error',
      error: 'the relay sent a malformed page',
    })
    expect(s.storage.listings.size).toBe(0)
  })

  it('a relay that says more without moving its cursor ends the pass after one request', async () => {
    const relay = fakeRelay(A, [listing(1)])
    relay.page = (after) => ({ listings: [listing(1)], next: after, more: true, epoch: 'e1' })
    const s = await syncedFrom(relay)
    expect(s.progress(A)?.state).toBe('idle')
    expect(relay.requests.filter((r) => r.startsWith('GET /v1/listings?'))).toHaveLength(1)
  })

  it('reads a relay from the start again when its store was replaced (a new epoch)', async () => {
    const storage = memoryCatalogStorage()
    storage.sync.set(A, { relay: A, cursor: 500, epoch: 'old', lastSyncAt: 1, lastError: null })
    const relay = fakeRelay(
      A,
      Array.from({ length: 12 }, (_, i) => listing(i + 1)),
    )
    const s = await syncedFrom(relay, storage)
    expect(relay.requests.filter((r) => r.startsWith('GET /v1/listings?'))).toEqual([
      'GET /v1/listings?after=500&limit=1000',
      'GET /v1/listings?after=0&limit=1000',
      'GET /v1/listings?after=10&limit=1000',
    ])
    expect(s.storage.listings.size).toBe(12)
    expect(storage.sync.get(A)).toMatchObject({ cursor: 12, epoch: 'e1' })
  })
})

describe('CatalogReplica: the page asking', () => {
  it('get with refresh stores only verified listings of that hash, with live figures', async () => {
    const wanted = listing(5)
    const relay = fakeRelay(A, [wanted, listing(6), { ...listing(5, 2), sig: '00'.repeat(64) }])
    relay.page = () => ({ listings: [], next: 0, more: false })
    const s = setup([relay])
    await s.replica.receive({ type: 'start', relays: [A] })
    await s.replica.receive({ type: 'get', id: 7, infoHash: wanted.infoHash, refresh: true })
    const answer = s.posted.find((m) => m.type === 'listings')
    expect(answer).toMatchObject({
      id: 7,
      rows: [{ listing: wanted, figures: { seeds: 3, leechers: 1, downloads: 9 } }],
    })
  })

  it('a refused publish fails with the relay and its reason, and stores nothing', async () => {
    const relay = fakeRelay(A, [])
    relay.page = () => ({ listings: [], next: 0, more: false })
    const answer = relay.answer
    relay.answer = (url, init) => {
      if (init?.method === 'POST') throw new RelayError('too many listings', 429, 30)
      return answer(url, init)
    }
    const s = setup([relay])
    const draft = { ...listing(3), name: 'Mine' }
    await s.replica.receive({ type: 'publish', id: 4, draft, relay: A })
    expect(s.posted.at(-1)).toEqual({
      type: 'failed',
      id: 4,
      error: 'relay-a.test refused the listing (HTTP 429): too many listings. Try again in 30 s.',
    })
    expect(s.storage.listings.size).toBe(0)
  })

  it('names a full disk in words a person can act on', () => {
    expect(failureText(new DOMException('full', 'QuotaExceededError'))).toMatch(/no storage space/)
    expect(failureText(new Error('boom'))).toBe('boom')
    expect(failureText('odd')).toBe('odd')
  })
})

describe('CatalogReplica: starting again', () => {
  it('starts from the saved index, with what was synced after it, as a rebuild would', async () => {
    const relay = fakeRelay(
      A,
      Array.from({ length: 12 }, (_, i) => listing(i + 1)),
    )
    const first = await syncedFrom(relay)
    await vi.waitFor(async () => expect(await first.storage.storage.indexSnapshot()).toBeDefined())
    first.replica.stop()
    relay.rows.push(listing(40), listing(3, 2))
    // Stored after the snapshot: the next start must index these from the cursor on.
    await first.storage.put([listing(40), listing(3, 2)], NOW)
    const search = async (s: ReturnType<typeof setup>) =>
      (await searched(s, 'sample'))?.rows.map((r) => r.key).sort()
    const rebuildAll = vi.spyOn(first.storage.storage, 'allListings')
    const again = setup([], first.storage)
    await again.replica.receive({ type: 'start', relays: [] })
    expect(rebuildAll).not.toHaveBeenCalled()
    // Ready once the snapshot's head answers (what it held when saved), then changed once
    // what came after it is in.
    const counts = again.posted.filter((m) => m.type === 'ready' || m.type === 'changed')
    expect(counts.map((m) => m.type)).toEqual(['ready', 'changed'])
    expect(counts[1]).toMatchObject({ count: 13 })
    const fresh = memoryCatalogStorage()
    await fresh.put(
      [...first.storage.listings.values()].map((s) => s.listing),
      NOW,
    )
    const rebuilt = setup([], fresh)
    await rebuilt.replica.receive({ type: 'start', relays: [] })
    expect(await search(again)).toEqual(await search(rebuilt))
  })
})

describe('CatalogReplica: loading before the page says start', () => {
  it('loads the stored index once, ready before start, and start then syncs', async () => {
    const storage = memoryCatalogStorage()
    await storage.put([listing(1), listing(2)], NOW)
    const snapshots = vi.spyOn(storage.storage, 'indexSnapshot')
    const s = setup([fakeRelay(A, [listing(1), listing(2), listing(3)])], storage)
    s.replica.preload()
    await vi.waitFor(() => expect(s.posted).toContainEqual({ type: 'ready', count: 2 }))
    await s.replica.receive({ type: 'start', relays: [A] })
    expect(snapshots).toHaveBeenCalledTimes(1)
    await vi.waitFor(async () => expect((await searched(s, ''))?.total).toBe(3))
  })
})

describe('CatalogReplica: a start from a saved index', () => {
  it("answers the page's first search from the head, and only then reads the tables", async () => {
    const first = await syncedFrom(fakeRelay(A, [listing(1), listing(2)]))
    await first.replica.receive({ type: 'save', id: 1 })
    first.replica.stop()
    const read = first.storage.storage.indexSnapshot
    const tables = vi.fn()
    first.storage.storage.indexSnapshot = async () => {
      const saved = (await read())!
      return { ...saved, tables: () => (tables(), saved.tables()) }
    }
    const again = setup([], first.storage)
    again.replica.preload()
    await vi.waitFor(() => expect(again.posted.some((m) => m.type === 'ready')).toBe(true))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(tables).not.toHaveBeenCalled()
    expect((await searched(again, ''))?.total).toBe(2)
    await vi.waitFor(() => expect(tables).toHaveBeenCalledTimes(1))
    await again.replica.receive({ type: 'start', relays: [] })
    expect(again.posted.at(-1)).toMatchObject({ type: 'progress', count: 2 })
  })
})

describe('CatalogReplica: saving the index when asked', () => {
  it('answers save once the index as it stands is stored, the interval not waited for', async () => {
    const relay = fakeRelay(
      A,
      Array.from({ length: 5 }, (_, i) => listing(i + 1)),
    )
    const s = await syncedFrom(relay)
    await vi.waitFor(async () => expect(await s.storage.storage.indexSnapshot()).toBeDefined())
    // Stored and indexed within the interval since that save: only `save` writes it now.
    await s.replica.receive({ type: 'publish', id: 1, draft: sampleDraft(9), relay: A })
    await s.replica.receive({ type: 'save', id: 2 })
    expect(s.posted.at(-1)).toEqual({ type: 'saved', id: 2 })
    const saved = await s.storage.storage.indexSnapshot()
    expect(saved?.cursor).toBe(6)
  })
})

describe('CatalogReplica: listings stored a page at a time', () => {
  const searchAll = async (s: ReturnType<typeof setup>) => (await searched(s, ''))?.total
  const details = async (s: ReturnType<typeof setup>, infoHash: string) => {
    await s.replica.receive({ type: 'get', id: 71, infoHash, refresh: false })
    const reply = s.posted.findLast((m) => m.type === 'listings')
    return reply?.type === 'listings' ? reply.rows.map((r) => r.listing.seq) : null
  }

  it('a later page replaces a listing of an earlier one: it never comes back, after a restart either', async () => {
    const rows = [...Array.from({ length: 10 }, (_, i) => listing(i + 1)), listing(3, 2)]
    const s = await syncedFrom(fakeRelay(A, rows))
    expect(s.storage.pages.length).toBe(2)
    expect(s.storage.listings.size).toBe(10)
    expect(await searchAll(s)).toBe(10)
    expect(await details(s, listing(3).infoHash)).toEqual([2])
    const served = await s.storage.storage.listingsAfter(0, 100)
    expect(served.filter((r) => r.listing.infoHash === listing(3).infoHash)).toHaveLength(1)
    s.replica.stop()
    // A start without the snapshot rebuilds from the pages alone.
    s.storage.storage.indexSnapshot = async () => undefined
    const again = setup([], s.storage)
    await again.replica.receive({ type: 'start', relays: [] })
    expect(await searchAll(again)).toBe(10)
    expect(await details(again, listing(3).infoHash)).toEqual([2])
  })

  it('a listing offered again with the same or a lower seq stores nothing', async () => {
    const s = await syncedFrom(fakeRelay(A, [listing(1, 2), listing(1, 2), listing(1, 1)]))
    expect(s.storage.pages.map((p) => p.listings.length)).toEqual([1])
    expect(await details(s, listing(1).infoHash)).toEqual([2])
  })

  it('rewrites a page once half of it is replaced, keeping its live listings', async () => {
    const first = Array.from({ length: 4 }, (_, i) => listing(i + 1))
    const s = await syncedFrom(fakeRelay(A, [...first, listing(1, 2), listing(2, 2)], 4))
    const [page] = s.storage.pages
    expect(page.listings.map((l) => l.seq)).toEqual([1, 1])
    expect(page.cursors).toEqual([3, 4])
    expect(s.storage.listings.size).toBe(4)
    expect(await searchAll(s)).toBe(4)
    expect(await details(s, listing(4).infoHash)).toEqual([1])
  })

  it('a hostile page of one key a hundred times stores it once', async () => {
    const copies = Array.from({ length: 100 }, (_, k) => listing(1, (k % 3) + 1))
    const s = await syncedFrom(fakeRelay(A, copies, 100))
    expect(s.storage.pages.map((p) => p.listings.length)).toEqual([1])
    expect(await details(s, listing(1).infoHash)).toEqual([3])
  })

  it('a refused first publish stays gone after a restart, and other listings stay', async () => {
    const s = await syncedFrom(fakeRelay(A, [listing(1)]))
    const relay = fakeRelay(A, [])
    relay.answer = () => {
      throw new RelayError('the relay refused it', 400)
    }
    const refused = setup([relay], s.storage)
    await refused.replica.receive({ type: 'start', relays: [] })
    await refused.replica.receive({
      type: 'publish',
      id: 72,
      draft: sampleDraft(50),
      relay: A,
    })
    expect(refused.posted.find((m) => m.type === 'failed')).toBeDefined()
    expect(await searchAll(refused)).toBe(1)
    const again = setup([], s.storage)
    await again.replica.receive({ type: 'start', relays: [] })
    expect(await searchAll(again)).toBe(1)
    expect(s.storage.listings.size).toBe(1)
  })
})
