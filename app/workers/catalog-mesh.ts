// The catalog worker's side of the browser mesh (issue 22; app/catalog/mesh-exchange.ts is
// the page's): pages of the listings this browser stored, numbered by its store (db.ts
// StoredListing.cursor), and the check of listings a neighbour sent, the one every listing
// from a relay passes (app/catalog/verify.ts).

import type { Listing } from '../../shared/listing.ts'
import { pageLimit, parseRecords, recordPage } from '../catalog/mesh-page.ts'
import { verifyListings } from '../catalog/verify.ts'
import type { RecordPage } from '../lib/mesh/types.ts'
import type { CatalogStorage } from './catalog-storage.ts'

/** Listings stored here after a neighbour's `cursor`, as the JSON relays serve. */
export async function meshPage(
  storage: CatalogStorage,
  cursor: number,
  limit: number,
): Promise<RecordPage> {
  const after = Number.isSafeInteger(cursor) && cursor >= 0 ? cursor : 0
  // One more than the page holds says whether more follow.
  const fetched = pageLimit(limit) + 1
  const rows = await storage.listingsAfter(after, fetched)
  const numbered = rows.map((r) => ({ cursor: r.cursor, text: JSON.stringify(r.listing) }))
  return recordPage(numbered, after, limit, rows.length < fetched)
}

/** The listings among a neighbour's records that verify; `refused`: the others (not JSON,
 * too large, malformed, forged, from the future). */
export async function verifyMeshListings(
  records: readonly string[],
  nowMs: number,
): Promise<{ listings: Listing[]; refused: number }> {
  const parsed = parseRecords(records)
  const verified = await verifyListings(parsed.values, Math.floor(nowMs / 1000))
  return { listings: verified.listings, refused: parsed.refused + verified.invalid }
}
