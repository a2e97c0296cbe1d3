// The check of a page pulled from a peer relay (sync.ts), the same in a verify worker and
// inline (verify-pool.ts): the page's text parsed under the peer JSON caps and its shape
// checked, then every listing through checkListing (verifyListing's checks, in place: the
// row's JSON is written in verifyListing's key order, so its copy would be wasted), each
// good one turned into the row the store writes (listing-row.ts). So the thread that owns
// SQLite neither parses pages nor copies listings between threads: it hands over text and
// receives rows ready to insert.
//
// v2 batches are remembered with Node's native SHA-256 (about 3x noble's on a listing's
// ~500 bytes; the same bytes out, checked in page-check.test.ts).

import { hash } from 'node:crypto'
import type { SignatureVerifier } from '../../shared/identity.ts'
import { MAX_VERIFIED_BATCHES } from '../../shared/limits.ts'
import { ListingError, checkListing } from '../../shared/listing.ts'
import { VerifiedBatches } from '../../shared/listing-batch.ts'
import type { Sha256 } from '../../shared/merkle.ts'
import { MAX_PAGE_LISTINGS } from '../limits.ts'
import { PeerError, parsePeerJson } from '../peering/peer-fetch.ts'
import { listingRow, type ListingRow } from './listing-row.ts'

export const nativeSha256: Sha256 = (data) => hash('sha256', data, 'buffer')

/** Batches checked good, remembered with the native hash. */
export function relayVerifiedBatches(maxBatches = MAX_VERIFIED_BATCHES): VerifiedBatches {
  return new VerifiedBatches(maxBatches, nativeSha256)
}

export interface CheckedRows {
  rows: ListingRow[]
  /** Values refused: malformed, forged, too large or from the future. */
  invalid: number
}

/** Checks values[from, to) into `into`, in order. A refusal is counted; any other error is a
 * fault, thrown. */
export function checkRows(
  values: readonly unknown[],
  from: number,
  to: number,
  nowSeconds: number,
  verify: SignatureVerifier,
  batches: VerifiedBatches,
  into: CheckedRows,
): void {
  for (let i = from; i < to; i++) {
    try {
      into.rows.push(listingRow(checkListing(values[i], nowSeconds, verify, batches)))
    } catch (err) {
      if (!(err instanceof ListingError)) throw err
      into.invalid++
    }
  }
}

/** What a pulled page says besides its listings. */
export interface PageHead {
  next: number
  more: boolean
  epoch: string
  /** Listings the page held, valid or not. */
  received: number
}

export interface PulledPage extends PageHead {
  listings: unknown[]
}

/** A page that came but is no use: bad JSON, over the caps, or not a page. The puller counts
 * it as 'peer-page-invalid' and backs off (a PeerError with no HTTP status). */
export class MalformedPageError extends PeerError {
  override name = 'MalformedPageError'
}

/** A pulled page's JSON: text, or its UTF-8 bytes as they came. */
export type PageBody = string | Uint8Array

/** Parses a page (parsePeerJson's depth and container caps) and checks its shape; throws
 * MalformedPageError. Bytes are decoded as the transport would have (bad UTF-8 becomes
 * U+FFFD, and the JSON or the listing's checks refuse it). */
export function parsePulledPage(body: PageBody, source: string): PulledPage {
  const text =
    typeof body === 'string'
      ? body
      : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')
  let value: unknown
  try {
    value = parsePeerJson(text, source)
  } catch (err) {
    throw new MalformedPageError((err as Error).message)
  }
  const page = value as Partial<PulledPage> | null
  if (
    typeof page !== 'object' ||
    page === null ||
    !Array.isArray(page.listings) ||
    page.listings.length > MAX_PAGE_LISTINGS ||
    !Number.isSafeInteger(page.next) ||
    page.next! < 0 ||
    typeof page.more !== 'boolean' ||
    typeof page.epoch !== 'string' ||
    !/^[0-9a-f]{1,64}$/.test(page.epoch)
  ) {
    throw new MalformedPageError('peer sent a malformed page')
  }
  const { listings, next, more, epoch } = page as PulledPage
  return { listings, next, more, epoch, received: listings.length }
}
