import { afterEach, describe, expect, it } from 'vitest'
import { verify } from '../../shared/identity.ts'
import type { Listing } from '../../shared/listing.ts'
import { rememberGoodSignatures } from '../../shared/listing-batch.ts'
import { quietRefusals } from '../refusals.ts'
import { ListingPublisher } from './publish.ts'
import { RateLimiter } from '../budget/quotas.ts'
import { CatalogStore } from './store.ts'
import { FastSigner, sampleDraft } from './test-support.ts'

const NOW_MS = 1_764_115_200_000
const NOW = NOW_MS / 1000
const stores: CatalogStore[] = []

interface Limits {
  address?: number
  publisher?: number
  maxStored?: number
  newKeys?: number
  bytes?: number
  maxCatalogBytes?: number
  /** Remember good signatures, as the relay's fast verifier does. */
  remember?: boolean
}

function setup(limits: Limits = {}) {
  const store = new CatalogStore(':memory:', {
    maxListingsPerPublisher: limits.maxStored,
    maxCatalogBytes: limits.maxCatalogBytes,
  })
  stores.push(store)
  const pushed: Listing[] = []
  let verified = 0
  const refusals = quietRefusals()
  const newKeys = limits.newKeys ?? 1000
  const counted = (s: Uint8Array, m: Uint8Array, k: Uint8Array) => (verified++, verify(s, m, k))
  const publisher = new ListingPublisher({
    store,
    verify: limits.remember ? rememberGoodSignatures(counted) : counted,
    perAddress: new RateLimiter({ perMinute: limits.address ?? 1000, maxKeys: 100 }),
    perPublisher: new RateLimiter({ perMinute: limits.publisher ?? 1000, maxKeys: 100 }),
    newPublishersPerAddress: new RateLimiter({
      perMinute: newKeys / 60,
      burst: newKeys,
      maxKeys: 100,
    }),
    bytesPerAddress: new RateLimiter({ perMinute: limits.bytes ?? 1e9, maxKeys: 100 }),
    refusals,
    onStored: (l) => pushed.push(...l),
  })
  return { store, publisher, pushed, refusals, verified: () => verified }
}

afterEach(() => {
  for (const s of stores.splice(0)) s.close()
})

