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

interface CatalogSchema extends DBSchema {
  listings: { key: string; value: StoredListing; indexes: { infoHash: string } }
  figures: { key: string; value: SwarmFiguresRow }
  sync: { key: string; value: RelaySyncState }
  /** This node's own state: its identity key, publish counters. */
  node: { key: string; value: { name: string; value: unknown } }
}

export type CatalogDb = IDBPDatabase<CatalogSchema>

export const CATALOG_DB_NAME = 'monsoon-catalog'

export function openCatalogDb(name = CATALOG_DB_NAME): Promise<CatalogDb> {
  return openDB<CatalogSchema>(name, 1, {
    upgrade(db) {
      const listings = db.createObjectStore('listings', { keyPath: 'key' })
      listings.createIndex('infoHash', 'infoHash')
      db.createObjectStore('figures', { keyPath: 'infoHash' })
      db.createObjectStore('sync', { keyPath: 'relay' })
      db.createObjectStore('node', { keyPath: 'name' })
    },
  })
}

export function listingKey(listing: Pick<Listing, 'publisher' | 'infoHash'>): string {
  return `${listing.publisher}:${listing.infoHash}`
}

/**
 * Stores verified listings in one transaction, keeping the higher `seq` where one is already
 * stored; returns the ones that were new or newer. With `cursor`, the relay's sync cursor
 * moves in the same transaction, so a crash never skips or repeats a page.
 */
export async function putListings(
  db: CatalogDb,
  listings: Listing[],
  now: number,
  cursor?: { relay: string; cursor: number; epoch?: string },
): Promise<Listing[]> {
  const tx = db.transaction(['listings', 'sync'], 'readwrite')
  const store = tx.objectStore('listings')
  const stored = await Promise.all(listings.map((l) => store.get(listingKey(l))))
  const fresh: Listing[] = []
  const seen = new Map<string, Listing>()
  listings.forEach((l, i) => {
    const key = listingKey(l)
    const current = seen.get(key) ?? stored[i]?.listing
    if (current && !supersedes(l, current)) return
    seen.set(key, l)
  })
  for (const [key, listing] of seen) {
    fresh.push(listing)
    void store.put({ key, infoHash: listing.infoHash, listing, storedAt: now })
  }
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
  return fresh
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
