// Messages between the page and the catalog worker (app/workers/catalog.worker.ts).

import type { Listing, ListingDraft } from '../../shared/listing.ts'
import type { IndexedRow, SearchQuery, SwarmFigures } from './search-index.ts'

/** One line of the index table. Name untrusted: render as text only. */
export interface ListingRow extends IndexedRow {
  publisher: string
}

/** One publisher's full listing of a hash, for the details page. */
export interface CatalogRow {
  key: string
  listing: Listing
  figures: SwarmFigures | null
}

export interface RelaySyncProgress {
  relay: string
  /** Listings read from this relay in the current pass. */
  fetched: number
  /** Listings the relay still has after what this pass read, as far as its cursors tell
   * (an estimate: replaced rows leave gaps), or null when the relay does not say. */
  remaining: number | null
  /** Listings from this relay refused since the page opened: malformed, forged, too large
   * or from the future. Never stored or shown. */
  refused: number
  /** How far through the relay's catalog we are, 0–1, when the relay says. */
  fraction: number | null
  state: 'syncing' | 'idle' | 'error'
  error: string | null
  /** Unix ms of the last pass that read this relay to its end; 0 if none yet. */
  lastSyncAt: number
}

export type ToWorker =
  /** Load the stored catalog, then sync from these relays (the origin first); none: offline. */
  | { type: 'start'; relays: string[] }
  /** Start the next sync pass now rather than after the pause. */
  | { type: 'sync' }
  /** Refresh the live swarm figures of these hashes (the rows on screen). */
  | { type: 'figures'; infoHashes: string[] }
  | { type: 'search'; id: number; query: SearchQuery }
  /** Every publisher's listing of a hash; `refresh` asks the relays for it and its live
   * figures first (also done when nothing is stored). */
  | { type: 'get'; id: number; infoHash: string; refresh: boolean }
  | { type: 'publish'; id: number; draft: ListingDraft; relay: string }
  | { type: 'identity'; id: number }
  /** The browser mesh (app/catalog/mesh-exchange.ts): stored listings numbered after
   * `cursor`, as JSON text, for a neighbour; and listings a neighbour sent, to verify. */
  | { type: 'meshPage'; id: number; cursor: number; limit: number }
  | { type: 'meshAccept'; id: number; records: string[] }
  /** Save the search index now if it changed (a tab about to close, a benchmark about to end
   * the worker); answered with `saved` once it is in storage. */
  | { type: 'save'; id: number }

export type FromWorker =
  /** Reading the stored catalog into the index (a few seconds at 100,000 listings). */
  | { type: 'loading'; loaded: number; total: number }
  | { type: 'ready'; count: number }
  | { type: 'progress'; relays: RelaySyncProgress[]; count: number }
  | { type: 'changed'; count: number }
  | {
      type: 'result'
      id: number
      total: number
      rows: ListingRow[]
      categories: Record<string, number>
      tookMs: number
    }
  | { type: 'listings'; id: number; rows: CatalogRow[] }
  /** Stored here (and so on the mesh) in any case; `relayReached` false: no relay could be
   * reached, it goes to them later (from this browser's neighbours, or published again). */
  | { type: 'published'; id: number; listing: Listing; relayReached: boolean }
  | { type: 'identity'; id: number; publicKey: string }
  | { type: 'meshPage'; id: number; records: string[]; next: number; more: boolean }
  | { type: 'meshAccepted'; id: number; stored: number; refused: number }
  | { type: 'saved'; id: number }
  | { type: 'failed'; id: number | null; error: string }