describe('ListingPublisher', () => {
  const alice = new FastSigner()
  const bob = new FastSigner()

  it('maps every refusal to its status and stores the rest', () => {
    const { publisher, store } = setup()
    const good = alice.listing(sampleDraft(1), { seq: 2, ts: NOW })
    const results = publisher.publish(
      [
        good,
        { ...alice.listing(sampleDraft(2), { seq: 1, ts: NOW }), size: 1 },
        alice.listing(sampleDraft(3), { seq: 1, ts: NOW + 3600 }),
        alice.listing(sampleDraft(1), { seq: 1, ts: NOW }),
        { ...good, sig: good.sig.toUpperCase() },
        'nonsense',
      ],
      '192.0.2.1',
      NOW_MS,
    )
    expect(results.map((r) => r.status)).toEqual([200, 400, 422, 409, 400, 400])
    expect(results.map((r) => ('code' in r ? r.code : 'ok'))).toEqual([
      'ok',
      'bad-signature',
      'future',
      'stale',
      'malformed',
      'malformed',
    ])
    expect(store.count()).toBe(1)
  })

  it('pushes on only what it newly stored: a listing it already has goes nowhere', () => {
    const { publisher, pushed } = setup()
    const l = alice.listing(sampleDraft(1), { seq: 1, ts: NOW })
    publisher.publish([l], '192.0.2.1', NOW_MS)
    publisher.publish([l], '192.0.2.2', NOW_MS)
    expect(pushed).toEqual([l])
  })

  it('charges the address before verifying anything', () => {
    const { publisher, verified } = setup({ address: 5 })
    const batch = Array.from({ length: 8 }, (_, i) =>
      alice.listing(sampleDraft(i), { seq: 1, ts: NOW }),
    )
    const results = publisher.publish(batch, '192.0.2.1', NOW_MS)
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429])
    expect(verified()).toBe(5)
    expect(
      publisher.publish(batch.slice(5), '192.0.2.9', NOW_MS).every((r) => r.status === 200),
    ).toBe(true)
  })

  it('charges a publisher only for what would be stored, so replays cannot drain it', () => {
    const { publisher } = setup({ publisher: 3 })
    const first = alice.listing(sampleDraft(0), { seq: 1, ts: NOW })
    expect(publisher.publish([first], '192.0.2.1', NOW_MS)[0].status).toBe(200)
    for (let i = 0; i < 20; i++) publisher.publish([first], `198.51.100.${i}`, NOW_MS)
    const more = [1, 2, 3].map((i) => alice.listing(sampleDraft(i), { seq: 1, ts: NOW }))
    expect(publisher.publish(more, '192.0.2.1', NOW_MS).map((r) => r.status)).toEqual([
      200, 200, 429,
    ])
    // Bob is not affected by Alice's quota.
    expect(
      publisher.publish([bob.listing(sampleDraft(1), { seq: 1, ts: NOW })], '192.0.2.1', NOW_MS)[0]
        .status,
    ).toBe(200)
  })

  it('refuses a publisher at its stored cap with 429 publisher-full', () => {
    const { publisher } = setup({ maxStored: 2 })
    const batch = [0, 1, 2].map((i) => alice.listing(sampleDraft(i), { seq: 1, ts: NOW }))
    const results = publisher.publish(batch, '192.0.2.1', NOW_MS)
    expect(results.map((r) => r.status)).toEqual([200, 200, 429])
    expect(results[2]).toMatchObject({ code: 'publisher-full' })
  })

  it('stores at most the hourly cap of new publisher keys from one address', () => {
    const { publisher, store, refusals } = setup({ newKeys: 5 })
    const keys = Array.from({ length: 12 }, () => new FastSigner())
    // Two listings per key: the second of a key charged in the same batch is not new again.
    const batch = keys.flatMap((k) =>
      [0, 1].map((i) => k.listing(sampleDraft(i), { seq: 1, ts: NOW })),
    )
    const results = publisher.publish(batch, '192.0.2.1', NOW_MS)
    expect(results.filter((r) => r.status === 200)).toHaveLength(10)
    expect(results.slice(10).every((r) => r.status === 429)).toBe(true)
    expect(results[10]).toMatchObject({ code: 'publishers-per-address', retryAfter: 720 })
    expect(refusals.count('publishers-per-address')).toBe(14)
    // A key already stored is not new: it publishes on from the same address.
    const again = keys[0].listing(sampleDraft(2), { seq: 1, ts: NOW })
    expect(publisher.publish([again], '192.0.2.1', NOW_MS)[0].status).toBe(200)
    // Another address has its own budget; the refilled hour brings five more.
    expect(publisher.publish(batch.slice(10, 12), '192.0.2.2', NOW_MS)[0].status).toBe(200)
    const later = publisher.publish(batch.slice(12), '192.0.2.1', NOW_MS + 3_600_000)
    expect(later.filter((r) => r.status === 200)).toHaveLength(10)
    expect(store.count()).toBe(10 + 1 + 2 + 10)
  })

  it('holds one address to its bytes per minute, whatever keys it signs with', () => {
    const one = Buffer.byteLength(
      JSON.stringify(alice.listing(sampleDraft(0), { seq: 1, ts: NOW })),
    )
    const { publisher, refusals } = setup({ bytes: one * 3 + 10 })
    const batch = [alice, bob, new FastSigner(), new FastSigner()].map((k, i) =>
      k.listing(sampleDraft(i), { seq: 1, ts: NOW }),
    )
    const results = publisher.publish(batch, '192.0.2.1', NOW_MS)
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 429])
    expect(results[3]).toMatchObject({ code: 'catalog-bytes-per-address' })
    expect(refusals.count('catalog-bytes-per-address')).toBe(1)
    expect(publisher.publish(batch.slice(3), '192.0.2.2', NOW_MS)[0].status).toBe(200)
  })

  it('refuses new listings with 507 catalog-full when the catalog is full, keeping the stored', () => {
    const one = Buffer.byteLength(
      JSON.stringify(alice.listing(sampleDraft(0), { seq: 1, ts: NOW })),
    )
    const { publisher, store, refusals } = setup({ maxCatalogBytes: one * 2 + 10 })
    const first = [alice, bob].map((k, i) => k.listing(sampleDraft(i), { seq: 1, ts: NOW }))
    expect(publisher.publish(first, '192.0.2.1', NOW_MS).map((r) => r.status)).toEqual([200, 200])
    const carol = new FastSigner().listing(sampleDraft(5), { seq: 1, ts: NOW })
    const results = publisher.publish([carol], '192.0.2.3', NOW_MS)
    expect(results[0]).toMatchObject({ status: 507, code: 'catalog-full' })
    expect(refusals.count('catalog-full')).toBe(1)
    expect(store.count()).toBe(2)
    expect(store.get(alice.id, first[0].infoHash)).toEqual(first[0])
  })

  it('stores a posted v2 batch with one signature check, refusing a forged member', () => {
    const { publisher, store, verified } = setup({ remember: true })
    const listings = alice.batches(0, 40, { seq: 1, ts: NOW }, { batchSize: 20 })
    const forged = { ...listings[5], name: 'Not what was signed' }
    const values = [...listings.slice(0, 5), forged, ...listings.slice(5)]
    const results = publisher.publish(JSON.parse(JSON.stringify(values)), '192.0.2.1', NOW_MS)
    expect(results.map((r) => r.status)).toEqual(values.map((v) => (v === forged ? 400 : 200)))
    expect(results[5]).toMatchObject({ code: 'bad-signature' })
    expect(verified()).toBe(2)
    expect(store.count()).toBe(40)
    // Stored and served as posted, proof and all.
    expect(store.get(alice.id, listings[7].infoHash)).toEqual(listings[7])
  })

  it('takes v1 and v2 listings of one torrent by seq, whichever the version', () => {
    const { publisher, store } = setup()
    const v1 = alice.listing(sampleDraft(1), { seq: 1, ts: NOW })
    const [v2] = alice.batches(1, 1, { seq: 2, ts: NOW })
    const [v2Old] = alice.batches(1, 1, { seq: 1, ts: NOW })
    expect(publisher.publish([v1, v2, v2Old], '192.0.2.1', NOW_MS).map((r) => r.status)).toEqual([
      200, 200, 409,
    ])
    expect(store.get(alice.id, v1.infoHash)).toEqual(v2)
    const v1Newer = alice.listing(sampleDraft(1), { seq: 3, ts: NOW })
    expect(publisher.publish([v1Newer], '192.0.2.1', NOW_MS)[0].status).toBe(200)
    expect(store.get(alice.id, v1.infoHash)).toEqual(v1Newer)
  })
})
