// The browser catalog's IndexedDB layer (db.ts) over fake-indexeddb: the move of v1–v3
// rows into pages loses nothing, and pages, dead marks and compaction read as the store in
// memory the worker's tests use (catalog-test-support.ts), which stands as the reference.

import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { openDB } from 'idb'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Listing } from '../../shared/listing.ts'
import { memoryCatalogStorage } from '../workers/catalog-test-support.ts'
import {
  allListings,
  allSyncStates,
  countListings,
  figuresSince,
  getNodeValue,
  indexSnapshot,
  listingsAfter,
  listingsAt,
  noteSyncError,
  openCatalogDb,
  putListings,
  removeListing,
  saveIndexSnapshot,
  snapshotBasis,
  syncState,
  type CatalogDb,
  type RelaySyncState,
  type StoredListing,
  type SwarmFiguresRow,
} from './db.ts'
import {
  MAX_STORED_PAGE_LISTINGS,
  freshListings,
  listingKey,
  type CurrentListing,
} from './listing-pages.ts'

const NOW = 1_764_115_200_000
const PUBLISHER = 'ab'.repeat(32)
const ALL = Number.MAX_SAFE_INTEGER

/** A listing numbered `i`: db.ts checks no signature, so none is made. Info hashes are
 * hashed, so key order is not cursor order. */
function listing(i: number, seq = 1): Listing {
  return {
    v: 1,
    publisher: PUBLISHER,
    seq,
    ts: NOW / 1000,
    sig: '00'.repeat(64),
    infoHash: createHash('sha1').update(String(i)).digest('hex'),
    name: `Listing ${i}`,
    size: 1000 + i,
    files: 1,
    category: 'misc',
    description: '',
    fileList: [{ path: `f${i}`, size: 1000 + i }],
  }
}

const listings = (...ids: number[]) => ids.map((i) => listing(i))

/** Opens `name` at `version` (1–3) with the upgrade code db.ts had before pages (7061c58~1). */
function openOldDb(name: string, version: 1 | 2 | 3) {
  return openDB(name, version, {
    async upgrade(db, oldVersion, _newVersion, tx) {
      if (oldVersion < 1) {
        const listings = db.createObjectStore('listings', { keyPath: 'key' })
        listings.createIndex('infoHash', 'infoHash')
        db.createObjectStore('figures', { keyPath: 'infoHash' })
        db.createObjectStore('sync', { keyPath: 'relay' })
        db.createObjectStore('node', { keyPath: 'name' })
      }
      if (version >= 2 && oldVersion < 2) {
        const listings = tx.objectStore('listings')
        listings.createIndex('cursor', 'cursor')
        let last = 0
        for (let row = await listings.openCursor(); row; row = await row.continue()) {
          await row.update({ ...row.value, cursor: ++last })
        }
        await tx.objectStore('node').put({ name: 'listingCursor', value: last })
      }
      if (version >= 3 && oldVersion < 3) {
        tx.objectStore('figures').createIndex('at', 'at')
        db.createObjectStore('index', { keyPath: 'name' })
      }
    },
  })
}

/** A v3 row, as v3's putListings wrote it. */
function v3Row(i: number, cursor: number): StoredListing {
  const l = listing(i)
  return { key: listingKey(l), infoHash: l.infoHash, listing: l, storedAt: NOW + i, cursor }
}

const withoutStoredAt = (rows: StoredListing[]) =>
  rows.map(({ key, infoHash, listing, cursor }) => ({ key, infoHash, listing, cursor }))

async function everyListing(db: CatalogDb, pageSize?: number): Promise<StoredListing[]> {
  const rows: StoredListing[] = []
  for await (const page of allListings(db, pageSize)) rows.push(...page)
  return rows
}

let db: CatalogDb
const dbName = 'catalog'

beforeEach(() => {
  // A database of its own per test: a new factory, so no test sees another's.
  globalThis.indexedDB = new IDBFactory()
})

afterEach(() => db?.close())

