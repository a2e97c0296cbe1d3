import { describe, expect, it } from 'vitest'
import { createIdentity, hexToBytes, verify } from '../../shared/identity.ts'
import { createListing, signingBytes, type Listing } from '../../shared/listing.ts'
import { verifyListings } from './verify.ts'

const NOW = 1_764_115_200
const L = 2n ** 252n + 27742317777372353535851937790883648493n

function listing(i: number, id = createIdentity()): Listing {
  return createListing(
    {
      infoHash: i.toString(16).padStart(40, '0'),
      name: `Item ${i}`,
      size: i,
      files: 1,
      category: 'misc',
      description: '',
      fileList: [],
    },
    id,
    { seq: 1, ts: NOW },
  )
}

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
})
