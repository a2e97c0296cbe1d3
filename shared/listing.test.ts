import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import vectors from './test/vectors/listing.json'
import { bytesToHex, createIdentity, hexToBytes, identityFromSecret } from './identity.ts'
import {
  CATEGORIES,
  ListingError,
  checkListing,
  createListing,
  signingBytes,
  supersedes,
  verifyListing,
  type Listing,
  type ListingDraft,
} from './listing.ts'

const NOW = 1_764_115_200
const draft: ListingDraft = {
  infoHash: 'aa'.repeat(20),
  name: 'Sintel',
  size: 1234,
  files: 1,
  category: 'movie',
  description: 'An open movie.',
  fileList: [{ path: 'sintel.webm', size: 1234 }],
}

function expectRefused(value: unknown, code: ListingError['code'], now = NOW) {
  let error: unknown
  try {
    verifyListing(value, now)
  } catch (err) {
    error = err
  }
  expect(error).toBeInstanceOf(ListingError)
  expect((error as ListingError).code).toBe(code)
}

describe('listing known answers', () => {
  it.each(vectors)('signing bytes and signature of $listing.name', (v) => {
    const id = identityFromSecret(hexToBytes(v.secretKey))
    const listing = v.listing as Listing
    expect(bytesToHex(signingBytes(listing))).toBe(v.signingBytes)
    const { sig: _sig, v: _v, publisher: _p, seq, ts, ...fields } = listing
    expect(createListing(fields, id, { seq, ts })).toEqual(listing)
    expect(verifyListing(JSON.parse(JSON.stringify(listing)), NOW)).toEqual(listing)
  })
})

