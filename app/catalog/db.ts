// The browser's copy of the catalog, in IndexedDB (through idb), so the index page is there
// after a reload and offline. Used from the catalog worker; the page itself never touches
// these stores directly.

import {
  openDB,
  type DBSchema,
  type IDBPDatabase,
  type IDBPTransaction,
  type StoreNames,
} from 'idb'
import type { Listing } from '../../shared/listing.ts'
import {
  MAX_STORED_PAGE_LISTINGS,
  compacted,
  dueForCompaction,
  pageRows,
  rowAt,
  rowsToPages,
  toPages,
  type StoredListing,
  type StoredPage,
} from './listing-pages.ts'

export { listingKey, type StoredListing } from './listing-pages.ts'

export interface SwarmFiguresRow {
  infoHash: string
  seeds: number
  leechers: number
  downloads: number
  /** Unix ms when a relay reported them. */
  at: number
}

export interface RelaySyncState {
  relay: string
  /** The relay's cursor we have read up to. */
  cursor: number
  /** The relay's catalog epoch the cursor belongs to: a relay whose store was replaced
   * numbers its rows afresh, and is read again from the start. */
  epoch?: string
  lastSyncAt: number
  lastError: string | null
}

/** What a saved search index (search-index.ts snapshot) covers. */
export interface SnapshotCover {
  /** Every listing with a local cursor up to this one was in the index. */
  cursor: number
  /** Listing deletions counted when `cursor` was read: a deletion since voids the snapshot. */
  deletions: number
  /** Unix ms: figures stored from this moment on may be missing from it. */
  figuresAt: number
}

/** The saved search index as a start reads it: its head first, which answers searches
 * (SearchIndex.fromSnapshotHead), then the rest when asked for. */
export interface IndexSnapshot extends SnapshotCover {
  head: Uint8Array
  /** The bytes after the head (SearchIndex.takeSnapshotTables). */
  tables: () => Promise<Uint8Array>
}

/** A snapshot to save: its bytes, or a Blob made straight from the index's parts
 * (SearchIndex.snapshotParts), which the worker never holds whole as one buffer. */
export interface IndexSnapshotToSave extends SnapshotCover {
  bytes: Uint8Array | Blob
  /** How many of them are the head (IndexParts.headBytes). */
  headBytes: number
}

/** Where a snapshot about to be taken starts from (read before taking it). */
export type SnapshotBasis = Pick<SnapshotCover, 'cursor' | 'deletions'>

interface CatalogSchema extends DBSchema {
  /** Versions 1–3: one record per listing. Version 4 moves them into `pages`. */
  listings: { key: string; value: StoredListing; indexes: { infoHash: string; cursor: number } }
  /** Version 4: the listings, a page of up to MAX_STORED_PAGE_LISTINGS a record
   * (listing-pages.ts), by the highest cursor in each. */
  pages: { key: number; value: StoredPage }
  /** Version 4: cursors of listings replaced or removed since their page was written; gone
   * once the page is compacted. */
  dead: { key: number; value: { cursor: number } }
  figures: { key: string; value: SwarmFiguresRow; indexes: { at: number } }
  /** Version 3: the search index snapshot, one row; its bytes as a Blob, which the browser
   * keeps out of the worker's heap (a million listings make ~200 MB). Rows saved before
   * 2026-12-07 have no `headBytes`, and are not read (the index is rebuilt and saved). */
  index: { key: string; value: SnapshotCover & { name: string; bytes: Blob; headBytes?: number } }
  sync: { key: string; value: RelaySyncState }
  /** This node's own state: its identity key, publish counters. */
  node: { key: string; value: { name: string; value: unknown } }
}

export type CatalogDb = IDBPDatabase<CatalogSchema>
type UpgradeTx = IDBPTransaction<
  CatalogSchema,
  ArrayLike<StoreNames<CatalogSchema>>,
  'versionchange'
>

export const CATALOG_DB_NAME = 'monsoon-catalog'
/** Version 2 numbers the listings (StoredListing.cursor); 3 keeps the search index; 4 keeps
 * the listings in pages. */
