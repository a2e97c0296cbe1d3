// The catalog against one source (issue 20, findings 7 and 8), on real relay processes:
// 1,000 fresh publisher keys from one address were all stored; 8 addresses stored 161 MB in
// 12 s with no total cap; a hostile --peer serving forged pages marked `more` kept 1.8 of 2
// cores busy, and one 8 MB page of nested JSON took RSS to 2.2 GB. Now new keys and bytes
// per address are capped, the catalog has a total cap (refusing, never evicting), and a peer
// that sends nothing valid is backed off from: counted by the requests the fake peer
// receives within a window, and by the relay's RSS and /metrics. Honest clients at other
// addresses keep publishing. (Pull budgets per peer: relay/catalog/sync.test.ts.)

import { createServer, type Server } from 'node:http'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { ListingDraft } from '../../shared/listing.ts'
import { FastSigner, sampleDraft } from '../catalog/test-support.ts'
import { allListings, listingsOf, removeTempDirs, waitFor } from './catalog-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { metricValue, refusalsFor } from './relay-metrics.ts'
import { postJsonFrom } from './from-address.ts'

/** RSS the relay stays under through the hostile peers (it was 2.2 GB). */
const MAX_RSS_BYTES = 400 * 1024 * 1024

const running: RelayProcess[] = []
const servers: Server[] = []

afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
})
afterAll(() => removeTempDirs())

async function relay(...args: string[]): Promise<RelayProcess> {
  const r = await startRelay({ args })
  running.push(r)
  return r
}

const metric = metricValue
const refused = refusalsFor

/** POST /v1/listings from a loopback alias (the relay sees that address). */
const postFrom = (url: string, localAddress: string, body: unknown) =>
  postJsonFrom(localAddress, `${url}/v1/listings`, body)

