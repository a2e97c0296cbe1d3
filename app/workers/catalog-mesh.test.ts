// The catalog worker's side of the browser mesh, in Node (storage in memory with db.ts's own
// numbering): pages of stored listings after a neighbour's cursor, listings a neighbour sent,
// and publishing while no relay can be reached.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createIdentity } from '../../shared/identity.ts'
import { createListing, type Listing } from '../../shared/listing.ts'
import { MAX_PAGE_RECORD_BYTES } from '../../shared/mesh/messages.ts'
import { listingKey } from '../catalog/db.ts'
import { RelayError, type fetchRelayJson } from '../catalog/relay-client.ts'
import { sampleDraft } from '../../relay/catalog/test-support.ts'
import { memoryCatalogStorage, replicaWorker, unreachable } from './catalog-test-support.ts'

const NOW = 1_764_115_200_000
const author = createIdentity()
const other = createIdentity()

function listing(i: number, seq = 1, by = author): Listing {
  return createListing(sampleDraft(i), by, { seq, ts: NOW / 1000 })
}

const worker = (fetchJson = unreachable) =>
  replicaWorker(fetchJson, memoryCatalogStorage(), () => NOW)

/** Every page after `cursor`, to the end. */
async function pullAll(w: ReturnType<typeof worker>, cursor: number, limit: number) {
  const records: string[] = []
  for (let guard = 0; guard < 1000; guard++) {
    const p = await w.page(cursor, limit)
    records.push(...p.records)
    expect(p.next).toBeGreaterThanOrEqual(cursor)
    cursor = p.next
    if (!p.more) return { records, cursor }
  }
  throw new Error('pages never ended')
}

// Signed once: signing is the slow part of each property run.
const POOL = Array.from({ length: 6 }, (_, i) =>
  Array.from({ length: 4 }, (_, s) => listing(i + 1, s + 1)),
)

describe('mesh pages of stored listings', () => {
  it('pages after a cursor hold each listing stored or replaced after it once, none lost, even with stores between pages', async () => {
    const op = fc.oneof(
      fc.record({ store: fc.array(fc.tuple(fc.nat(5), fc.nat(3)), { maxLength: 4 }) }),
      fc.record({ pull: fc.integer({ min: 1, max: 5 }) }),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(5), fc.nat(3)), { maxLength: 6 }),
        fc.array(op, { maxLength: 12 }),
        async (before, ops) => {
          const w = worker()
          const put = (batch: [number, number][]) =>
            w.storage.put(
              batch.map(([i, s]) => POOL[i][s]),
              NOW,
            )
          await put(before)
          const start = (await w.page(0, 64)).next
          const storedAfter = new Set<string>()
          const received: string[] = []
          let cursor = start
          for (const o of ops) {
            if ('store' in o) {
              // A store racing a page request.
              const [fresh, p] = await Promise.all([put(o.store), w.page(cursor, 3)])
              for (const l of fresh) storedAfter.add(`${listingKey(l)}@${l.seq}`)
              received.push(...p.records)
              cursor = p.next
            } else {
              const p = await w.page(cursor, o.pull)
              received.push(...p.records)
              cursor = p.next
            }
          }
          received.push(...(await pullAll(w, cursor, 4)).records)
          const got = received.map((r) => {
            const l = JSON.parse(r) as Listing
            return `${listingKey(l)}@${l.seq}`
          })
          // Never one version twice, never one stored before the cursor.
          expect(new Set(got).size).toBe(got.length)
          for (const g of got) expect(storedAfter.has(g)).toBe(true)
          // Every key's newest version stored after the cursor arrived.
          for (const row of w.storage.listings.values()) {
            const v = `${row.key}@${row.listing.seq}`
            if (storedAfter.has(v)) expect(got).toContain(v)
          }
        },
      ),
      { numRuns: 60 },
    )
  })

  it('skips a stored listing too large for a page, and moves past it', async () => {
    // Larger than any listing a relay stores: only a store written by older code holds one.
    const big = {
      ...createListing(sampleDraft(50), author, { seq: 1, ts: NOW / 1000 }),
      description: 'd'.repeat(MAX_PAGE_RECORD_BYTES),
    }
    expect(JSON.stringify(big).length).toBeGreaterThan(MAX_PAGE_RECORD_BYTES)
    const w = worker()
    await w.storage.put([listing(1), big, listing(2)], NOW)
    const all = await pullAll(w, 0, 2)
    expect(all.records.map((r) => (JSON.parse(r) as Listing).infoHash)).toEqual([
      listing(1).infoHash,
      listing(2).infoHash,
    ])
    expect(all.cursor).toBe(3)
  })

  it('answers a hostile limit or cursor with a bounded page', async () => {
    const w = worker()
    await w.storage.put(
      Array.from({ length: 70 }, (_, i) => listing(i + 1)),
      NOW,
    )
    expect((await w.page(0, 1e9)).records).toHaveLength(64)
    expect(await w.page(0, 0)).toMatchObject({ records: [], next: 0, more: true })
    expect(await w.page(-5, 2)).toMatchObject({ next: 2 })
    expect(await w.page(Number.NaN, 1)).toMatchObject({ next: 1 })
    expect(await w.page(1e15, 10)).toMatchObject({ records: [], next: 1e15, more: false })
  })
})

