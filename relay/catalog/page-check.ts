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

import { isAscii } from 'node:buffer'
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

/** What the puller needs of a page to ask for the next one: its head, and whether it is
 * empty (a strict puller fails an empty page marked `more`). */
export interface PageLead {
  next: number
  more: boolean
  epoch: string
  empty: boolean
}

export function leadOf(head: PageHead): PageLead {
  return { next: head.next, more: head.more, epoch: head.epoch, empty: head.received === 0 }
}

/** How far from its end a page's head is looked for: past its `stats`, which name at most
 * the page's 1,000 hashes (~90 bytes each when none is zero). */
const LEAD_WINDOW_BYTES = 256 * 1024
const LEAD_MARK = Buffer.from('],"next":')
const LEAD_TAIL =
  /^\],"next":(\d{1,15}),"more":(true|false),(?:"latest":\d{1,15},)?"epoch":"([0-9a-f]{1,64})"[,}]/
const EMPTY_START = Buffer.from('{"listings":[]')
const FULL_START = Buffer.from('{"listings":[{')

/**
 * A page's lead read from its bytes without parsing them (null when they are not laid out
 * as a relay writes a page: page-server.ts puts the listings first, then `next`, `more`,
 * `latest` and `epoch`): so the puller can ask for the next page while a worker parses and
 * checks this one, instead of waiting ~10 ms a page for the parse (issue 23). It proves
 * nothing: the lead is compared with the parsed page's head, and a page whose head differs
 * fails as malformed (VerifyPool), so a page laid out to mislead costs one page fetched
 * ahead, then the puller's backoff.
 */
export function peekPageLead(body: PageBody): PageLead | null {
  if (typeof body === 'string') return null
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  const empty = bytes.subarray(0, EMPTY_START.length).equals(EMPTY_START)
  if (!empty && !bytes.subarray(0, FULL_START.length).equals(FULL_START)) return null
  const window = bytes.subarray(Math.max(0, bytes.length - LEAD_WINDOW_BYTES))
  const at = window.lastIndexOf(LEAD_MARK)
  if (at < 0) return null
  const m = LEAD_TAIL.exec(window.toString('latin1', at, at + 128))
  if (m === null) return null
  return { next: Number(m[1]), more: m[2] === 'true', epoch: m[3], empty }
}

/** A page that came but is no use: bad JSON, over the caps, or not a page. The puller counts
 * it as 'peer-page-invalid' and backs off (a PeerError with no HTTP status). */
export class MalformedPageError extends PeerError {
  override name = 'MalformedPageError'
}

/** The text of a page's UTF-8 bytes. Pages are mostly ASCII, and ASCII read as Latin-1 is
 * the same text at ~10x the speed (0.4 ms against 4 for a page of 1,000 here: an eighth of
 * a verify worker's time); isAscii looks at 1.2 MB in ~15 µs. */
function pageText(body: Uint8Array): string {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  return bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8')
}

/** A pulled page's JSON: text, or its UTF-8 bytes as they came. */
export type PageBody = string | Uint8Array

/** Parses a page (parsePeerJson's depth and container caps) and checks its shape; throws
 * MalformedPageError. Bytes are decoded as the transport would have (bad UTF-8 becomes
 * U+FFFD, and the JSON or the listing's checks refuse it). */
export function parsePulledPage(body: PageBody, source: string): PulledPage {
  const text = typeof body === 'string' ? body : pageText(body)
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