const CATALOG_DB_VERSION = 4
/** The `node` row holding the last cursor given to a listing. */
const LAST_CURSOR = 'listingCursor'
/** The `node` row counting listings deleted (a refused publish undone). */
const DELETIONS = 'listingDeletions'
/** The `node` row counting live listings (stored, neither replaced nor removed). */
const LIVE_LISTINGS = 'listingCount'
/** The `index` row holding the snapshot. */
const SNAPSHOT = 'search'
/** Pages read per request when listing what follows a cursor. */
const PAGES_PER_READ = 4
/** Pages compacted per write at most: each is a read and a rewrite of up to a relay page,
 * so a write that replaces listings scattered over many pages stays one page's work. */
const COMPACTIONS_PER_WRITE = 1

export function openCatalogDb(name = CATALOG_DB_NAME): Promise<CatalogDb> {
  return openDB<CatalogSchema>(name, CATALOG_DB_VERSION, {
    async upgrade(db, oldVersion, _newVersion, tx) {
      if (oldVersion < 1) {
        const listings = db.createObjectStore('listings', { keyPath: 'key' })
        listings.createIndex('infoHash', 'infoHash')
        db.createObjectStore('figures', { keyPath: 'infoHash' })
        db.createObjectStore('sync', { keyPath: 'relay' })
        db.createObjectStore('node', { keyPath: 'name' })
      }
      if (oldVersion < 2) {
        // Listings stored before there were cursors keep their rows and get numbered now.
        const listings = tx.objectStore('listings')
        listings.createIndex('cursor', 'cursor')
        let last = 0
        for (let row = await listings.openCursor(); row; row = await row.continue()) {
          await row.update({ ...row.value, cursor: ++last })
        }
        await tx.objectStore('node').put({ name: LAST_CURSOR, value: last })
      }
      if (oldVersion < 3) {
        // Figures by time, so a start from a snapshot reads only those stored after it.
        tx.objectStore('figures').createIndex('at', 'at')
        db.createObjectStore('index', { keyPath: 'name' })
      }
      if (oldVersion < 4) {
        db.createObjectStore('pages', { keyPath: 'last' })
        db.createObjectStore('dead', { keyPath: 'cursor' })
        await rowsIntoPages(tx)
        db.deleteObjectStore('listings')
        // Its layout has no seq or cursor per row: rebuilt from the pages at the next start.
        await tx.objectStore('index').delete(SNAPSHOT)
      }
    },
    // A newer version opened in another tab: let it upgrade rather than wait for this one.
    blocking(_current, _blocked, event) {
      ;(event.target as IDBDatabase).close()
    },
  })
}

/** Moves the one-record-per-listing rows (v1–v3) into pages, in cursor order, keeping each
 * listing's cursor, a page's worth of rows held at a time. */
async function rowsIntoPages(tx: UpgradeTx): Promise<void> {
  const pages = tx.objectStore('pages')
  let held: StoredListing[] = []
  let live = 0
  const flush = async () => {
    for (const page of rowsToPages(held)) await pages.put(page)
    live += held.length
    held = []
  }
  const byCursor = tx.objectStore('listings').index('cursor')
  for (let row = await byCursor.openCursor(); row; row = await row.continue()) {
    held.push(row.value)
    if (held.length >= MAX_STORED_PAGE_LISTINGS) await flush()
  }
  await flush()
  await tx.objectStore('node').put({ name: LIVE_LISTINGS, value: live })
}

/** What a write of listings comes with. */
export interface PutOptions {
  /** The relay's sync cursor, moved in the same transaction. */
  sync?: { relay: string; cursor: number; epoch?: string }
  /** Cursors of the stored listings these replace (listing-pages.ts freshListings). */
  superseded?: readonly number[]
}

/**
 * Stores listings already found new or newer (freshListings), as pages numbered on from the
 * last cursor, and marks the ones they replace dead, in one transaction; returns them as
 * stored. With `sync`, the relay's cursor moves in the same transaction, so a crash never
 * skips or repeats a page. IndexedDB runs overlapping readwrite transactions one at a time,
 * so two writes never hand out one number.
 */
