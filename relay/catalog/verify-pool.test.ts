import { afterAll, describe, expect, it } from 'vitest'
import { verify } from '../../shared/identity.ts'
import { ListingError, verifyListing } from '../../shared/listing.ts'
import { rememberGoodSignatures } from '../../shared/listing-batch.ts'
import { createFastVerifier } from '../signatures/verify.ts'
import { VerifyPool } from './verify-pool.ts'
import { FastSigner, sampleDraft } from './test-support.ts'
import { listingRow } from './listing-row.ts'
import { MalformedPageError } from './page-check.ts'
import { MAX_PAGE_LISTINGS } from '../limits.ts'

const NOW = 1_764_115_200
const signer = new FastSigner()
const pools: VerifyPool[] = []
afterAll(() => Promise.all(pools.map((p) => p.close())))

/** 300 values: valid listings with tampered, future, and junk ones mixed in. */
function mixedPage(): unknown[] {
  return Array.from({ length: 300 }, (_, i) => {
    const l = signer.listing(sampleDraft(i, 3), { seq: 1, ts: NOW })
    if (i % 7 === 0) return { ...l, size: l.size + 1 }
    if (i % 11 === 0) return signer.listing(sampleDraft(i, 3), { seq: 1, ts: NOW + 7200 })
    if (i % 13 === 0) return { junk: i }
    if (i % 17 === 0) return { ...l, fileList: [null] }
    return l
  })
}

function reference(values: unknown[]) {
  const listings = []
  let invalid = 0
  for (const v of values) {
    try {
      listings.push(verifyListing(v, NOW, verify))
    } catch (err) {
      if (!(err instanceof ListingError)) throw err
      invalid++
    }
  }
  return { rows: listings.map(listingRow), invalid, received: values.length }
}

/** v2 batches of two publishers interleaved with v1 listings, forgeries among them. */
function batchPage(): unknown[] {
  const other = new FastSigner()
  const a = signer.batches(0, 300, { seq: 1, ts: NOW }, { salt: 5, batchSize: 100 })
  const b = other.batches(0, 90, { seq: 1, ts: NOW }, { salt: 6, batchSize: 30 })
  const values: unknown[] = [...a.slice(0, 150), ...b, ...a.slice(150)]
  values.splice(40, 0, signer.listing(sampleDraft(1, 7), { seq: 1, ts: NOW }))
  values.splice(200, 1, { ...a[160], size: 1 })
  values.splice(250, 0, { ...a[10], batch: { ...a[10].batch!, proof: [] } })
  return values
}

// The reference answers (noble, ~600/s) are computed once for every pool size.
const page = mixedPage()
const expected = reference(page)
const expectedTail = reference(page.slice(100))
const batches = batchPage()
const expectedBatches = reference(batches)

const pageText = (values: unknown[]) =>
  JSON.stringify({ listings: values, next: 7, more: true, epoch: 'ab', stats: {} })

/** The head and rows a pool gives for a page of `values`. */
async function check(pool: VerifyPool, values: unknown[]) {
  const checked = pool.checkPage(pageText(values), 'test', NOW)
  return { head: await checked.head, ...(await checked.verified) }
}
const head = (received: number) => ({ next: 7, more: true, epoch: 'ab', empty: received === 0 })

