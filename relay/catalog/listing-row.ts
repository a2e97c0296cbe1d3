// A verified listing as the catalog store keeps it (store.ts): the columns it is keyed and
// ordered by, and its JSON. Made where the listing was verified (a verify worker, or inline)
// so the thread that writes SQLite only writes.

import type { Listing } from '../../shared/listing.ts'

export interface ListingRow {
  publisher: string
  infoHash: string
  seq: number
  ts: number
  /** The listing's JSON, as stored and served. */
  json: string
  /** UTF-8 bytes of `json`: what the byte caps count. */
  bytes: number
}

/** The row of a listing already verified (verifyListing gives a fresh, plain object whose
 * JSON has a fixed key order). */
export function listingRow(listing: Listing): ListingRow {
  const json = JSON.stringify(listing)
  return {
    publisher: listing.publisher,
    infoHash: listing.infoHash,
    seq: listing.seq,
    ts: listing.ts,
    json,
    bytes: Buffer.byteLength(json),
  }
}
