// The catalog's HTTP API on a real relay process, with hostile input: every refusal has its
// status and a short JSON error, the relay stays up, and nothing stored is lost or changed.

import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ed25519 } from '@noble/curves/ed25519.js'
import type { Listing } from '../../shared/listing.ts'
import { FastSigner, sampleDraft } from '../catalog/test-support.ts'
import { allListings, getJson, listingsOf, postJson, type Answer } from './catalog-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'

const L = 2n ** 252n + 27742317777372353535851937790883648493n
const now = () => Math.floor(Date.now() / 1000)

let relay: RelayProcess
let keySpam: RelayProcess
let addressSpam: RelayProcess
let capped: RelayProcess

beforeAll(async () => {
  ;[relay, keySpam, addressSpam, capped] = await Promise.all([
    startRelay(),
    // Only the publisher quota in play: the address quota is lifted.
    startRelay({ args: ['--publish-rate-per-address', '1000000'] }),
    startRelay(),
    startRelay({
      args: ['--max-listings-per-publisher', '20', '--publish-rate-per-publisher', '100000'],
    }),
  ])
})

afterAll(async () => {
  await Promise.all([relay, keySpam, addressSpam, capped].map((r) => r?.stop()))
})

async function stored(r: RelayProcess, l: Listing): Promise<Listing | undefined> {
  const { status, body } = await getJson(`${r.url}/v1/listings/${l.infoHash}`)
  if (status !== 200) return undefined
  return (body.listings as Listing[]).find((x) => x.publisher === l.publisher)
}

/** POSTs `count` copies of `chunk` over a raw socket, with a Content-Length or chunked, and
 * resolves with the status the relay answers (it may close the connection right after). */
function rawPost(port: number, chunk: string, count: number, withLength: boolean) {
  return new Promise<number>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => {
      answer += d
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(answer)
      if (status) {
        resolve(Number(status[1]))
        socket.destroy()
      }
    })
    socket.on('error', reject)
    socket.on('close', () => reject(new Error(`closed without an answer: ${answer}`)))
    const framing = withLength
      ? `Content-Length: ${chunk.length * count}`
      : 'Transfer-Encoding: chunked'
    socket.write(`POST /v1/listings HTTP/1.1\r\nHost: x\r\n${framing}\r\n\r\n`)
    let sent = 0
    const send = () => {
      while (sent < count && !socket.destroyed) {
        sent++
        const piece = withLength ? chunk : `${chunk.length.toString(16)}\r\n${chunk}\r\n`
        if (!socket.write(piece)) return void socket.once('drain', send)
      }
      if (!withLength && !socket.destroyed) socket.write('0\r\n\r\n')
    }
    send()
  })
}

function expectRefused(answer: Answer, status: number, code: string) {
  expect(answer.status).toBe(status)
  expect(answer.body.code).toBe(code)
  expect(typeof answer.body.error).toBe('string')
}