describe('upgrade to pages (v4)', () => {
  const figures: SwarmFiguresRow[] = [
    { infoHash: listing(1).infoHash, seeds: 3, leechers: 1, downloads: 9, at: NOW - 5000 },
    { infoHash: listing(2).infoHash, seeds: 0, leechers: 0, downloads: 1, at: NOW },
  ]
  const syncs: RelaySyncState[] = [
    { relay: 'https://a.example', cursor: 812, epoch: 'e1', lastSyncAt: NOW, lastError: null },
    { relay: 'https://b.example', cursor: 3, lastSyncAt: NOW - 1, lastError: 'HTTP 503' },
  ]

  it('moves every v3 row into pages, keeping cursors, counters, figures and sync state', async () => {
    // Gapped cursors, as v3 left them: a replaced listing's row took a new cursor.
    const count = 2500
    const rows = Array.from({ length: count }, (_, i) => v3Row(i, 1 + i * 3 + (i % 3)))
    const lastCursor = rows.at(-1)!.cursor + 5 // a listing removed after the last stored
    const old = await openOldDb(dbName, 3)
    const tx = old.transaction(['listings', 'figures', 'sync', 'node', 'index'], 'readwrite')
    for (const row of rows) void tx.objectStore('listings').put(row)
    for (const row of figures) void tx.objectStore('figures').put(row)
    for (const row of syncs) void tx.objectStore('sync').put(row)
    void tx.objectStore('node').put({ name: 'listingCursor', value: lastCursor })
    void tx.objectStore('node').put({ name: 'listingDeletions', value: 3 })
    void tx.objectStore('node').put({ name: 'identity', value: { secret: 'kept' } })
    const bytes = new Blob([new Uint8Array([1, 2, 3])])
    void tx
      .objectStore('index')
      .put({ name: 'search', cursor: lastCursor, deletions: 3, figuresAt: NOW, bytes })
    await tx.done
    old.close()

    db = await openCatalogDb(dbName)
    expect([...db.objectStoreNames].sort()).toEqual(
      ['dead', 'figures', 'index', 'node', 'pages', 'sync'].sort(),
    )
    expect(await countListings(db)).toBe(count)
    expect(withoutStoredAt(await everyListing(db, 999))).toEqual(withoutStoredAt(rows))
    const M = MAX_STORED_PAGE_LISTINGS
    const sizes = Array.from({ length: Math.ceil(count / M) }, (_, i) => Math.min(M, count - i * M))
    expect((await db.getAll('pages')).map((p) => p.listings.length)).toEqual(sizes)
    expect(await listingsAfter(db, rows[1234].cursor, 3)).toMatchObject(
      withoutStoredAt(rows.slice(1235, 1238)),
    )
    // From inside a gap: the next listing after it.
    expect((await listingsAfter(db, rows[99].cursor + 1, 1))[0].cursor).toBe(rows[100].cursor)
    const wanted = [rows[0].cursor, rows[1000].cursor, rows[1000].cursor + 1, rows.at(-1)!.cursor]
    expect(withoutStoredAt(await listingsAt(db, wanted))).toEqual(
      withoutStoredAt([rows[0], rows[1000], rows.at(-1)!]),
    )
    // The snapshot's layout is gone with v3; what it was built from stays.
    expect(await indexSnapshot(db)).toBeUndefined()
    expect(await snapshotBasis(db)).toEqual({ cursor: lastCursor, deletions: 3 })
    expect(await getNodeValue(db, 'identity')).toEqual({ secret: 'kept' })
    expect(await figuresSince(db, 0)).toEqual(figures)
    expect(await figuresSince(db, NOW)).toEqual([figures[1]])
    expect(await allSyncStates(db)).toEqual(syncs)

    const [next] = await putListings(db, [listing(count)], NOW)
    expect(next.cursor).toBe(lastCursor + 1)
    expect(await countListings(db)).toBe(count + 1)
  })

  it('numbers v1 rows (from before cursors) and moves them into pages', async () => {
    const old = await openOldDb(dbName, 1)
    const rows = [3, 1, 2].map((i) => v3Row(i, 0))
    const tx = old.transaction('listings', 'readwrite')
    for (const { cursor: _none, ...row } of rows) void tx.store.put(row)
    await tx.done
    old.close()

    db = await openCatalogDb(dbName)
    const keyOrder = rows.map((r) => r.key).sort()
    const stored = await everyListing(db)
    expect(stored.map((r) => [r.key, r.cursor])).toEqual(keyOrder.map((key, i) => [key, i + 1]))
    expect(await snapshotBasis(db)).toEqual({ cursor: 3, deletions: 0 })
    expect(await countListings(db)).toBe(3)
  })

  it('an empty v3 database, or none, opens empty and numbers from where it was', async () => {
    const old = await openOldDb(dbName, 3)
    await old.put('node', { name: 'listingCursor', value: 41 })
    old.close()
    db = await openCatalogDb(dbName)
    expect(await countListings(db)).toBe(0)
    expect(await everyListing(db)).toEqual([])
    expect((await putListings(db, [listing(1)], NOW))[0].cursor).toBe(42)
    db.close()

    db = await openCatalogDb('never-opened')
    expect(await snapshotBasis(db)).toEqual({ cursor: 0, deletions: 0 })
    expect((await putListings(db, [listing(1)], NOW))[0].cursor).toBe(1)
  })

  it('gives way to a newer version opened elsewhere (another tab)', async () => {
    db = await openCatalogDb(dbName)
    const newer = await openDB(dbName, 5)
    expect(newer.version).toBe(5)
    newer.close()
  })
})

