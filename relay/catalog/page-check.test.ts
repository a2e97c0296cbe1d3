import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { sha256 } from '@noble/hashes/sha2.js'
import { verify } from '../../shared/identity.ts'
import { verifyListing } from '../../shared/listing.ts'
import { MAX_PAGE_LISTINGS } from '../limits.ts'
import { createFastVerifier } from '../signatures/verify.ts'
import { listingRow } from './listing-row.ts'
import {
  MalformedPageError,
  checkRows,
  nativeSha256,
  parsePulledPage,
  relayVerifiedBatches,
  type CheckedRows,
} from './page-check.ts'
import { FastSigner, sampleDraft } from './test-support.ts'

const NOW = 1_764_115_200
const signer = new FastSigner()

describe('nativeSha256', () => {
  it('gives the bytes noble gives, for any input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (data) => {
        expect(new Uint8Array(nativeSha256(data))).toEqual(sha256(data))
      }),
    )
  })
})

describe('checkRows', () => {
  it('gives the rows of exactly the listings noble accepts, in order, and counts the rest', () => {
    const batch = signer.batches(0, 40, { seq: 1, ts: NOW }, { salt: 2, batchSize: 16 })
    const values: unknown[] = [
      ...batch.slice(0, 20),
      { ...batch[20], name: 'changed' },
      signer.listing(sampleDraft(9, 2), { seq: 1, ts: NOW }),
      { ...batch[22], batch: { ...batch[22].batch!, i: 3 } },
      { junk: true },
      null,
      ...batch.slice(24),
    ]
    const into: CheckedRows = { rows: [], invalid: 0 }
    const batches = relayVerifiedBatches()
    checkRows(values, 0, values.length, NOW, createFastVerifier(), batches, into)
    const good = values.flatMap((v) => {
      try {
        return [listingRow(verifyListing(v, NOW, verify))]
      } catch {
        return []
      }
    })
    expect(into.invalid).toBe(values.length - good.length)
    expect(into.invalid).toBe(4)
    expect(into.rows).toEqual(good)
    expect(JSON.parse(into.rows[0].json)).toEqual(batch[0])
    expect(into.rows[0].bytes).toBe(Buffer.byteLength(into.rows[0].json))
  })

  it("stores a listing a peer spelled its own way as verifyListing's JSON, not the peer's", () => {
    const [l] = signer.batches(0, 3, { seq: 1, ts: NOW }, { salt: 4 })
    const canonical = JSON.stringify(verifyListing(l, NOW, verify))
    // Keys reversed, spaces, an escaped letter: the same listing, other bytes.
    const reversed = Object.fromEntries(Object.entries(l).reverse())
    const text = JSON.stringify(
      { listings: [reversed], next: 1, more: false, epoch: 'ab' },
      null,
      1,
    ).replace('"name": "Sample', '"name": "\\u0053ample')
    const page = parsePulledPage(text, 'p')
    const into: CheckedRows = { rows: [], invalid: 0 }
    checkRows(page.listings, 0, 1, NOW, createFastVerifier(), relayVerifiedBatches(), into)
    expect(into).toEqual({ rows: [listingRow(verifyListing(l, NOW, verify))], invalid: 0 })
    expect(into.rows[0].json).toBe(canonical)
    expect(text).not.toContain(canonical)
    expect(text).toContain('\\u0053ample')
  })

  it('throws a fault that is not a refusal', () => {
    const broken = () => {
      throw new Error('verifier down')
    }
    const values = [signer.listing(sampleDraft(1), { seq: 1, ts: NOW })]
    const into: CheckedRows = { rows: [], invalid: 0 }
    expect(() => checkRows(values, 0, 1, NOW, broken, relayVerifiedBatches(), into)).toThrow(
      'verifier down',
    )
  })
})

describe('parsePulledPage', () => {
  const page = { listings: [1, 2], next: 5, more: false, epoch: '0a', stats: {} }

  it('reads a page and counts its listings', () => {
    expect(parsePulledPage(JSON.stringify(page), 'p')).toEqual({
      listings: [1, 2],
      next: 5,
      more: false,
      epoch: '0a',
      received: 2,
    })
  })

  it('refuses bad JSON, nesting bombs and anything but a page as MalformedPageError', () => {
    const bad = [
      '',
      '{',
      'null',
      '[1]',
      `{"listings":${'['.repeat(50_000)}`,
      `{"listings":[${'{},'.repeat(300_000)}{}],"next":1,"more":true,"epoch":"ab"}`,
      JSON.stringify({ ...page, listings: 'x' }),
      JSON.stringify({ ...page, listings: Array(MAX_PAGE_LISTINGS + 1).fill(0) }),
      JSON.stringify({ ...page, next: 1.5 }),
      JSON.stringify({ ...page, next: -1 }),
      JSON.stringify({ ...page, more: 1 }),
      JSON.stringify({ ...page, epoch: '' }),
      JSON.stringify({ ...page, epoch: 'f'.repeat(65) }),
      JSON.stringify({ ...page, epoch: 'not hex' }),
    ]
    for (const text of bad) {
      expect(() => parsePulledPage(text, 'p'), text.slice(0, 40)).toThrow(MalformedPageError)
      const bytes = new TextEncoder().encode(text)
      expect(() => parsePulledPage(bytes, 'p'), text.slice(0, 40)).toThrow(MalformedPageError)
    }
  })

  it('property: a page as UTF-8 bytes reads as its text, whatever it holds', () => {
    const item = fc.oneof(fc.string({ unit: 'grapheme' }), fc.integer(), fc.constant(null))
    fc.assert(
      fc.property(fc.array(item, { maxLength: 20 }), fc.nat(), (listings, next) => {
        const text = JSON.stringify({ ...page, listings, next })
        const bytes = new TextEncoder().encode(text)
        const framed = new Uint8Array(bytes.length + 6)
        framed.set(bytes, 3)
        const read = parsePulledPage(framed.subarray(3, 3 + bytes.length), 'p')
        expect(read).toEqual(parsePulledPage(text, 'p'))
        expect(read.listings).toEqual(listings)
      }),
    )
  })
})
