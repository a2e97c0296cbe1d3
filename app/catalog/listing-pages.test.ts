// Pages of listings: what is fresh is judged as db.ts v3 judged it row by row, pages keep
// every listing's cursor through splitting, compaction and the move from rows.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createIdentity } from '../../shared/identity.ts'
import { createListing, type Listing } from '../../shared/listing.ts'
import { sampleDraft } from '../../relay/catalog/test-support.ts'
import {
  MAX_STORED_PAGE_LISTINGS,
  compacted,
  cursorAt,
  dueForCompaction,
  freshListings,
  listingKey,
  pageRows,
  rowAt,
  rowsToPages,
  toPages,
  type CurrentListing,
} from './listing-pages.ts'

const NOW = 1_764_115_200_000
const author = createIdentity()
/** Signed once per (i, seq): the properties below make thousands. */
const signed = new Map<string, Listing>()
const listing = (i: number, seq = 1): Listing => {
  const id = `${i}/${seq}`
  let l = signed.get(id)
  if (!l) signed.set(id, (l = createListing(sampleDraft(i), author, { seq, ts: NOW / 1000 })))
  return l
}
const none = () => false

/** The row-by-row reference: each listing read against what the map holds, then written. */
function rowByRow(held: Map<string, number>, batch: Listing[]): Map<string, number> {
  const out = new Map(held)
  for (const l of batch) {
    const seq = out.get(listingKey(l))
    if (seq === undefined || l.seq > seq) out.set(listingKey(l), l.seq)
  }
  return out
}

describe('freshListings', () => {
  it('keeps new keys and higher seqs, one per key, and names the cursors they replace', () => {
    const current = new Map<string, CurrentListing>([
      [listingKey(listing(1)), { seq: 2, cursor: 7 }],
    ])
    const { fresh, superseded } = freshListings(
      [listing(1, 2), listing(2), listing(1, 3), listing(2, 1), listing(3)],
      (key) => current.get(key),
    )
    expect(fresh.map((l) => [l.name, l.seq])).toEqual([
      [listing(2).name, 1],
      [listing(1).name, 3],
      [listing(3).name, 1],
    ])
    expect(superseded).toEqual([7])
  })

  it('a page with the same key a thousand times stores it once (hostile duplicates)', () => {
    const batch = Array.from({ length: 1000 }, (_, k) => listing(1, (k % 5) + 1))
    const { fresh, superseded } = freshListings(batch, () => undefined)
    expect(fresh).toEqual([listing(1, 5)])
    expect(superseded).toEqual([])
  })

  it('ends where the row-by-row store ends, over any batches', () => {
    const batch = fc.array(fc.tuple(fc.nat(6), fc.integer({ min: 1, max: 4 })), { maxLength: 12 })
    fc.assert(
      fc.property(fc.array(batch, { maxLength: 5 }), (batches) => {
        let reference = new Map<string, number>()
        const held = new Map<string, CurrentListing>()
        let cursor = 0
        for (const b of batches) {
          const listings = b.map(([i, seq]) => listing(i, seq))
          reference = rowByRow(reference, listings)
          const { fresh, superseded } = freshListings(listings, (key) => held.get(key))
          const replaced = fresh.flatMap((l) => held.get(listingKey(l))?.cursor ?? [])
          expect(superseded.sort()).toEqual(replaced.sort())
          for (const l of fresh) held.set(listingKey(l), { seq: l.seq, cursor: ++cursor })
        }
        expect(new Map([...held].map(([k, v]) => [k, v.seq]))).toEqual(reference)
      }),
    )
  })
})

describe('pages', () => {
  it('numbers listings on from the last cursor, split at MAX_STORED_PAGE_LISTINGS', () => {
    const many = Array.from({ length: MAX_STORED_PAGE_LISTINGS + 3 }, () => listing(1))
    const pages = toPages(many, 40, NOW)
    expect(pages.map((p) => [p.first, p.last, p.listings.length])).toEqual([
      [41, 40 + MAX_STORED_PAGE_LISTINGS, MAX_STORED_PAGE_LISTINGS],
      [41 + MAX_STORED_PAGE_LISTINGS, 43 + MAX_STORED_PAGE_LISTINGS, 3],
    ])
    expect(toPages([], 40, NOW)).toEqual([])
  })

  it('reads rows after a cursor and one row by cursor, dead ones left out', () => {
    const [page] = toPages([listing(1), listing(2), listing(3)], 10, NOW)
    const dead = (c: number) => c === 12
    expect(pageRows(page, 10, dead).map((r) => r.cursor)).toEqual([11, 13])
    expect(pageRows(page, 11, none).map((r) => r.cursor)).toEqual([12, 13])
    expect(rowAt(page, 13, dead)).toEqual({
      key: listingKey(listing(3)),
      infoHash: listing(3).infoHash,
      listing: listing(3),
      storedAt: NOW,
      cursor: 13,
    })
    expect(rowAt(page, 12, dead)).toBeUndefined()
    expect(rowAt(page, 14, none)).toBeUndefined()
    expect(rowAt(page, 10, none)).toBeUndefined()
  })

  it('compacts a page once half of it is dead, keeping every live cursor', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.boolean(), { maxLength: 40 }),
        (n, kill) => {
          const [page] = toPages(
            Array.from({ length: n }, (_, i) => listing(i % 7)),
            100,
            NOW,
          )
          const dead = (c: number) => kill[c - 101] === true
          const deadCount = page.listings.filter((_, i) => dead(cursorAt(page, i))).length
          expect(dueForCompaction(page, deadCount)).toBe(deadCount > 0 && deadCount >= n / 2)
          const kept = compacted(page, dead)
          const live = pageRows(page, 0, dead)
          if (live.length === 0) {
            expect(kept).toBeNull()
            return
          }
          expect(pageRows(kept!, 0, none)).toEqual(live)
          for (const row of live) expect(rowAt(kept!, row.cursor, none)).toEqual(row)
          expect(pageRows(kept!, live[0].cursor, none)).toEqual(live.slice(1))
        },
      ),
    )
  })

  it('moves rows of the old layout into pages with their cursors (the v3 → v4 upgrade)', () => {
    const M = MAX_STORED_PAGE_LISTINGS
    const rows = Array.from({ length: 2 * M + M / 2 }, (_, i) => ({
      key: `k${i}`,
      infoHash: listing(i % 9).infoHash,
      listing: listing(i % 9),
      storedAt: NOW + i,
      // Cursors with gaps, as rows replaced in v2–v3 left them.
      cursor: 3 * i + 1,
    }))
    const pages = rowsToPages(rows)
    expect(pages.map((p) => p.listings.length)).toEqual([M, M, M / 2])
    const back = pages.flatMap((p) => pageRows(p, 0, none))
    expect(back.map((r) => r.cursor)).toEqual(rows.map((r) => r.cursor))
    expect(back.map((r) => r.listing)).toEqual(rows.map((r) => r.listing))
    expect(rowAt(pages[1], rows[M + M / 4].cursor, none)?.listing).toEqual(rows[M + M / 4].listing)
    expect(rowsToPages([])).toEqual([])
  })
})