describe('VerifyPool', () => {
  it.each([0, 1, 3])(
    'with %i workers keeps exactly the listings noble accepts, in order',
    async (size) => {
      const pool = new VerifyPool(size, createFastVerifier())
      pools.push(pool)
      expect(expected.invalid).toBeGreaterThan(50)
      expect(await check(pool, page)).toEqual({ head: head(300), ...expected })
      // Again, and pages at once, to use the workers already started.
      const [tail, whole] = await Promise.all([check(pool, page.slice(100)), check(pool, page)])
      expect(tail).toEqual({ head: head(200), ...expectedTail })
      expect(whole).toEqual({ head: head(300), ...expected })
    },
  )

  it.each([0, 1, 2])('with %i workers keeps the same v1 and v2 listings as noble', async (size) => {
    const pool = new VerifyPool(size, createFastVerifier())
    pools.push(pool)
    expect(expectedBatches.invalid).toBe(2)
    expect(await check(pool, batches)).toEqual({ head: head(batches.length), ...expectedBatches })
  })

  it.each([0, 2])(
    'with %i workers checks a page given as bytes as its text, copying them',
    async (size) => {
      const pool = new VerifyPool(size, createFastVerifier())
      pools.push(pool)
      const bytes = new TextEncoder().encode(pageText(batches))
      const before = bytes.slice()
      // Pages at once, spread over the workers.
      const checked = [0, 1, 2].map(() => pool.checkPage(bytes, 'test', NOW))
      for (const c of checked) {
        expect({ head: await c.head, ...(await c.verified) }).toEqual({
          head: head(batches.length),
          ...expectedBatches,
        })
      }
      expect(bytes).toEqual(before)
      // A view into a larger buffer: only its own bytes are read.
      const framed = new Uint8Array(bytes.length + 8)
      framed.set(bytes, 4)
      const view = pool.checkPage(framed.subarray(4, 4 + bytes.length), 'test', NOW)
      expect(await view.verified).toEqual(expectedBatches)
      // Bytes that are not UTF-8 are refused as the text of them would be.
      const bad = pool.checkPage(Uint8Array.of(0x7b, 0xff, 0x7d), 'test', NOW)
      await expect(bad.verified).rejects.toBeInstanceOf(MalformedPageError)
    },
  )

  it('takes the head of a page laid out as a relay writes it from its bytes, before the worker parses it, and fails the page when the parsed head differs', async () => {
    const pool = new VerifyPool(1, createFastVerifier())
    pools.push(pool)
    const listings = JSON.stringify(batches)
    const encode = (tail: string) => new TextEncoder().encode(`{"listings":${listings}${tail}`)
    const honest = pool.checkPage(
      encode(',"next":7,"more":true,"latest":9,"epoch":"ab","stats":{}}'),
      'test',
      NOW,
    )
    expect(await honest.head).toEqual(head(1))
    expect(await honest.verified).toEqual(expectedBatches)
    // A second key after the one read: JSON.parse keeps the last, so the parsed head differs.
    for (const tail of [
      ',"next":7,"more":true,"epoch":"ab","stats":{},"next":8}',
      ',"next":7,"more":true,"epoch":"ab","more":false}',
      ',"next":7,"more":true,"epoch":"ab","epoch":"cd"}',
    ]) {
      const lying = pool.checkPage(encode(tail), 'test', NOW)
      expect(await lying.head).toEqual(head(1))
      await expect(lying.verified).rejects.toThrow(/head differs/)
    }
    // An empty page read as empty; a listing list that only looked empty is caught too.
    const empty = new TextEncoder().encode('{"listings":[],"next":7,"more":true,"epoch":"ab"}')
    expect(await pool.checkPage(empty, 'test', NOW).head).toEqual(head(0))
    const dressed = new TextEncoder().encode(
      `{"listings":[],"next":7,"more":true,"epoch":"ab","listings":${JSON.stringify(batches.slice(0, 9))}}`,
    )
    await expect(pool.checkPage(dressed, 'test', NOW).verified).rejects.toThrow(/head differs/)
    // And goes on with the next page.
    expect(await check(pool, batches)).toEqual({ head: head(1), ...expectedBatches })
  })

  it('checks one signature per batch (inline, with the memo the relay uses)', async () => {
    let checks = 0
    const counted = rememberGoodSignatures((s, m, k) => (checks++, verify(s, m, k)))
    const pool = new VerifyPool(0, counted)
    expect(await check(pool, batches)).toMatchObject(expectedBatches)
    // Three batches of one publisher, three of the other, one v1 listing; the forgeries
    // fold to no signed root.
    expect(checks).toBe(7)
  })

  it.each([0, 1])('with %i workers refuses a page that is no use, as a whole', async (size) => {
    const pool = new VerifyPool(size, createFastVerifier())
    pools.push(pool)
    const good = page.slice(0, 3)
    const bad = [
      '{"listings": [',
      'null',
      '[]',
      JSON.stringify({ listings: good, next: -1, more: true, epoch: 'ab' }),
      JSON.stringify({ listings: good, next: 1, more: 'yes', epoch: 'ab' }),
      JSON.stringify({ listings: good, next: 1, more: true, epoch: 'AB' }),
      JSON.stringify({ listings: {}, next: 1, more: true, epoch: 'ab' }),
      JSON.stringify({
        listings: Array(MAX_PAGE_LISTINGS + 1).fill(0),
        next: 1,
        more: true,
        epoch: 'ab',
      }),
      `{"listings":[${'['.repeat(100_000)}`,
    ]
    for (const text of bad) {
      const checked = pool.checkPage(text, 'test', NOW)
      await expect(checked.head).rejects.toBeInstanceOf(MalformedPageError)
      await expect(checked.verified).rejects.toBeInstanceOf(MalformedPageError)
    }
    // And goes on with the next page.
    expect(await check(pool, good)).toMatchObject({ head: head(3) })
  })

  it('refuses work once closed', async () => {
    const pool = new VerifyPool(1, createFastVerifier())
    await pool.close()
    await expect(pool.checkPage(pageText(page), 'test', NOW).verified).rejects.toThrow(/closed/)
  })
})