describe('listings a neighbour sent', () => {
  it('stores what verifies, refuses forged, malformed and oversized records, ignores a lower seq', async () => {
    const w = worker()
    await w.storage.put([listing(9, 3)], NOW)
    const forged = { ...listing(2), name: 'Changed after signing' }
    const wrongKey = { ...listing(3), publisher: other.id }
    const records = [
      JSON.stringify(listing(1)),
      JSON.stringify(listing(5, 2, other)),
      JSON.stringify(forged),
      JSON.stringify(wrongKey),
      '{"not": "a listing"}',
      'not json {',
      'x'.repeat(MAX_PAGE_RECORD_BYTES + 1),
      JSON.stringify(listing(9, 2)),
      JSON.stringify(createListing(sampleDraft(4), author, { seq: 1, ts: NOW / 1000 + 86_400 })),
    ]
    expect(await w.accept(records)).toEqual({ stored: 2, refused: 6 })
    expect([...w.storage.listings.keys()].sort()).toEqual(
      [listingKey(listing(9)), listingKey(listing(1)), listingKey(listing(5, 2, other))].sort(),
    )
    expect(w.storage.listings.get(listingKey(listing(9)))?.listing.seq).toBe(3)
    // The index holds what was stored before (loaded on the first write) and the two new.
    expect(w.posted.filter((m) => m.type === 'changed').at(-1)).toEqual({
      type: 'changed',
      count: 3,
    })
  })

  it('refuses the records past a page of them, unread', async () => {
    const w = worker()
    const records = Array.from({ length: 100 }, () => 'junk')
    expect(await w.accept(records)).toEqual({ stored: 0, refused: 100 })
  })

  it('passes on what it stored: a second browser pulls the first one’s pages and ends with the same listings', async () => {
    const a = worker()
    const b = worker()
    const mine = Array.from({ length: 20 }, (_, i) => listing(i + 1))
    expect(await a.accept(mine.map((l) => JSON.stringify(l)))).toEqual({ stored: 20, refused: 0 })
    const { records } = await pullAll(a, 0, 7)
    expect(await b.accept(records)).toEqual({ stored: 20, refused: 0 })
    expect([...b.storage.listings.keys()].sort()).toEqual([...a.storage.listings.keys()].sort())
  })
})

describe('publishing', () => {
  const draft = { ...sampleDraft(3), name: 'Mine' }

  it('with every relay down stores the listing here first, says so, and posts it at the next pass', async () => {
    let up = false
    const posts: string[] = []
    const fetchJson: typeof fetchRelayJson = async (url, init) => {
      if (!up) return unreachable(url)
      if (init?.method === 'POST') posts.push(url)
      return new URL(url).pathname === '/v1/relays' ? { relays: [] } : { listings: [], next: 0 }
    }
    const w = worker(fetchJson)
    const reply = await w.ask({ type: 'publish', draft, relay: 'http://relay-a.test' })
    expect(reply).toMatchObject({ type: 'published', relayReached: false })
    expect(w.storage.listings.size).toBe(1)
    expect(w.posted).toContainEqual({ type: 'changed', count: 1 })
    // A neighbour pulls it before any relay has it.
    const page = await w.page(0, 10)
    expect(page.records.map((r) => (JSON.parse(r) as Listing).name)).toEqual(['Mine'])
    // The relay is back: the next sync pass posts it.
    up = true
    await w.replica.receive({ type: 'start', relays: ['http://relay-a.test'] })
    await expect.poll(() => posts).toEqual(['http://relay-a.test/v1/listings'])
    w.replica.stop()
  })

  it('a refusal undoes the store: nothing is listed here', async () => {
    const refusing: typeof fetchRelayJson = async () => {
      throw new RelayError('too many listings', 429)
    }
    const w = worker(refusing)
    const reply = await w.ask({ type: 'publish', draft, relay: 'http://relay-a.test' })
    expect(reply).toMatchObject({ type: 'failed', error: expect.stringMatching(/HTTP 429/) })
    expect(w.storage.listings.size).toBe(0)
    expect(w.posted.filter((m) => m.type === 'changed').at(-1)).toEqual({
      type: 'changed',
      count: 0,
    })
  })

  it('a refusal of a new version puts the earlier one back, numbered anew for neighbours', async () => {
    let refuse = false
    const fetchJson: typeof fetchRelayJson = async (url) => {
      if (refuse) throw new RelayError('too many listings', 429)
      return unreachable(url)
    }
    const w = worker(fetchJson)
    await w.ask({ type: 'publish', draft, relay: 'http://relay-a.test' })
    const first = [...w.storage.listings.values()][0]
    refuse = true
    const reply = await w.ask({
      type: 'publish',
      draft: { ...draft, name: 'Renamed' },
      relay: 'http://relay-a.test',
    })
    expect(reply.type).toBe('failed')
    const now = [...w.storage.listings.values()]
    expect(now.map((r) => r.listing)).toEqual([first.listing])
    expect(now[0].cursor).toBeGreaterThan(first.cursor)
  })
})