export async function putListings(
  db: CatalogDb,
  listings: readonly Listing[],
  now: number,
  options: PutOptions = {},
): Promise<StoredListing[]> {
  const tx = db.transaction(['pages', 'dead', 'sync', 'node'], 'readwrite')
  const node = tx.objectStore('node')
  const [last, live] = await Promise.all([node.get(LAST_CURSOR), node.get(LIVE_LISTINGS)])
  const pages = toPages(listings, (last?.value as number | undefined) ?? 0, now)
  for (const page of pages) void tx.objectStore('pages').put(page)
  const superseded = options.superseded ?? []
  for (const cursor of superseded) void tx.objectStore('dead').put({ cursor })
  if (pages.length) void node.put({ name: LAST_CURSOR, value: pages.at(-1)!.last })
  const count = ((live?.value as number | undefined) ?? 0) + listings.length - superseded.length
  void node.put({ name: LIVE_LISTINGS, value: Math.max(0, count) })
  const { sync } = options
  if (sync) {
    void tx.objectStore('sync').put({
      relay: sync.relay,
      cursor: sync.cursor,
      ...(sync.epoch !== undefined && { epoch: sync.epoch }),
      lastSyncAt: now,
      lastError: null,
    })
  }
  await compactPages(tx, superseded.slice(0, COMPACTIONS_PER_WRITE))
  await tx.done
  return pages.flatMap((page) => pageRows(page, 0, () => false))
}

/** Rewrites the pages holding `cursors` without their dead listings, where enough are. */
async function compactPages(
  tx: IDBPTransaction<CatalogSchema, ('pages' | 'dead' | 'sync' | 'node')[], 'readwrite'>,
  cursors: readonly number[],
): Promise<void> {
  const pages = tx.objectStore('pages')
  const deadStore = tx.objectStore('dead')
  for (const cursor of cursors) {
    const page = await pages.get(IDBKeyRange.lowerBound(cursor))
    if (!page || page.first > cursor) continue
    const span = IDBKeyRange.bound(page.first, page.last)
    const dead = new Set(await deadStore.getAllKeys(span))
    if (!dueForCompaction(page, dead.size)) continue
    const kept = compacted(page, (c) => dead.has(c))
    void deadStore.delete(span)
    if (kept?.last !== page.last) void pages.delete(page.last)
    if (kept) void pages.put(kept)
  }
}

/** Removes the listing numbered `cursor` (a refused publish undone, with nothing before it).
 * Drops the index snapshot in the same transaction (it may hold the listing), and counts. */
export async function removeListing(db: CatalogDb, cursor: number): Promise<void> {
  const tx = db.transaction(['dead', 'node', 'index'], 'readwrite')
  const node = tx.objectStore('node')
  const [deletions, live] = await Promise.all([node.get(DELETIONS), node.get(LIVE_LISTINGS)])
  void tx.objectStore('dead').put({ cursor })
  void node.put({ name: DELETIONS, value: ((deletions?.value as number) ?? 0) + 1 })
  void node.put({ name: LIVE_LISTINGS, value: Math.max(0, ((live?.value as number) ?? 0) - 1) })
  void tx.objectStore('index').delete(SNAPSHOT)
  await tx.done
}

export async function countListings(db: CatalogDb): Promise<number> {
  return ((await db.get('node', LIVE_LISTINGS))?.value as number | undefined) ?? 0
}

export async function snapshotBasis(db: CatalogDb): Promise<SnapshotBasis> {
  const tx = db.transaction('node', 'readonly')
  const [cursor, deletions] = await Promise.all([
    tx.store.get(LAST_CURSOR),
    tx.store.get(DELETIONS),
  ])
  return {
    cursor: (cursor?.value as number | undefined) ?? 0,
    deletions: (deletions?.value as number | undefined) ?? 0,
  }
}

/** Stores `snapshot` unless a listing was deleted since its basis was read; says which. */
export async function saveIndexSnapshot(
  db: CatalogDb,
  snapshot: IndexSnapshotToSave,
): Promise<boolean> {
  const tx = db.transaction(['node', 'index'], 'readwrite')
  const deletions = ((await tx.objectStore('node').get(DELETIONS))?.value as number) ?? 0
  const current = deletions === snapshot.deletions
  if (current) {
    void tx.objectStore('index').put({
      name: SNAPSHOT,
      ...snapshot,
      bytes:
        snapshot.bytes instanceof Blob
          ? snapshot.bytes
          : new Blob([snapshot.bytes as Uint8Array<ArrayBuffer>]),
    })
  }
  await tx.done
  return current
}

