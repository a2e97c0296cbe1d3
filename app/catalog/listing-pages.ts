// The browser's catalog stored a page at a time (issue 23): one IndexedDB record per page of
// up to MAX_STORED_PAGE_LISTINGS listings, as a sync brings them, instead of one record per
// listing (a record per page put 31,786–69,906 listings/s in Chromium 150, rows read then
// written 1,867–5,456/s). Each listing still has its own local cursor (a mesh neighbour
// pulls the listings after the last it saw): page `first..last`, or `cursors` once the page
// lost some to compaction. Whether a listing is new or newer is decided before the write,
// against what the search index holds (freshListings), not by reading IndexedDB; a listing
// replaced later keeps its place in its page and is marked dead by its cursor until the page
// is compacted. Pure: db.ts and the tests' store in memory share it.

import type { Listing } from '../../shared/listing.ts'
import { supersedes } from '../../shared/listing.ts'

/** Listings in one stored page: a relay's page (MAX_PAGE_LISTINGS, 1,000) is stored as five,
 * in one transaction, as are bigger batches (a mesh neighbour's, a rebuild's); reading any
 * one listing reads at most this many. Chromium 156 puts a 1,000-listing record (~1.2 MB of
 * v2 listings) at about a third of the speed of the same listings as records of 200
 * (~240 KB), on a profile on disk, 40,000 listings, three rounds: 18.6–20.0 µs a listing at
 * 1,000, 10.0–11.3 at 400–500, 7.6–11.3 at 334, 8.2–8.9 at 250, 5.6–6.8 at 200, 8.4–13.4 at
 * 125–167. (Chromium 150 put both sizes alike.) */
export const MAX_STORED_PAGE_LISTINGS = 200
/** A page whose dead listings reach this share of it is rewritten without them. */
export const COMPACT_DEAD_SHARE = 0.5

export interface StoredListing {
  /** `${publisher}:${infoHash}`. */
  key: string
  infoHash: string
  listing: Listing
  /** Unix ms when this node stored it. */
  storedAt: number
  /** This node's own increasing number for the listing, renewed when a newer `seq` replaces
   * it, as a relay numbers its rows: a mesh neighbour pulls the ones after the last it saw. */
  cursor: number
}

export interface StoredPage {
  /** The highest cursor in the page: its key, so the pages after a cursor are a key range. */
  last: number
  first: number
  /** Unix ms when this node stored it. */
  storedAt: number
  listings: Listing[]
  /** Each listing's cursor, once compaction left gaps; otherwise first + i. */
  cursors?: number[]
}

/** What the index holds under a key: the stored listing's `seq` and its cursor. */
export interface CurrentListing {
  seq: number
  cursor: number
}

export function listingKey(listing: Pick<Listing, 'publisher' | 'infoHash'>): string {
  return `${listing.publisher}:${listing.infoHash}`
}

/**
 * The listings to store of `listings`: new keys and higher `seq`s than `current` holds, one
 * per key (the highest seq; the first of equals), each at the place of its last copy; and
 * the cursors of the listings they replace, to mark dead.
 */
export function freshListings(
  listings: readonly Listing[],
  current: (key: string) => CurrentListing | undefined,
): { fresh: Listing[]; superseded: number[] } {
  const seen = new Map<string, Listing>()
  for (const l of listings) {
    const key = listingKey(l)
    const held = seen.get(key) ?? current(key)
    if (held && !supersedes(l, held)) continue
    // Deleted first, so the key's place in the map (and so its cursor) is the newest.
    seen.delete(key)
    seen.set(key, l)
  }
  const superseded: number[] = []
  for (const key of seen.keys()) {
    const held = current(key)
    if (held) superseded.push(held.cursor)
  }
  return { fresh: [...seen.values()], superseded }
}

/** `listings` as pages numbered on from `lastCursor`, at most MAX_STORED_PAGE_LISTINGS each. */
export function toPages(
  listings: readonly Listing[],
  lastCursor: number,
  now: number,
): StoredPage[] {
  const pages: StoredPage[] = []
  for (let at = 0; at < listings.length; at += MAX_STORED_PAGE_LISTINGS) {
    const part = listings.slice(at, at + MAX_STORED_PAGE_LISTINGS)
    const first = lastCursor + at + 1
    pages.push({ last: first + part.length - 1, first, storedAt: now, listings: part })
  }
  return pages
}

export function cursorAt(page: StoredPage, i: number): number {
  return page.cursors ? page.cursors[i] : page.first + i
}

/** The page's listings after `after` that are not `dead`, as rows. */
export function pageRows(
  page: StoredPage,
  after: number,
  dead: (cursor: number) => boolean,
): StoredListing[] {
  const rows: StoredListing[] = []
  page.listings.forEach((listing, i) => {
    const cursor = cursorAt(page, i)
    if (cursor <= after || dead(cursor)) return
    rows.push(row(listing, cursor, page.storedAt))
  })
  return rows
}

/** The listing numbered `cursor` in `page`, unless it is dead or not there. */
export function rowAt(
  page: StoredPage,
  cursor: number,
  dead: (cursor: number) => boolean,
): StoredListing | undefined {
  if (cursor < page.first || cursor > page.last || dead(cursor)) return undefined
  const i = page.cursors ? page.cursors.indexOf(cursor) : cursor - page.first
  const listing = page.listings[i]
  return listing && row(listing, cursor, page.storedAt)
}

/** Whether `deadCount` of the page's listings are dead enough to rewrite it. */
export function dueForCompaction(page: StoredPage, deadCount: number): boolean {
  return deadCount > 0 && deadCount >= page.listings.length * COMPACT_DEAD_SHARE
}

/** The page without its dead listings (null when none is left). */
export function compacted(page: StoredPage, dead: (cursor: number) => boolean): StoredPage | null {
  const listings: Listing[] = []
  const cursors: number[] = []
  page.listings.forEach((listing, i) => {
    const cursor = cursorAt(page, i)
    if (dead(cursor)) return
    listings.push(listing)
    cursors.push(cursor)
  })
  if (listings.length === 0) return null
  return { last: cursors.at(-1)!, first: cursors[0], storedAt: page.storedAt, listings, cursors }
}

/** Rows of the one-record-per-listing layout (db.ts v1–v3), in cursor order, as pages. */
export function rowsToPages(rows: readonly StoredListing[]): StoredPage[] {
  const pages: StoredPage[] = []
  for (let at = 0; at < rows.length; at += MAX_STORED_PAGE_LISTINGS) {
    const part = rows.slice(at, at + MAX_STORED_PAGE_LISTINGS)
    pages.push({
      last: part.at(-1)!.cursor,
      first: part[0].cursor,
      storedAt: part.at(-1)!.storedAt,
      listings: part.map((r) => r.listing),
      cursors: part.map((r) => r.cursor),
    })
  }
  return pages
}

function row(listing: Listing, cursor: number, storedAt: number): StoredListing {
  return { key: listingKey(listing), infoHash: listing.infoHash, listing, storedAt, cursor }
}
