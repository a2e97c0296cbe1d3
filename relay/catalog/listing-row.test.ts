import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { verify } from '../../shared/identity.ts'
import { createListingBatch } from '../../shared/listing-batch.ts'
import { checkListing, verifyListing, type Listing } from '../../shared/listing.ts'
import { columnRows, listingJson, listingRow, rowColumns, type ListingRow } from './listing-row.ts'
import { FastSigner, sampleDraft } from './test-support.ts'

const NOW = 1_764_115_200
const signer = new FastSigner()

/** The same listing as a peer may spell it: its keys (and its batch's) in another order. */
function shuffled(listing: Listing, order: number[]): Record<string, unknown> {
  const keys = Object.keys(listing)
  const rotate = <T>(xs: T[], k: number) => xs.map((_, i) => xs[(i + k) % xs.length])
  const out: Record<string, unknown> = {}
  for (const key of rotate(keys, order[0] ?? 0).reverse()) {
    const value = listing[key as keyof Listing]
    out[key] =
      key === 'batch' && value
        ? Object.fromEntries(rotate(Object.entries(value), order[1] ?? 0))
        : key === 'fileList'
          ? listing.fileList.map((f) => ({ size: f.size, path: f.path }))
          : value
  }
  return out
}

describe('listingRow', () => {
  it('is the listing as JSON, with its UTF-8 size', () => {
    const l = signer.listing({ ...sampleDraft(3), name: 'Été 😀' }, { seq: 2, ts: NOW })
    const row = listingRow(l)
    expect(row).toMatchObject({ publisher: l.publisher, infoHash: l.infoHash, seq: 2, ts: NOW })
    expect(JSON.parse(row.json)).toEqual(l)
    expect(row.bytes).toBe(new TextEncoder().encode(row.json).length)
    expect(createHash('sha256').update(row.json).digest('hex')).toBe(
      createHash('sha256').update(JSON.stringify(l)).digest('hex'),
    )
  })

  it("writes what JSON.stringify writes of verifyListing's copy, whatever order a peer sent", () => {
    const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
    const draft = fc.record({
      i: fc.nat(1_000_000),
      name: text,
      description: fc.string({ unit: 'grapheme', maxLength: 80 }),
      paths: fc.array(fc.stringMatching(/^[a-z0-9 _\-.'"\\é]{1,20}$/), { maxLength: 4 }),
      size: fc.maxSafeNat(),
      seq: fc.nat(),
      batch: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
    })
    let checked = 0
    fc.assert(
      fc.property(draft, fc.array(fc.nat(20), { minLength: 2 }), (d, order) => {
        const base = sampleDraft(d.i)
        const fileList = d.paths.map((path, k) => ({ path: `d/${path}`, size: k }))
        const input = {
          ...base,
          name: d.name,
          description: d.description,
          size: d.size,
          files: Math.max(1, fileList.length),
          fileList,
        }
        const meta = { seq: d.seq, ts: NOW }
        let listing: Listing
        try {
          listing =
            d.batch === undefined
              ? signer.listing(input, meta)
              : createListingBatch(
                  [...Array.from({ length: d.batch - 1 }, (_, k) => sampleDraft(k, 1)), input],
                  signer,
                  meta,
                )[d.batch - 1]
          listing = verifyListing(listing, NOW, verify)
        } catch {
          return // text the listing checks refuse: nothing to store
        }
        checked++
        const expected = JSON.stringify(listing)
        expect(listingJson(listing)).toBe(expected)
        const asSent = checkListing(shuffled(listing, order), NOW, verify)
        expect(listingRow(asSent).json).toBe(expected)
        expect(listingRow(asSent).bytes).toBe(Buffer.byteLength(expected))
      }),
      { numRuns: 150 },
    )
    // Most drafts make listings: the comparison above ran, not only the refusals.
    expect(checked).toBeGreaterThan(100)
  })
})

describe('rowColumns', () => {
  it('gives back the same rows, in order, after a structured clone', () => {
    const row = fc.record<ListingRow>({
      publisher: fc.string(),
      infoHash: fc.string(),
      seq: fc.maxSafeNat(),
      ts: fc.nat(),
      json: fc.string({ unit: 'grapheme' }),
      bytes: fc.nat(),
    })
    fc.assert(
      fc.property(fc.array(row, { maxLength: 30 }), (rows) => {
        expect(columnRows(structuredClone(rowColumns(rows)))).toEqual(rows)
      }),
    )
  })
})