describe('putListings', () => {
  beforeEach(async () => {
    db = await openCatalogDb(dbName)
  })

  it('stores a page numbered on, the relay cursor moved with it', async () => {
    await noteSyncError(db, 'https://a.example', 'timeout')
    const sync = { relay: 'https://a.example', cursor: 42, epoch: 'e1' }
    const stored = await putListings(db, listings(1, 2, 3), NOW, { sync })
    expect(stored.map((r) => [r.cursor, r.key, r.storedAt])).toEqual(
      [1, 2, 3].map((i) => [i, listingKey(listing(i)), NOW]),
    )
    expect(await syncState(db, sync.relay)).toEqual({ ...sync, lastSyncAt: NOW, lastError: null })
    const more = await putListings(db, [listing(4)], NOW + 1)
    expect(more[0].cursor).toBe(4)
    expect(await listingsAfter(db, 0, 10)).toEqual([...stored, ...more])
    expect(await countListings(db)).toBe(4)
  })

  it('an empty page moves only the relay cursor', async () => {
    await putListings(db, [listing(1)], NOW)
    expect(await putListings(db, [], NOW)).toEqual([])
    const sync = { relay: 'https://a.example', cursor: 7 }
    expect(await putListings(db, [], NOW + 1, { sync })).toEqual([])
    expect(await syncState(db, sync.relay)).toMatchObject({ cursor: 7, lastSyncAt: NOW + 1 })
    expect(await db.count('pages')).toBe(1)
    expect(await snapshotBasis(db)).toEqual({ cursor: 1, deletions: 0 })
    expect(await countListings(db)).toBe(1)
  })

  it('superseded listings are dead to every read, their page kept until half is dead', async () => {
    await putListings(db, listings(1, 2, 3, 4, 5), NOW)
    const [newer] = await putListings(db, [listing(2, 2)], NOW, { superseded: [2] })
    expect(newer.cursor).toBe(6)
    const live = [1, 3, 4, 5, 6]
    expect((await listingsAfter(db, 0, 10)).map((r) => r.cursor)).toEqual(live)
    expect((await everyListing(db)).map((r) => r.cursor)).toEqual(live)
    expect(await listingsAt(db, [2])).toEqual([])
    expect((await listingsAfter(db, 1, 1))[0].cursor).toBe(3)
    expect(await countListings(db)).toBe(5)
    expect(await db.getAllKeys('dead')).toEqual([2])
    expect((await db.get('pages', 5))!.listings).toHaveLength(5)
  })

  it('splits a page over MAX_STORED_PAGE_LISTINGS', async () => {
    const count = MAX_STORED_PAGE_LISTINGS * 2 + 1
    const stored = await putListings(
      db,
      Array.from({ length: count }, (_, i) => listing(i)),
      NOW,
    )
    expect(stored.map((r) => r.cursor)).toEqual(Array.from({ length: count }, (_, i) => i + 1))
    const M = MAX_STORED_PAGE_LISTINGS
    expect(await db.getAllKeys('pages')).toEqual([M, 2 * M, 2 * M + 1])
    expect((await listingsAfter(db, M - 1, 3)).map((r) => r.cursor)).toEqual([M, M + 1, M + 2])
    expect((await listingsAt(db, [M, M + 1, 2 * M + 1])).map((r) => r.key)).toEqual(
      [M - 1, M, 2 * M].map((i) => listingKey(listing(i))),
    )
  })

  it('compacts a page once half is dead, dropping it when all is; reads unchanged', async () => {
    await putListings(db, listings(1, 2, 3, 4), NOW)
    await putListings(db, [listing(5), listing(6)], NOW)
    await putListings(db, [listing(4, 2)], NOW, { superseded: [4] })
    expect(await db.getAllKeys('pages')).toEqual([4, 6, 7])
    // Half of the first page dead, its last among them: it is keyed by its new last.
    await putListings(db, [listing(3, 2)], NOW, { superseded: [3] })
    expect(await db.getAllKeys('pages')).toEqual([2, 6, 7, 8])
    expect(await db.get('pages', 2)).toMatchObject({ first: 1, last: 2, cursors: [1, 2] })
    expect(await db.getAllKeys('dead')).toEqual([])
    await putListings(db, [listing(5, 2), listing(6, 2)], NOW, { superseded: [5, 6] })
    expect(await db.getAllKeys('pages')).toEqual([2, 7, 8, 10])
    const live = [1, 2, 7, 8, 9, 10]
    expect((await listingsAfter(db, 0, ALL)).map((r) => r.cursor)).toEqual(live)
    expect((await listingsAt(db, [1, 2, 3, 4, 5, 6, 7])).map((r) => r.cursor)).toEqual([1, 2, 7])
    expect(await countListings(db)).toBe(live.length)
  })

  it('reads on past many small pages and the dead among them', async () => {
    for (let i = 1; i <= 12; i++) await putListings(db, [listing(i)], NOW)
    await putListings(db, [listing(5, 2)], NOW, { superseded: [5] })
    await removeListing(db, 9)
    const live = [1, 2, 3, 4, 6, 7, 8, 10, 11, 12, 13]
    expect((await listingsAfter(db, 0, ALL)).map((r) => r.cursor)).toEqual(live)
    expect((await everyListing(db, 3)).map((r) => r.cursor)).toEqual(live)
    expect((await listingsAfter(db, 4, 3)).map((r) => r.cursor)).toEqual([6, 7, 8])
  })

  it('keeps one of duplicate keys in a page, through freshListings (its contract)', async () => {
    const batch = [listing(1), listing(1, 3), listing(2), listing(1, 2), listing(1, 3)]
    const { fresh, superseded } = freshListings(batch, () => undefined)
    await putListings(db, fresh, NOW, { superseded })
    expect((await everyListing(db)).map((r) => [r.key, r.listing.seq])).toEqual([
      [listingKey(listing(1)), 3],
      [listingKey(listing(2)), 1],
    ])
  })

  it('answers nothing for cursors out of range, however large', async () => {
    await putListings(db, [listing(1)], NOW)
    expect(await listingsAfter(db, ALL, 10)).toEqual([])
    expect(await listingsAfter(db, Infinity, 10)).toEqual([])
    expect(await listingsAfter(db, 0, 0)).toEqual([])
    expect((await listingsAfter(db, -ALL, 10)).map((r) => r.cursor)).toEqual([1])
    expect(await listingsAt(db, [ALL, 0, -1, 1.5])).toEqual([])
    const sync = { relay: 'https://a.example', cursor: ALL }
    await putListings(db, [], NOW, { sync })
    expect((await syncState(db, sync.relay))!.cursor).toBe(ALL)
  })
})

