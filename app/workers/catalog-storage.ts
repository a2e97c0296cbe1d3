// What the catalog replica (catalog-replica.ts) keeps in storage, as an interface, so its
// logic runs in Node tests against a map in memory while the worker hands it IndexedDB.
// Storage keeps pages of listings (app/catalog/listing-pages.ts) and decides nothing about
// them: which listings are new or newer is decided by the caller, against its index.

import type { Listing } from '../../shared/listing.ts'
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
  putFigures,
  putListings,
  removeListing,
  saveIndexSnapshot,
  setNodeValue,
  snapshotBasis,
  syncState,
  type CatalogDb,
  type IndexSnapshot,
  type IndexSnapshotToSave,
  type PutOptions,
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
  /** Live listings: stored, neither replaced nor removed. */
  countListings(): Promise<number>
  /** Every live listing, a page at a time, in cursor order. */
  allListings(): AsyncIterable<StoredListing[]>
  allFigures(): Promise<SwarmFiguresRow[]>
  putFigures(rows: SwarmFiguresRow[]): Promise<void>
  /** The live listings numbered `cursors` (the index knows which: SearchIndex.cursorsOf). */
  listingsAt(cursors: readonly number[]): Promise<StoredListing[]>
  /** Stores listings found new or newer (freshListings), numbered on from the last cursor,
   * and marks those they replace dead; returns them as stored. */
  putListings(
    listings: readonly Listing[],
    now: number,
    options?: PutOptions,
  ): Promise<StoredListing[]>
  /** Up to `limit` live listings this node numbered after `cursor` (StoredListing.cursor). */
  listingsAfter(cursor: number, limit: number): Promise<StoredListing[]>
  /** Removes the listing numbered `cursor`; counts a deletion and drops the snapshot. */
  removeListing(cursor: number): Promise<void>
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
  saveIndexSnapshot(snapshot: IndexSnapshotToSave): Promise<boolean>
  /** Figures stored at or after `at` (Unix ms). */
  figuresSince(at: number): Promise<SwarmFiguresRow[]>
}

/** The browser's storage: IndexedDB through db.ts. */
export function idbCatalogStorage(db: CatalogDb): CatalogStorage {
  return {
    countListings: () => countListings(db),
    allListings: () => allListings(db),
    allFigures: () => db.getAll('figures'),
    putFigures: (rows) => putFigures(db, rows),
    listingsAt: (cursors) => listingsAt(db, cursors),
    putListings: (listings, now, options) => putListings(db, listings, now, options),
    listingsAfter: (cursor, limit) => listingsAfter(db, cursor, limit),
    removeListing: (cursor) => removeListing(db, cursor),
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