describe('POST /v1/listings', () => {
  const alice = new FastSigner()
  const mallory = new FastSigner()

  it('stores a signed listing and answers with it and its cursor', async () => {
    const l = alice.listing(sampleDraft(1), { seq: 1, ts: now() })
    const answer = await postJson(relay.url, l)
    expect(answer.status).toBe(200)
    expect(answer.body.listing).toEqual(l)
    expect(answer.body.cursor).toBeGreaterThan(0)
    expect(await stored(relay, l)).toEqual(l)
  })

  it('refuses tampered fields, a wrong key and forged signatures, storing nothing', async () => {
    const l = alice.listing(sampleDraft(2), { seq: 1, ts: now() })
    expectRefused(await postJson(relay.url, { ...l, name: 'Better name' }), 400, 'bad-signature')
    expectRefused(await postJson(relay.url, { ...l, size: l.size + 1 }), 400, 'bad-signature')
    expectRefused(await postJson(relay.url, { ...l, publisher: mallory.id }), 400, 'bad-signature')
    const other = mallory.listing(sampleDraft(2), { seq: 1, ts: l.ts })
    expectRefused(await postJson(relay.url, { ...l, sig: other.sig }), 400, 'bad-signature')
    // S + L: the same signature, malleated; strict verification refuses it.
    const s = BigInt('0x' + Buffer.from(l.sig.slice(64), 'hex').reverse().toString('hex'))
    const malleated = Buffer.from((s + L).toString(16).padStart(64, '0'), 'hex').reverse()
    const sig = l.sig.slice(0, 64) + malleated.toString('hex')
    expectRefused(await postJson(relay.url, { ...l, sig }), 400, 'bad-signature')
    // The identity point as public key, with a signature that fits it: R = [s]B.
    const forged = {
      ...l,
      publisher: '01'.padEnd(64, '0'),
      sig:
        Buffer.from(ed25519.Point.BASE.multiply(5n).toBytes()).toString('hex') +
        '05'.padEnd(64, '0'),
    }
    expectRefused(await postJson(relay.url, forged), 400, 'bad-signature')
    expect(await stored(relay, l)).toBeUndefined()
  })

  it('refuses non-canonical spellings and junk as malformed', async () => {
    const l = alice.listing(sampleDraft(3), { seq: 1, ts: now() })
    for (const bad of [
      { ...l, sig: l.sig.toUpperCase() },
      { ...l, publisher: l.publisher.toUpperCase() },
      { ...l, size: String(l.size) },
      { ...l, seq: 1.5 },
      { ...l, name: 'a\u202eb' },
      { ...l, extra: true },
      [l],
      null,
      42,
      { listings: 'no' },
    ]) {
      expectRefused(await postJson(relay.url, bad), 400, 'malformed')
    }
    expectRefused(await postJson(relay.url, '{"v":1,'), 400, 'malformed')
    const batch = await postJson(relay.url, { listings: [l, { ...l, v: 2 }] })
    expect(batch.status).toBe(200)
    expect((batch.body.results as { status: number }[]).map((r) => r.status)).toEqual([200, 400])
  })

  it('refuses a replayed older or equal seq with 409 and keeps the stored one', async () => {
    const v1 = alice.listing(sampleDraft(4), { seq: 1, ts: now() })
    const v2 = alice.listing({ ...sampleDraft(4), name: 'Second edition' }, { seq: 2, ts: now() })
    expect((await postJson(relay.url, v1)).status).toBe(200)
    expect((await postJson(relay.url, v2)).status).toBe(200)
    expectRefused(await postJson(relay.url, v1), 409, 'stale')
    const sameSeq = alice.listing({ ...sampleDraft(4), name: 'Rewritten' }, { seq: 2, ts: now() })
    expectRefused(await postJson(relay.url, sameSeq), 409, 'stale')
    expect(await stored(relay, v1)).toEqual(v2)
  })

  it('refuses a ts too far in the future with 422', async () => {
    const l = alice.listing(sampleDraft(5), { seq: 1, ts: now() + 3600 })
    expectRefused(await postJson(relay.url, l), 422, 'future')
  })

  it('refuses oversized bodies before parsing them, with or without a length', async () => {
    const chunk = 'x'.repeat(64 * 1024)
    // 2.5 MiB, declared up front, then the same sent chunked (no length to check).
    expect(await rawPost(relay.port, chunk, 40, true)).toBe(413)
    expect(await rawPost(relay.port, chunk, 40, false)).toBe(413)
    const many = listingsOf(alice, 1000, 201)
    expectRefused(await postJson(relay.url, { listings: many }), 413, 'too-large')
    // One listing over the signed-size cap.
    const files = Array.from({ length: 100 }, (_, i) => ({
      path: `${'d'.repeat(200)}/${'p'.repeat(200)}${i}`,
      size: 1,
    }))
    const big = alice.listing(
      { ...sampleDraft(6), files: 100, fileList: files },
      { seq: 1, ts: now() },
    )
    expectRefused(await postJson(relay.url, big), 413, 'too-large')
  })
})

describe('GET /v1/listings', () => {
  it('pages by cursor with clamped limits, and swarm figures kept apart', async () => {
    const bob = new FastSigner()
    const batch = listingsOf(bob, 0, 30, 7)
    expect((await postJson(relay.url, { listings: batch })).body.stored).toBe(30)
    const first = await getJson(`${relay.url}/v1/listings?after=0&limit=10`)
    expect(first.status).toBe(200)
    const page = first.body as { listings: Listing[]; next: number; more: boolean; latest: number }
    expect(page.listings.length).toBe(10)
    expect(page.more).toBe(true)
    expect(page.latest).toBeGreaterThanOrEqual(page.next)
    // No swarm for any of them: left out of stats, which the page says means zero.
    expect(first.body.stats).toEqual({})
    expect(first.body.statsAbsentIsZero).toBe(true)
    for (const l of page.listings) expect(Object.keys(l)).not.toContain('seeds')
    const rest = await getJson(`${relay.url}/v1/listings?after=${page.next}&limit=100000`)
    expect((rest.body.listings as Listing[]).length).toBeLessThanOrEqual(1000)
    expect((await getJson(`${relay.url}/v1/listings?limit=0`)).body.listings).toHaveLength(1)
    const all = await allListings(relay.url)
    expect(new Set(all.map((l) => l.sig)).size).toBe(all.length)
    for (const l of batch) expect(all).toContainEqual(l)
  })

  it('reports this relay tracker figures for a listed hash', async () => {
    const carol = new FastSigner()
    const [l] = listingsOf(carol, 0, 1, 8)
    await postJson(relay.url, l)
    const hash = l.infoHash.replace(/../g, '%$&')
    const announce = (peer: string, left: number) =>
      fetch(`${relay.url}/announce?info_hash=${hash}&peer_id=${peer}&port=6881&left=${left}`)
    await announce('-XX0001-aaaaaaaaaaaa', 0)
    await announce('-XX0001-bbbbbbbbbbbb', 10)
    const { body } = await getJson(`${relay.url}/v1/listings/${l.infoHash}`)
    expect(body.stats).toEqual({ seeds: 1, leechers: 1, downloads: 0 })
    expect(body.listings).toEqual([l])
  })

  it('answers 400 for bad cursors and hashes, 404 for an unknown hash', async () => {
    for (const q of ['after=-1', 'after=abc', 'after=1e3', 'limit=x', `after=${'9'.repeat(30)}`]) {
      expect((await getJson(`${relay.url}/v1/listings?${q}`)).status).toBe(400)
    }
    expect((await getJson(`${relay.url}/v1/listings/xyz`)).status).toBe(400)
    expect((await getJson(`${relay.url}/v1/listings/${'g'.repeat(40)}`)).status).toBe(400)
    const missing = await getJson(`${relay.url}/v1/listings/${'ab'.repeat(20)}`)
    expect(missing.status).toBe(404)
    expect(missing.body.error).toBeTruthy()
  })

  it('lists the relays it knows', async () => {
    const { body } = await getJson(`${relay.url}/v1/relays`)
    expect(body).toEqual({ self: `http://localhost:${relay.port}`, relays: [] })
  })
})