/** A fake peer relay: `page(n)` answers its n-th GET /v1/listings; other paths get 404. */
async function hostilePeer(
  page: (n: number) => string,
): Promise<{ url: string; pulls: () => number }> {
  let pulls = 0
  const server = createServer((req, res) => {
    if (!req.url!.startsWith('/v1/listings')) {
      res.statusCode = 404
      res.end('{}')
      return
    }
    res.setHeader('Content-Type', 'application/json')
    res.end(page(pulls++))
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    pulls: () => pulls,
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('a hostile peer relay', () => {
  it('backs off from forged pages marked more and from an 8 MB nesting bomb; RSS stays bounded', async () => {
    const [real] = listingsOf(new FastSigner(), 0, 1)
    const forged = { ...real, sig: (real.sig.startsWith('0') ? '1' : '0') + real.sig.slice(1) }
    const forgedPage = (n: number) =>
      JSON.stringify({
        listings: Array(500).fill(forged),
        next: (n + 1) * 500,
        more: true,
        epoch: 'abcd',
      })
    // Just under the puller's 8 MiB cap: four million arrays, nested.
    const depth = 4_000_000
    const bomb = `{"listings":${'['.repeat(depth)}${']'.repeat(depth)}}`
    const forger = await hostilePeer(forgedPage)
    const nester = await hostilePeer(() => bomb)
    const startedAt = Date.now()
    const r = await relay('--peer', forger.url, '--peer', nester.url, '--peer-poll-interval', '1')
    await waitFor('two pulls of each', async () => forger.pulls() >= 2 && nester.pulls() >= 2)
    // Poll interval 1 s: backoff of 2, 4, 8 … s. Within 10 s each fake sees a handful of
    // pulls; following `more` (or retrying at once) it was hundreds.
    await sleep(Math.max(0, startedAt + 10_000 - Date.now()))
    expect(forger.pulls()).toBeLessThan(12)
    expect(nester.pulls()).toBeLessThan(12)
    // Every pull but the one page fetched ahead at first is a counted failure, once checked:
    // a pull the fakes have answered may still be in the relay's workers, so its refusal is
    // counted a moment later (the count is waited for, not read at the same instant).
    const pulls = forger.pulls() + nester.pulls()
    await waitFor(
      'a refusal counted for each pull',
      async () => (await refused(r, 'peer-page-invalid')) + 2 >= pulls,
    )
    const rss = await metric(r, 'monsoon_process_resident_memory_bytes')
    expect(rss).toBeGreaterThan(0)
    expect(rss).toBeLessThan(MAX_RSS_BYTES)
    // Nothing forged was stored, and the relay serves others as before.
    expect(await allListings(r.url)).toHaveLength(0)
    const honest = listingsOf(new FastSigner(), 0, 3, 1)
    expect((await postFrom(r.url, '127.0.0.12', { listings: honest })).body).toMatchObject({
      stored: 3,
    })
    expect((await fetch(`${r.url}/health`)).status).toBe(200)
  })
})

describe('publisher keys from one address', () => {
  it('stores only the cap of 1,000 fresh keys from one address; another address still publishes', async () => {
    const r = await relay()
    const ts = Math.floor(Date.now() / 1000)
    const fresh = Array.from({ length: 1000 }, (_, i) =>
      new FastSigner().listing(sampleDraft(i, 3), { seq: 1, ts }),
    )
    const statuses: number[] = []
    for (let i = 0; i < fresh.length; i += 200) {
      const answer = await postFrom(r.url, '127.0.0.9', { listings: fresh.slice(i, i + 200) })
      statuses.push(answer.status)
    }
    // The first batch stores the hour's 60 new keys; the rest are refused whole (429).
    expect(statuses).toEqual([200, 429, 429, 429, 429])
    expect(await allListings(r.url)).toHaveLength(60)
    expect(await refused(r, 'publishers-per-address')).toBe(940)
    // An honest publisher at another address, with a key of its own and many listings.
    const honest = listingsOf(new FastSigner(), 0, 150, 4)
    const answer = await postFrom(r.url, '127.0.0.10', { listings: honest })
    expect(answer).toMatchObject({ status: 200, body: { stored: 150 } })
    expect(await allListings(r.url)).toHaveLength(210)
  })
})

/** A listing draft of ~26 KB, near the 32 KiB cap: what a flood of bytes is made of. */
function bigDraft(i: number, salt: number): ListingDraft {
  const base = sampleDraft(i, salt)
  const fileList = Array.from({ length: 45 }, (_, k) => ({
    path: `release-${i}/${'x'.repeat(240)}/${'y'.repeat(230)}-${k}.bin`,
    size: 1000 + k,
  }))
  return { ...base, files: 45, description: 'd'.repeat(2000), fileList }
}

describe('catalog bytes', () => {
  it('holds each of 8 flooding addresses to its bytes a minute, and the catalog to its cap', async () => {
    const cap = 6 * 1024 * 1024
    const r = await relay('--max-catalog-bytes', String(cap))
    const ts = Math.floor(Date.now() / 1000)
    const statuses = new Set<number>()
    await Promise.all(
      Array.from({ length: 8 }, async (_, a) => {
        const signer = new FastSigner()
        const big = Array.from({ length: 150 }, (_, i) =>
          signer.listing(bigDraft(i, 10 + a), { seq: 1, ts }),
        )
        for (let i = 0; i < big.length; i += 50) {
          const answer = await postFrom(r.url, `127.0.0.${20 + a}`, {
            listings: big.slice(i, i + 50),
          })
          statuses.add(answer.status)
        }
      }),
    )
    // 8 × 150 listings of ~26 KB (31 MB) were sent; each address may store ~2 MiB a minute
    // (~80), and the catalog holds 6 MiB: the rest refused, counted, nothing evicted.
    expect([...statuses].every((s) => s === 200 || s === 429)).toBe(true)
    const stored = await allListings(r.url)
    const bytes = stored.reduce((n, l) => n + Buffer.byteLength(JSON.stringify(l)), 0)
    expect(bytes).toBeLessThanOrEqual(cap)
    expect(bytes).toBeGreaterThan(cap / 2)
    expect(await refused(r, 'catalog-bytes-per-address')).toBeGreaterThan(0)
    expect(await refused(r, 'catalog-full')).toBeGreaterThan(0)
    // Full (less room left than one more such listing): a newcomer is told so (507), and
    // what is stored stays served.
    // Numbered 99999: longer than every listing of the flood, one of which did not fit.
    const late = new FastSigner().listing(bigDraft(99_999, 30), { seq: 1, ts })
    const answer = await postFrom(r.url, '127.0.0.40', late)
    expect(answer).toMatchObject({ status: 507, body: { code: 'catalog-full' } })
    expect(await allListings(r.url)).toHaveLength(stored.length)
    expect((await fetch(`${r.url}/health`)).status).toBe(200)
  })
})
