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
  leadOf,
  nativeSha256,
  parsePulledPage,
  peekPageLead,
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

describe('peekPageLead', () => {
  const bytes = (text: string) => new TextEncoder().encode(text)
  const relayPage = (listings: unknown[], tail: string) =>
    bytes(`{"listings":${JSON.stringify(listings)}${tail}`)

  it("reads the head of a page laid out as a relay writes it, stats and all, or of an older relay's", () => {
    const stats = Object.fromEntries(
      Array.from({ length: 1000 }, (_, i) => [
        i.toString(16).padStart(40, '0'),
        { seeds: i, leechers: 1, downloads: 2 },
      ]),
    )
    const tail = `,"next":12,"more":true,"latest":40,"epoch":"0a","stats":${JSON.stringify(stats)},"statsAbsentIsZero":true}`
    expect(peekPageLead(relayPage([{ a: '],"next":99,' }], tail))).toEqual({
      next: 12,
      more: true,
      epoch: '0a',
      empty: false,
    })
    expect(peekPageLead(relayPage([], ',"next":3,"more":false,"epoch":"ff","stats":{}}'))).toEqual({
      next: 3,
      more: false,
      epoch: 'ff',
      empty: true,
    })
    expect(peekPageLead(relayPage([], ',"next":3,"more":false,"epoch":"ff"}'))).toMatchObject({
      next: 3,
    })
  })

  it('reads nothing of text, of other layouts, or of a head it cannot be sure of', () => {
    const tail = ',"next":1,"more":true,"epoch":"ab"}'
    const unsure = [
      relayPage([1], tail),
      bytes(`{"listings": [{}]${tail}`),
      bytes(`{"next":1,"more":true,"epoch":"ab","listings":[{}]}`),
      relayPage([{}], ',"next":1.5,"more":true,"epoch":"ab"}'),
      relayPage([{}], ',"next":-1,"more":true,"epoch":"ab"}'),
      relayPage([{}], ',"next":1,"more":"yes","epoch":"ab"}'),
      relayPage([{}], ',"next":1,"more":true,"epoch":"AB"}'),
      relayPage([{}], `,"next":${'9'.repeat(16)},"more":true,"epoch":"ab"}`),
      relayPage([{}], ',"next":1,"more":true,"epoch":"ab'),
      relayPage([], ',"next":0,"more":false,"epoch":"ab","next":[],"next":0}'),
      relayPage([{}], `,"next":1,"more":true,"epoch":"ab","stats":{"x":"${'y'.repeat(300_000)}"}}`),
      bytes('{"listings":[{'),
      new Uint8Array(0),
    ]
    for (const page of unsure) expect(peekPageLead(page)).toBeNull()
    expect(peekPageLead(`{"listings":[{}]${tail}`)).toBeNull()
  })

  it('property: a lead read is the parsed head, or the page fails to parse', () => {
    const item = fc.oneof(fc.string({ unit: 'grapheme' }), fc.integer(), fc.constant({}))
    const key = fc.constantFrom('next', 'more', 'epoch', 'listings', 'latest', 'stats')
    const value = fc.oneof(
      fc.nat(),
      fc.boolean(),
      fc.constantFrom('ab', '0f', 'AB'),
      fc.constant([]),
    )
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 5 }),
        fc.nat(),
        fc.boolean(),
        fc.array(fc.tuple(key, value), { maxLength: 3 }),
        (listings, next, more, extra) => {
          const tail =
            `,"next":${next},"more":${more},"epoch":"ab"` +
            extra.map(([k, v]) => `,"${k}":${JSON.stringify(v)}`).join('') +
            '}'
          const page = relayPage(listings, tail)
          const lead = peekPageLead(page)
          let parsed
          try {
            parsed = leadOf(parsePulledPage(page, 'p'))
          } catch {
            return
          }
          // A relay's page (listings that are objects, nothing after the head but its own
          // keys) always has its lead read, and it is the parsed head. Keys after the head may
          // hide it (`"next":[],"next":0` ends in the mark it looks for: no lead), or make the
          // parse differ, which VerifyPool catches.
          if (extra.length > 0) return
          if (listings.every((l) => typeof l === 'object')) expect(lead).not.toBeNull()
          if (lead !== null) expect(lead).toEqual(parsed)
        },
      ),
    )
  })
})