describe('createListing / verifyListing', () => {
  const id = createIdentity()

  it('round-trips any draft through JSON', () => {
    const text = fc.string({ unit: 'binary', maxLength: 300 })
    fc.assert(
      fc.property(
        fc.record({
          infoHash: fc.stringMatching(/^[0-9a-f]{40}$/),
          name: text.filter((s) => /[a-z0-9]/i.test(s)),
          size: fc.maxSafeNat(),
          files: fc.integer({ min: 1, max: 1_000_000 }),
          category: fc.constantFrom(...CATEGORIES),
          description: text,
          fileList: fc.array(
            fc.record({
              path: fc.string({ minLength: 1, maxLength: 50 }).map((s) => s + 'x'),
              size: fc.maxSafeNat(),
            }),
            { maxLength: 5 },
          ),
        }),
        fc.nat(),
        (d, seq) => {
          const listing = createListing({ ...d, files: Math.max(d.files, d.fileList.length) }, id, {
            seq,
            ts: NOW,
          })
          const back = verifyListing(JSON.parse(JSON.stringify(listing)), NOW)
          expect(back).toEqual(listing)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('sanitises hostile text before signing, and shows it as text', () => {
    const listing = createListing(
      {
        ...draft,
        name: '../../\u202eevil<img src=x onerror=alert(1)>\u0000',
        description: 'x\u0007y',
      },
      id,
      { seq: 1, ts: NOW },
    )
    expect(listing.name).toBe('..-..-evil<img src=x onerror=alert(1)>')
    expect(listing.description).toBe('xy')
    expect(verifyListing(listing, NOW)).toEqual(listing)
  })

  it('refuses a tampered field, a wrong key and a forged publisher', () => {
    const listing = createListing(draft, id, { seq: 1, ts: NOW })
    expectRefused({ ...listing, name: 'Sintel 2' }, 'bad-signature')
    expectRefused({ ...listing, size: 1235 }, 'bad-signature')
    expectRefused({ ...listing, seq: 2 }, 'bad-signature')
    expectRefused({ ...listing, publisher: createIdentity().id }, 'bad-signature')
    const other = createListing(draft, createIdentity(), { seq: 1, ts: NOW })
    expectRefused({ ...listing, sig: other.sig }, 'bad-signature')
  })

  it('refuses non-canonical spellings instead of fixing them', () => {
    const listing = createListing(draft, id, { seq: 1, ts: NOW })
    expectRefused({ ...listing, infoHash: listing.infoHash.toUpperCase() }, 'malformed')
    expectRefused({ ...listing, sig: listing.sig.toUpperCase() }, 'malformed')
    expectRefused({ ...listing, size: '1234' }, 'malformed')
    expectRefused({ ...listing, size: 1234.5 }, 'malformed')
    expectRefused({ ...listing, size: -1 }, 'malformed')
    expectRefused({ ...listing, name: 'Sintel\u202e' }, 'malformed')
    expectRefused({ ...listing, name: 'a/b' }, 'malformed')
    expectRefused({ ...listing, name: 'Cafe\u0301' }, 'malformed')
    expectRefused({ ...listing, category: 'porn' }, 'malformed')
    expectRefused({ ...listing, fileList: [{ path: '../x', size: 1 }] }, 'malformed')
    expectRefused({ ...listing, extra: 1 }, 'malformed')
    expectRefused({ ...listing, v: 2 }, 'malformed')
    expectRefused(null, 'malformed')
    expectRefused([listing], 'malformed')
  })

  it('refuses oversized values', () => {
    const listing = createListing(draft, id, { seq: 1, ts: NOW })
    expectRefused({ ...listing, name: 'a'.repeat(257) }, 'malformed')
    expectRefused({ ...listing, name: 'a'.repeat(10_000_000) }, 'malformed')
    expectRefused({ ...listing, description: 'a'.repeat(2001) }, 'malformed')
    const many = Array.from({ length: 101 }, (_, i) => ({ path: `f${i}`, size: 1 }))
    expectRefused({ ...listing, files: 200, fileList: many }, 'malformed')
  })

  it('keeps a signed record under the byte cap by cutting the file list', () => {
    const long = Array.from({ length: 100 }, (_, i) => ({
      path: `${'d'.repeat(250)}/${'p'.repeat(250)}${i}`,
      size: i,
    }))
    const listing = createListing({ ...draft, files: 100, fileList: long }, id, { seq: 1, ts: NOW })
    expect(listing.fileList.length).toBeLessThan(100)
    expect(verifyListing(listing, NOW)).toEqual(listing)
  })

  it('refuses a ts beyond the clock-skew bound, accepts one within it', () => {
    expectRefused(createListing(draft, id, { seq: 1, ts: NOW + 601 }), 'future')
    const near = createListing(draft, id, { seq: 1, ts: NOW + 600 })
    expect(verifyListing(near, NOW).ts).toBe(NOW + 600)
  })

  it('checks the signature with an injected verifier when given one', () => {
    const listing = createListing(draft, id, { seq: 1, ts: NOW })
    const seen: Uint8Array[] = []
    const accepting = (sig: Uint8Array, msg: Uint8Array) => (seen.push(msg), sig.length === 64)
    expect(verifyListing(listing, NOW, accepting)).toEqual(listing)
    expect(bytesToHex(seen[0])).toBe(bytesToHex(signingBytes(listing)))
    let error: unknown
    try {
      verifyListing(listing, NOW, () => false)
    } catch (err) {
      error = err
    }
    expect((error as ListingError).code).toBe('bad-signature')
  })

  it('replaces only with a higher seq (a replayed old seq loses)', () => {
    expect(supersedes({ seq: 2 }, { seq: 1 })).toBe(true)
    expect(supersedes({ seq: 1 }, { seq: 1 })).toBe(false)
    expect(supersedes({ seq: 0 }, { seq: 1 })).toBe(false)
  })

  it('checkListing gives the same answer as verifyListing, the value itself instead of a copy', () => {
    const good = JSON.parse(JSON.stringify(createListing(draft, id, { seq: 1, ts: NOW })))
    expect(checkListing(good, NOW)).toBe(good)
    expect(verifyListing(good, NOW)).toEqual(good)
    const flip = (c: string) => (c === '0' ? '1' : '0')
    fc.assert(
      fc.property(fc.nat({ max: 1000 }), (at) => {
        // One character of the record changed: both refuse, with the same code, or both pass.
        const text = JSON.stringify(good)
        const i = at % text.length
        let value: unknown
        try {
          value = JSON.parse(text.slice(0, i) + flip(text[i]) + text.slice(i + 1))
        } catch {
          return
        }
        const answer = (check: typeof verifyListing) => {
          try {
            check(value, NOW)
            return 'good'
          } catch (err) {
            return (err as ListingError).code
          }
        }
        expect(answer(checkListing)).toBe(answer(verifyListing))
      }),
      { numRuns: 200 },
    )
  })
})
