// Listings signed a batch at a time (v2) through real relay processes on 127.0.0.1: posted
// to one relay beside v1 ones, served with their proofs, and pulled by a second relay whose
// verify workers check them, each arriving whole; a forged member of a batch is refused.

import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { Listing } from '../../shared/listing.ts'
import { allListings, postJson, removeTempDirs, waitFor } from '../test/catalog-helpers.ts'
import { startRelay, type RelayProcess } from '../test/relay-process.ts'
import { FastSigner, sampleDraft } from './test-support.ts'

const running: RelayProcess[] = []

async function relay(...args: string[]): Promise<RelayProcess> {
  const r = await startRelay({ args })
  running.push(r)
  return r
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
})
afterAll(() => removeTempDirs())

const byKey = (l: Listing) => `${l.publisher}:${l.infoHash}`
const sorted = (ls: Listing[]) => [...ls].sort((a, b) => byKey(a).localeCompare(byKey(b)))

describe('v2 listings between relays', () => {
  it('accepts, serves and syncs batches beside v1 listings, refusing a forged member', async () => {
    const meta = { seq: 1, ts: Math.floor(Date.now() / 1000) }
    const alice = new FastSigner()
    const bob = new FastSigner()
    const listings = [
      ...alice.batches(0, 300, meta, { batchSize: 150 }),
      ...bob.batches(0, 60, meta, { salt: 1 }),
      alice.listing(sampleDraft(0, 2), meta),
    ]
    const a = await relay()
    for (let i = 0; i < listings.length; i += 150) {
      const { status, body } = await postJson(a.url, { listings: listings.slice(i, i + 150) })
      expect(status).toBe(200)
      expect(body.stored).toBe(Math.min(150, listings.length - i))
    }
    const forged = { ...listings[3], infoHash: 'ab'.repeat(20) }
    const refused = await postJson(a.url, forged)
    expect(refused).toMatchObject({ status: 400, body: { code: 'bad-signature' } })
    expect(sorted(await allListings(a.url))).toEqual(sorted(listings))

    const b = await relay('--peer', a.url, '--peer-poll-interval', '1')
    const pulled = await waitFor('relay 2 to pull every listing', async () => {
      const got = await allListings(b.url)
      return got.length === listings.length && got
    })
    expect(sorted(pulled)).toEqual(sorted(listings))
    expect(pulled.filter((l) => l.v === 2)).toHaveLength(360)
  })
})
