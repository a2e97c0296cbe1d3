// The browser's copy of the catalog, in IndexedDB (through idb), so the index page is there
// after a reload and offline. Used from the catalog worker; the page itself never touches
// these stores directly.

import { openDB, type DBSchema, type IDBPDatabase } from 'idb'
import type { Listing } from '../../shared/listing.ts'
import { supersedes } from '../../shared/listing.ts'

export interface StoredListing {
  /** `${publisher}:${infoHash}`. */
  key: string
  infoHash: string
  listing: Listing
  /** Unix ms when this node stored it. */
  storedAt: number
  /** This node's own increasing number for the row, renewed when a newer `seq` replaces it,
   * as a relay numbers its rows: a mesh neighbour pulls the rows after the last it saw. */
  cursor: number
}

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

/** The search index saved whole (search-index.ts snapshot), and what it covers. */
export interface IndexSnapshot {
  /** Every listing with a local cursor up to this one was in the index. */
  cursor: number
  /** Listing deletions counted when `cursor` was read: a deletion since voids the snapshot. */
  deletions: number
  /** Unix ms: figures stored from this moment on may be missing from it. */
  figuresAt: number
  bytes: Uint8Array
}

/** Where a snapshot about to be taken starts from (read before taking it). */
export type SnapshotBasis = Pick<IndexSnapshot, 'cursor' | 'deletions'>

interface CatalogSchema extends DBSchema {
  listings: { key: string; value: StoredListing; indexes: { infoHash: string; cursor: number } }
  figures: { key: string; value: SwarmFiguresRow; indexes: { at: number } }
  /** Version 3: the search index snapshot, one row; its bytes as a Blob, which the browser
   * keeps out of the worker's heap (a million listings make ~200 MB). */
  index: { key: string; value: Omit<IndexSnapshot, 'bytes'> & { name: string; bytes: Blob } }
  sync: { key: string; value: RelaySyncState }
  /** This node's own state: its identity key, publish counters. */
  node: { key: string; value: { name: string; value: unknown } }
}

export type CatalogDb = IDBPDatabase<CatalogSchema>

export const CATALOG_DB_NAME = 'monsoon-catalog'
/** Version 2 numbers the listings (StoredListing.cursor); 3 keeps the search index. */
const CATALOG_DB_VERSION = 3
/** The `node` row holding the last cursor given to a listing. */
const LAST_CURSOR = 'listingCursor'
/** The `node` row counting listings deleted (a refused publish undone). */
const DELETIONS = 'listingDeletions'
/** The `index` row holding the snapshot. */
const SNAPSHOT = 'search'

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
    },
    // A newer version opened in another tab: let it upgrade rather than wait for this one.
    blocking(_current, _blocked, event) {
      ;(event.target as IDBDatabase).close()
    },
  })
}

export function listingKey(listing: Pick<Listing, 'publisher' | 'infoHash'>): string {
  return `${listing.publisher}:${listing.infoHash}`
}

/**
 * The rows to write for `listings` (`stored[i]`: what is stored under listings[i]'s key): the
 * new ones and those with a higher `seq`, one per key, numbered on from `lastCursor`. Shared
 * by the IndexedDB store and the tests' store in memory.
 */
export function freshRows(
  listings: readonly Listing[],
  stored: readonly (StoredListing | undefined)[],
  lastCursor: number,
  now: number,
): StoredListing[] {
  const seen = new Map<string, Listing>()
  listings.forEach((l, i) => {
    const key = listingKey(l)
    const current = seen.get(key) ?? stored[i]?.listing
    if (current && !supersedes(l, current)) return
    // Deleted first, so the key's place in the map (and its cursor) is the newest.
    seen.delete(key)
    seen.set(key, l)
  })
  let cursor = lastCursor
  return [...seen].map(([key, listing]) => ({
    key,
    infoHash: listing.infoHash,
    listing,
    storedAt: now,
    cursor: ++cursor,
  }))
}

/**
 * Stores verified listings in one transaction, keeping the higher `seq` where one is already
 * stored; returns the ones that were new or newer. With `cursor`, the relay's sync cursor
 * moves in the same transaction, so a crash never skips or repeats a page. Each row written
 * gets the next local cursor in the same transaction: IndexedDB runs overlapping readwrite
 * transactions one at a time, so two stores never hand out one number.
 */
