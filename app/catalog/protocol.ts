// Messages between the page and the catalog worker (app/workers/catalog.worker.ts).

import type { Listing, ListingDraft } from '../../shared/listing.ts'
import type { SearchQuery, SwarmFigures } from './search-index.ts'

export interface CatalogRow {
  key: string
  listing: Listing
  figures: SwarmFigures | null
}

export interface RelaySyncProgress {
  relay: string
  /** Listings read from this relay in the current pass. */
  fetched: number
  /** How far through the relay's catalog we are, 0–1, when the relay says. */
  fraction: number | null
  state: 'syncing' | 'idle' | 'error'
  error: string | null
  lastSyncAt: number
}

export type ToWorker =
  | { type: 'start'; relays: string[] }
  | { type: 'search'; id: number; query: SearchQuery }
  | { type: 'get'; id: number; infoHash: string }
  | { type: 'publish'; id: number; draft: ListingDraft; relay: string }
  | { type: 'identity'; id: number }

export type FromWorker =
  | { type: 'ready'; count: number }
  | { type: 'progress'; relays: RelaySyncProgress[]; count: number }
  | { type: 'changed'; count: number }
  | { type: 'result'; id: number; total: number; rows: CatalogRow[]; tookMs: number }
  | { type: 'listings'; id: number; rows: CatalogRow[] }
  | { type: 'published'; id: number; listing: Listing }
  | { type: 'identity'; id: number; publicKey: string }
  | { type: 'failed'; id: number | null; error: string }