describe('removeListing and the index snapshot', () => {
  const snapshot = (basis: { cursor: number; deletions: number }) => ({
    ...basis,
    figuresAt: NOW,
    bytes: new Uint8Array([7, 8, 9]),
    headBytes: 2,
  })
  /** The snapshot as a start reads it: the head, then the rest. */
  const read = async () => {
    const saved = await indexSnapshot(db)
    return saved && { ...saved, head: [...saved.head], tables: [...(await saved.tables())] }
  }

  beforeEach(async () => {
    db = await openCatalogDb(dbName)
    await putListings(db, listings(1, 2, 3), NOW)
  })

  it('marks the listing dead, counts the deletion, drops the snapshot', async () => {
    expect(await saveIndexSnapshot(db, snapshot(await snapshotBasis(db)))).toBe(true)
    expect(await read()).toEqual({
      cursor: 3,
      deletions: 0,
      figuresAt: NOW,
      head: [7, 8],
      tables: [9],
    })
    await removeListing(db, 2)
    expect(await listingsAt(db, [1, 2, 3])).toMatchObject([{ cursor: 1 }, { cursor: 3 }])
    expect(await countListings(db)).toBe(2)
    expect(await snapshotBasis(db)).toEqual({ cursor: 3, deletions: 1 })
    expect(await indexSnapshot(db)).toBeUndefined()
  })

  it('refuses a snapshot taken before a deletion, takes one taken after writes', async () => {
    const before = await snapshotBasis(db)
    await removeListing(db, 1)
    expect(await saveIndexSnapshot(db, snapshot(before))).toBe(false)
    expect(await indexSnapshot(db)).toBeUndefined()
    // Listings stored since the basis are read after its cursor at the next start.
    const basis = await snapshotBasis(db)
    await putListings(db, [listing(4)], NOW)
    expect(await saveIndexSnapshot(db, snapshot(basis))).toBe(true)
    expect((await indexSnapshot(db))!.cursor).toBe(3)
  })

  it('reads no snapshot saved without its head length (before 2026-12-07), or past its end', async () => {
    for (const headBytes of [undefined, -1, 4, 1.5]) {
      await db.put('index', {
        name: 'search',
        ...snapshot({ cursor: 3, deletions: 0 }),
        bytes: new Blob([new Uint8Array(3)]),
        headBytes,
      })
      expect(await indexSnapshot(db)).toBeUndefined()
    }
  })
})