describe('quotas', () => {
  it('stops 10,000 listings from one key with 429, keeping what was stored', async () => {
    const spammer = new FastSigner()
    const earlier = new FastSigner().listing(sampleDraft(1), { seq: 1, ts: now() })
    expect((await postJson(keySpam.url, earlier)).status).toBe(200)
    const spam = listingsOf(spammer, 0, 10_000, 1)
    const statuses: number[] = []
    for (let i = 0; i < spam.length; i += 200) {
      const answer = await postJson(keySpam.url, { listings: spam.slice(i, i + 200) })
      if (answer.status === 429) {
        statuses.push(...Array<number>(200).fill(429))
        expect(answer.body.code).toBe('quota')
      } else {
        statuses.push(...(answer.body.results as { status: number }[]).map((r) => r.status))
      }
    }
    const ok = statuses.filter((s) => s === 200).length
    expect(statuses.filter((s) => s === 429).length).toBe(10_000 - ok)
    expect(ok).toBeGreaterThanOrEqual(600)
    expect(ok).toBeLessThan(2000)
    const all = await allListings(keySpam.url)
    expect(all.filter((l) => l.publisher === spammer.id).length).toBe(ok)
    expect(await stored(keySpam, earlier)).toEqual(earlier)
  })

  it('stops 10,000 listings from one address with 429, forged X-Forwarded-For or not', async () => {
    const earlier = new FastSigner().listing(sampleDraft(2), { seq: 1, ts: now() })
    expect((await postJson(addressSpam.url, earlier)).status).toBe(200)
    const keys = Array.from({ length: 50 }, () => new FastSigner())
    const spam = keys.flatMap((k, i) => listingsOf(k, 0, 200, 100 + i))
    let ok = 0
    let refused = 0
    for (let i = 0; i < spam.length; i += 200) {
      const answer = await postJson(
        addressSpam.url,
        { listings: spam.slice(i, i + 200) },
        { 'X-Forwarded-For': `203.0.113.${i % 250}` },
      )
      if (answer.status === 429) {
        refused += 200
        expect(answer.body.code).toBe('quota')
        continue
      }
      for (const r of answer.body.results as { status: number }[]) {
        if (r.status === 200) ok++
        else if (r.status === 429) refused++
      }
    }
    expect(ok + refused).toBe(10_000)
    expect(ok).toBeGreaterThanOrEqual(1200 - 1)
    expect(ok).toBeLessThan(3000)
    expect(await stored(addressSpam, earlier)).toEqual(earlier)
    const health = await fetch(`${addressSpam.url}/health`)
    expect(health.status).toBe(200)
  })

  it('caps the listings stored per publisher, still allowing updates', async () => {
    const prolific = new FastSigner()
    const listings = listingsOf(prolific, 0, 30, 9)
    const answer = await postJson(capped.url, { listings })
    const results = answer.body.results as { status: number; code?: string }[]
    expect(results.filter((r) => r.status === 200).length).toBe(20)
    expect(results.slice(20).every((r) => r.status === 429 && r.code === 'publisher-full')).toBe(
      true,
    )
    const update = prolific.listing(sampleDraft(0, 9), { seq: 2, ts: now() })
    expect((await postJson(capped.url, update)).status).toBe(200)
  })
})