export async function putListings(
  db: CatalogDb,
  listings: Listing[],
  now: number,
  cursor?: { relay: string; cursor: number; epoch?: string },
): Promise<Listing[]> {
  const tx = db.transaction(['listings', 'sync', 'node'], 'readwrite')
  const store = tx.objectStore('listings')
  const [stored, last] = await Promise.all([
    Promise.all(listings.map((l) => store.get(listingKey(l)))),
    tx.objectStore('node').get(LAST_CURSOR),
  ])
  const rows = freshRows(listings, stored, (last?.value as number | undefined) ?? 0, now)
  for (const row of rows) void store.put(row)
  if (rows.length)
    void tx.objectStore('node').put({ name: LAST_CURSOR, value: rows.at(-1)!.cursor })
  if (cursor) {
    void tx.objectStore('sync').put({
      relay: cursor.relay,
      cursor: cursor.cursor,
      ...(cursor.epoch !== undefined && { epoch: cursor.epoch }),
      lastSyncAt: now,
      lastError: null,
    })
  }
  await tx.done
  return rows.map((r) => r.listing)
}

/** Puts `previous` back under `key` (with a new cursor, so neighbours see it again), or
 * removes the row when there was none: a publish the relay refused is undone. A removal
 * drops the index snapshot in the same transaction (it may hold the row), and counts. */
export async function restoreListing(
  db: CatalogDb,
  key: string,
  previous: Listing | null,
  now: number,
): Promise<void> {
  const tx = db.transaction(['listings', 'node', 'index'], 'readwrite')
  const last = ((await tx.objectStore('node').get(LAST_CURSOR))?.value as number | undefined) ?? 0
  if (previous) {
    const [row] = freshRows([previous], [undefined], last, now)
    void tx.objectStore('listings').put(row)
    void tx.objectStore('node').put({ name: LAST_CURSOR, value: row.cursor })
  } else {
    void tx.objectStore('listings').delete(key)
    const deletions = (await tx.objectStore('node').get(DELETIONS))?.value as number | undefined
    void tx.objectStore('node').put({ name: DELETIONS, value: (deletions ?? 0) + 1 })
    void tx.objectStore('index').delete(SNAPSHOT)
  }
  await tx.done
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
export async function saveIndexSnapshot(db: CatalogDb, snapshot: IndexSnapshot): Promise<boolean> {
  const tx = db.transaction(['node', 'index'], 'readwrite')
  const deletions = ((await tx.objectStore('node').get(DELETIONS))?.value as number) ?? 0
  const current = deletions === snapshot.deletions
  if (current) {
    void tx.objectStore('index').put({
      name: SNAPSHOT,
      ...snapshot,
      bytes: new Blob([snapshot.bytes as Uint8Array<ArrayBuffer>]),
    })
  }
  await tx.done
  return current
}

export async function indexSnapshot(db: CatalogDb): Promise<IndexSnapshot | undefined> {
  const row = await db.get('index', SNAPSHOT)
  if (!row) return undefined
  const { cursor, deletions, figuresAt, bytes } = row
  return { cursor, deletions, figuresAt, bytes: new Uint8Array(await bytes.arrayBuffer()) }
}

/** Figures stored at or after `at` (Unix ms). */
export function figuresSince(db: CatalogDb, at: number): Promise<SwarmFiguresRow[]> {
  return db.getAllFromIndex('figures', 'at', IDBKeyRange.lowerBound(at))
}

/** Up to `limit` stored listings numbered after `cursor`, in cursor order. */
export function listingsAfter(
  db: CatalogDb,
  cursor: number,
  limit: number,
): Promise<StoredListing[]> {
  return db.getAllFromIndex('listings', 'cursor', IDBKeyRange.lowerBound(cursor, true), limit)
}

export async function putFigures(db: CatalogDb, rows: SwarmFiguresRow[]): Promise<void> {
  const tx = db.transaction('figures', 'readwrite')
  for (const row of rows) void tx.store.put(row)
  await tx.done
}

/** Every stored listing, read in pages so 100,000 rows never sit in one request. */
export async function* allListings(
  db: CatalogDb,
  pageSize = 5000,
): AsyncGenerator<StoredListing[]> {
  let after: string | undefined
  for (;;) {
    const range = after === undefined ? undefined : IDBKeyRange.lowerBound(after, true)
    const page = await db.getAll('listings', range, pageSize)
    if (page.length === 0) return
    yield page
    after = page[page.length - 1].key
    if (page.length < pageSize) return
  }
}

export function listingsFor(db: CatalogDb, infoHash: string): Promise<StoredListing[]> {
  return db.getAllFromIndex('listings', 'infoHash', infoHash)
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
