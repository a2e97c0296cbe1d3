// What the catalog replica (catalog-replica.ts) keeps in storage, as an interface, so its
// logic runs in Node tests against a map in memory while the worker hands it IndexedDB.

import type { Listing } from '../../shared/listing.ts'
import {
  allListings,
  allSyncStates,
  figuresSince,
  getNodeValue,
  indexSnapshot,
  listingsAfter,
  listingsFor,
  noteSyncError,
  putFigures,
  putListings,
  restoreListing,
  saveIndexSnapshot,
  setNodeValue,
  snapshotBasis,
  syncState,
  type CatalogDb,
  type IndexSnapshot,
  type SnapshotBasis,
  type RelaySyncState,
  type StoredListing,
  type SwarmFiguresRow,
} from '../catalog/db.ts'

/** A relay's cursor, moved in the same transaction as the listings of its page. */
export interface SyncCursor {
  relay: string
  cursor: number
  epoch?: string
}

export interface CatalogStorage {
  countListings(): Promise<number>
  /** Every stored listing, a page at a time. */
  allListings(): AsyncIterable<StoredListing[]>
  allFigures(): Promise<SwarmFiguresRow[]>
  putFigures(rows: SwarmFiguresRow[]): Promise<void>
  listingsFor(infoHash: string): Promise<StoredListing[]>
  /** Stores listings, keeping the higher `seq`; returns those that were new or newer. */
  putListings(listings: Listing[], now: number, cursor?: SyncCursor): Promise<Listing[]>
  /** Up to `limit` listings this node numbered after `cursor` (StoredListing.cursor). */
  listingsAfter(cursor: number, limit: number): Promise<StoredListing[]>
  /** Puts `previous` back under `key`, or removes the row when it is null. */
  restoreListing(key: string, previous: Listing | null, now: number): Promise<void>
  syncState(relay: string): Promise<RelaySyncState | undefined>
  allSyncStates(): Promise<RelaySyncState[]>
  noteSyncError(relay: string, error: string): Promise<void>
  getNodeValue<T>(name: string): Promise<T | undefined>
  setNodeValue(name: string, value: unknown): Promise<void>
  /** The last local cursor handed out and the deletions so far, read before a snapshot. */
  snapshotBasis(): Promise<SnapshotBasis>
  /** The saved search index, if any (its bytes are checked by SearchIndex.fromSnapshot). */
  indexSnapshot(): Promise<IndexSnapshot | undefined>
  /** Saves the search index unless a listing was deleted since `snapshot.deletions`. */
  saveIndexSnapshot(snapshot: IndexSnapshot): Promise<boolean>
  /** Figures stored at or after `at` (Unix ms). */
  figuresSince(at: number): Promise<SwarmFiguresRow[]>
}

/** The browser's storage: IndexedDB through db.ts. */
export function idbCatalogStorage(db: CatalogDb): CatalogStorage {
  return {
    countListings: () => db.count('listings'),
    allListings: () => allListings(db),
    allFigures: () => db.getAll('figures'),
    putFigures: (rows) => putFigures(db, rows),
    listingsFor: (infoHash) => listingsFor(db, infoHash),
    putListings: (listings, now, cursor) => putListings(db, listings, now, cursor),
    listingsAfter: (cursor, limit) => listingsAfter(db, cursor, limit),
    restoreListing: (key, previous, now) => restoreListing(db, key, previous, now),
    syncState: (relay) => syncState(db, relay),
    allSyncStates: () => allSyncStates(db),
    noteSyncError: (relay, error) => noteSyncError(db, relay, error),
    getNodeValue: (name) => getNodeValue(db, name),
    setNodeValue: (name, value) => setNodeValue(db, name, value),
    snapshotBasis: () => snapshotBasis(db),
    indexSnapshot: () => indexSnapshot(db),
    saveIndexSnapshot: (snapshot) => saveIndexSnapshot(db, snapshot),
    figuresSince: (at) => figuresSince(db, at),
  }
}