export async function indexSnapshot(db: CatalogDb): Promise<IndexSnapshot | undefined> {
  const row = await db.get('index', SNAPSHOT)
  const headBytes = row?.headBytes
  if (!row || !Number.isSafeInteger(headBytes) || headBytes! < 0 || headBytes! > row.bytes.size) {
    return undefined
  }
  const { cursor, deletions, figuresAt, bytes } = row
  // Two reads of one Blob: the head alone, then the rest, cost what one read of the whole
  // does (measured at 220 MB), and the index answers between them.
  const read = async (blob: Blob) => new Uint8Array(await blob.arrayBuffer())
  return {
    cursor,
    deletions,
    figuresAt,
    head: await read(bytes.slice(0, headBytes)),
    tables: () => read(bytes.slice(headBytes)),
  }
}

export function figuresSince(db: CatalogDb, at: number): Promise<SwarmFiguresRow[]> {
  return db.getAllFromIndex('figures', 'at', IDBKeyRange.lowerBound(at))
}

/** Up to `limit` live listings numbered after `cursor`, in cursor order. */
export async function listingsAfter(
  db: CatalogDb,
  cursor: number,
  limit: number,
): Promise<StoredListing[]> {
  const rows: StoredListing[] = []
  for (let from = cursor; rows.length < limit;) {
    const tx = db.transaction(['pages', 'dead'], 'readonly')
    const pages = await tx
      .objectStore('pages')
      .getAll(IDBKeyRange.lowerBound(from, true), PAGES_PER_READ)
    if (pages.length === 0) break
    const to = pages.at(-1)!.last
    const dead = new Set(await tx.objectStore('dead').getAllKeys(IDBKeyRange.bound(from, to)))
    for (const page of pages) rows.push(...pageRows(page, cursor, (c) => dead.has(c)))
    from = to
  }
  return rows.slice(0, limit)
}

/** The live listings numbered `cursors` (those not found left out), one page read each. */
export async function listingsAt(
  db: CatalogDb,
  cursors: readonly number[],
): Promise<StoredListing[]> {
  const tx = db.transaction(['pages', 'dead'], 'readonly')
  const rows = await Promise.all(
    cursors.map(async (cursor) => {
      const [page, dead] = await Promise.all([
        tx.objectStore('pages').get(IDBKeyRange.lowerBound(cursor)),
        tx.objectStore('dead').get(cursor),
      ])
      return page && rowAt(page, cursor, () => dead !== undefined)
    }),
  )
  return rows.filter((row) => row !== undefined)
}

export async function putFigures(db: CatalogDb, rows: SwarmFiguresRow[]): Promise<void> {
  const tx = db.transaction('figures', 'readwrite')
  for (const row of rows) void tx.store.put(row)
  await tx.done
}

/** Every live listing in cursor order, read in pages so a million never sit in one array. */
export async function* allListings(
  db: CatalogDb,
  pageSize = 5000,
): AsyncGenerator<StoredListing[]> {
  for (let after = 0; ;) {
    const page = await listingsAfter(db, after, pageSize)
    if (page.length === 0) return
    yield page
    after = page[page.length - 1].cursor
    if (page.length < pageSize) return
  }
}

export function syncState(db: CatalogDb, relay: string): Promise<RelaySyncState | undefined> {
  return db.get('sync', relay)
}

/** Every relay this browser has synced from, in any session. */
export function allSyncStates(db: CatalogDb): Promise<RelaySyncState[]> {
  return db.getAll('sync')
}

export async function noteSyncError(db: CatalogDb, relay: string, error: string): Promise<void> {
  const state = (await db.get('sync', relay)) ?? {
    relay,
    cursor: 0,
    lastSyncAt: 0,
    lastError: null,
  }
  await db.put('sync', { ...state, lastError: error })
}

export async function getNodeValue<T>(db: CatalogDb, name: string): Promise<T | undefined> {
  return (await db.get('node', name))?.value as T | undefined
}

export async function setNodeValue(db: CatalogDb, name: string, value: unknown): Promise<void> {
  await db.put('node', { name, value })
}
