import { afterEach, describe, expect, it, vi } from 'vitest'
import { createIdentity, hexToBytes, verify } from '../../shared/identity.ts'
import { createListing, signingBytes, type Listing } from '../../shared/listing.ts'
import { createListingBatch, identitySigner } from '../../shared/listing-batch.ts'
import { numberedDraft } from '../../shared/test/drafts.ts'
import { checkedListings, verifyListings } from './verify.ts'

const NOW = 1_764_115_200
const L = 2n ** 252n + 27742317777372353535851937790883648493n

function listing(i: number, id = createIdentity()): Listing {
  return createListing(numberedDraft(i), id, { seq: 1, ts: NOW })
}

function batch(from: number, n: number, id = createIdentity()): Listing[] {
  const drafts = Array.from({ length: n }, (_, i) => numberedDraft(from + i))
  return createListingBatch(drafts, identitySigner(id), { seq: 1, ts: NOW })
}

afterEach(() => {
  vi.restoreAllMocks()
})

/** The same signature with S + L: refused by strict RFC 8032 verifiers, accepted by lax ones. */
function malleate(l: Listing): Listing {
  const sig = hexToBytes(l.sig)
  let s = 0n
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i])
  let t = s + L
  for (let i = 0; i < 32; i++) {
    sig[32 + i] = Number(t & 0xffn)
    t >>= 8n
  }
  return { ...l, sig: Buffer.from(sig).toString('hex') }
}

describe('verifyListings', () => {
  it('keeps exactly what the reference verifier accepts, in order, across chunks', async () => {
    const id = createIdentity()
    const good = Array.from({ length: 150 }, (_, i) => listing(i, id))
    const values: unknown[] = []
    good.forEach((l, i) => {
      values.push(l)
      if (i % 10 === 0) values.push({ ...l, name: `${l.name} (tampered)` })
      if (i % 17 === 0) values.push(malleate(l))
      if (i % 23 === 0) values.push({ ...l, publisher: createIdentity().id })
    })
    values.push(null, 'x', { ...good[0], extra: 1 })
    const result = await verifyListings(values, NOW)
    expect(result.listings).toEqual(good)
    expect(result.invalid).toBe(values.length - good.length)
    for (const l of result.listings) {
      const { sig, ...unsigned } = l
      expect(verify(hexToBytes(sig), signingBytes(unsigned), hexToBytes(l.publisher))).toBe(true)
    }
  })

  it('checks one signature per batch of v2 listings, beside v1 ones, across chunks', async () => {
    const a = batch(0, 150)
    const b = batch(1000, 40)
    const v1 = [listing(5000), listing(5001)]
    const forged = { ...a[10], name: 'Item 10 (forged)' }
    const values: unknown[] = [...a.slice(0, 100), ...b, v1[0], forged, ...a.slice(100), v1[1]]
    const native = vi.spyOn(crypto.subtle, 'verify')
    const result = await verifyListings(values, NOW)
    expect(result.listings).toEqual(values.filter((v) => v !== forged))
    expect(result.invalid).toBe(1)
    // Two batches and two v1 listings; the forgery never reaches a signature check.
    expect(native).toHaveBeenCalledTimes(4)
    // A second pass (a page fetched again) remembers both batches; a v1 listing's long
    // message is not worth remembering, so those two are checked again.
    expect((await verifyListings(values, NOW)).listings).toHaveLength(values.length - 1)
    expect(native).toHaveBeenCalledTimes(6)
  })

  it('refuses a whole batch with a bad signature, every time it is offered', async () => {
    const good = batch(0, 70)
    const bad = good.map((l) => ({
      ...l,
      sig: good[0].sig.replace(/^./, (c) => (c === '0' ? '1' : '0')),
    }))
    const native = vi.spyOn(crypto.subtle, 'verify')
    for (let round = 0; round < 2; round++) {
      expect(await verifyListings(bad, NOW)).toEqual({ listings: [], invalid: 70 })
    }
    // The same bytes get the same answer: one check, remembered as a failure.
    expect(native).toHaveBeenCalledTimes(1)
    expect((await verifyListings(good, NOW)).listings).toEqual(good)
  })
})

describe('checkedListings', () => {
  it('answers as verifyListings, with the good values themselves rather than copies', async () => {
    const id = createIdentity()
    const good = [...batch(0, 30, id), listing(100, id), ...batch(200, 5)]
    const values: unknown[] = [...good]
    values.splice(3, 0, { ...good[3], name: 'Item 3 (forged)' }, malleate(good[30]), null)
    values.push({ ...good[0], extra: 1 })
    const checked = await checkedListings(values, NOW)
    expect(checked).toEqual(await verifyListings(values, NOW))
    expect(checked.invalid).toBe(4)
    checked.listings.forEach((l, i) => expect(l).toBe(good[i]))
  })
})