describe('as the store in memory (catalog-test-support.ts)', () => {
  type Step = { put: [number, number][] } | { remove: number }
  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({ put: fc.array(fc.tuple(fc.nat(30), fc.nat(4)), { maxLength: 40 }) }),
    },
    { weight: 1, arbitrary: fc.record({ remove: fc.nat() }) },
  )

  it('holds the same listings and pages after any writes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 12 }), async (steps) => {
        globalThis.indexedDB = new IDBFactory()
        db = await openCatalogDb(dbName)
        const memory = memoryCatalogStorage()
        const current = new Map<string, CurrentListing>()
        let now = NOW
        for (const s of steps) {
          now += 1000
          if ('put' in s) {
            const batch = s.put.map(([i, seq]) => listing(i, seq + 1))
            const { fresh, superseded } = freshListings(batch, (key) => current.get(key))
            const options = { superseded }
            const stored = await putListings(db, fresh, now, options)
            expect(stored).toEqual(await memory.storage.putListings(fresh, now, options))
            for (const r of stored) current.set(r.key, { seq: r.listing.seq, cursor: r.cursor })
          } else if (current.size) {
            const [key, { cursor }] = [...current][s.remove % current.size]
            await removeListing(db, cursor)
            await memory.storage.removeListing(cursor)
            current.delete(key)
          }
          expect(await listingsAfter(db, 0, ALL)).toEqual(
            await memory.storage.listingsAfter(0, ALL),
          )
          expect(await db.getAll('pages')).toEqual(memory.pages)
          expect(await countListings(db)).toBe(current.size)
        }
        const cursors = [...current.values()].map((c) => c.cursor)
        expect(await listingsAt(db, cursors)).toEqual(await memory.storage.listingsAt(cursors))
        db.close()
      }),
      { numRuns: 40 },
    )
  })
})
