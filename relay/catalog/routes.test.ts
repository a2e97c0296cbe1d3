// GET /v1/listings through the Hono routes: headers and bodies as a client sees them.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { Tracker } from '../tracker/tracker.ts'
import type { ListingPublisher } from './publish.ts'
import { catalogRoutes } from './routes.ts'
import { DEFAULT_PAGE_SERVER_OPTIONS } from './page-server.ts'
import { CatalogStore } from './store.ts'
import { FastSigner, sampleDraft } from './test-support.ts'

const dirs: string[] = []
const stores: CatalogStore[] = []
afterEach(() => {
  for (const s of stores.splice(0)) s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function routes(count: number, pages = {}, tracker = new Tracker()) {
  const dir = mkdtempSync(join(tmpdir(), 'monsoon-routes-'))
  dirs.push(dir)
  const store = new CatalogStore(join(dir, 'catalog.sqlite'), { synchronous: 'normal' })
  stores.push(store)
  const signer = new FastSigner()
  store.putMany(
    Array.from({ length: count }, (_, i) => signer.listing(sampleDraft(i), { seq: 1, ts: 1 })),
  )
  return catalogRoutes({
    store,
    publisher: {} as ListingPublisher,
    tracker,
    publicUrl: () => 'http://relay.test',
    peers: [],
    trustProxy: false,
    pages,
  })
}

describe('GET /v1/listings', () => {
  it('sends br to a browser, and a 304 without a body for the tag it holds', async () => {
    const app = routes(20)
    const res = await app.request('/v1/listings?after=0&limit=10', {
      headers: { 'Accept-Encoding': 'gzip, deflate, br, zstd' },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-encoding')).toBe('br')
    expect(res.headers.get('content-type')).toBe('application/json')
    const page = JSON.parse(brotliDecompressSync(Buffer.from(await res.arrayBuffer())).toString())
    expect(page).toMatchObject({ next: 10, more: true, latest: 20 })
    expect(page.listings).toHaveLength(10)
    const again = await app.request('/v1/listings?after=0&limit=10', {
      headers: { 'If-None-Match': res.headers.get('etag')! },
    })
    expect(again.status).toBe(304)
    expect(await again.text()).toBe('')
  })

  it("carries the figures of the page's hashes that have a swarm, and says the rest are zero", async () => {
    const tracker = new Tracker()
    const app = routes(5, {}, tracker)
    const first = (await (await app.request('/v1/listings?after=0&limit=5')).json()) as {
      listings: { infoHash: string }[]
    }
    const seeded = first.listings[2].infoHash
    tracker.announce(
      {
        kind: 'tcp',
        infoHash: seeded,
        peerId: 'a'.repeat(40),
        ip: '10.0.0.1',
        port: 6881,
        left: 0,
        event: 'started',
        numwant: 0,
      },
      Date.now(),
    )
    // Another page (a cached one keeps its figures until its snapshot ends).
    const page = await (await app.request('/v1/listings?after=0&limit=4')).json()
    expect(page).toMatchObject({ statsAbsentIsZero: true })
    expect(page.stats).toEqual({ [seeded]: { seeds: 1, leechers: 0, downloads: 0 } })
  })

  it('answers 429 with Retry-After to an address over its builds', async () => {
    const app = routes(20, {
      builds: { ...DEFAULT_PAGE_SERVER_OPTIONS.builds, perAddressPerMinute: 1 },
    })
    expect((await app.request('/v1/listings?after=0&limit=5')).status).toBe(200)
    const refused = await app.request('/v1/listings?after=5&limit=5')
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('60')
    expect(await refused.json()).toMatchObject({ code: 'rate-limited' })
  })

  // Issue 23: after a browser synced through the sealed tunnel (gzip), the first client to
  // ask one of those pages in br held the builder for good, and every page build after it
  // waited forever (/health still answered). Hung before the fix.
  it('serves pages in br after a browser pulled them in gzip, and builds new ones', async () => {
    const app = routes(40)
    const get = (query: string, accept?: string) =>
      app.request(`/v1/listings?${query}`, { headers: accept ? { 'Accept-Encoding': accept } : {} })
    // One address may have 3 builds at once: the browser pulls one page at a time.
    const pulled: Buffer[] = []
    for (const after of [0, 10, 20, 30]) {
      const res = await get(`after=${after}&limit=10`, 'gzip')
      pulled.push(gunzipSync(Buffer.from(await res.arrayBuffer())))
    }
    for (const [i, after] of [0, 10, 20, 30].entries()) {
      const res = await get(`after=${after}&limit=10`, 'gzip, deflate, br')
      expect(res.headers.get('content-encoding')).toBe('br')
      expect(brotliDecompressSync(Buffer.from(await res.arrayBuffer()))).toEqual(pulled[i])
    }
    expect((await get('after=5&limit=7', 'br')).status).toBe(200)
    expect((await get('after=5&limit=7')).status).toBe(200)
  })
})
