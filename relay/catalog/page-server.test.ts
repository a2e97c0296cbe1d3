import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { quietRefusals } from '../refusals.ts'
import { DEFAULT_PAGE_SERVER_OPTIONS, PageServer, type PageAnswer } from './page-server.ts'
import { CatalogStore } from './store.ts'
import { FastSigner, sampleDraft } from './test-support.ts'

const signer = new FastSigner()
const dirs: string[] = []
const stores: CatalogStore[] = []

afterEach(() => {
  for (const s of stores.splice(0)) s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function storeWith(count: number): CatalogStore {
  const dir = mkdtempSync(join(tmpdir(), 'monsoon-pages-'))
  dirs.push(dir)
  const store = new CatalogStore(join(dir, 'catalog.sqlite'), { synchronous: 'normal' })
  stores.push(store)
  store.putMany(Array.from({ length: count }, (_, i) => listing(i)))
  return store
}

function listing(i: number) {
  return signer.listing(sampleDraft(i, 7), { seq: 1, ts: 1_764_115_200 })
}

const seeds = { seeds: 3, leechers: 1, downloads: 9 }
/** A page server; pages are built only when asked for unless `options` say otherwise, so
 * counts and bytes are exact (building ahead has tests of its own). */
function server(store: CatalogStore, now = { ms: 0 }, options = {}) {
  const refusals = quietRefusals()
  const pages = new PageServer(
    {
      store,
      figures: (hashes) => Object.fromEntries([...hashes].map((h) => [h, seeds])),
      refusals,
      nowMs: () => now.ms,
    },
    { buildAhead: false, ...options },
  )
  return { pages, refusals }
}

/** The page as routes.ts built it before pages were cached: the JSON must not change. */
function plainPage(store: CatalogStore, after: number, limit: number): unknown {
  const page = store.page(after, limit)
  const listings = page.rows.map((r) => JSON.parse(r) as { infoHash: string })
  return {
    listings,
    next: page.next,
    more: page.more,
    latest: store.latest(),
    epoch: store.epoch,
    stats: Object.fromEntries(listings.map((l) => [l.infoHash, seeds])),
    statsAbsentIsZero: true,
  }
}

function decoded(answer: PageAnswer): unknown {
  if (answer.status !== 200) throw new Error(`status ${answer.status}`)
  const body = Buffer.from(answer.body)
  const coding = answer.headers['Content-Encoding']
  const text =
    coding === 'br' ? brotliDecompressSync(body) : coding === 'gzip' ? gunzipSync(body) : body
  return JSON.parse(text.toString())
}

const ask = { address: '10.0.0.1' }
const headersOf = (a: PageAnswer): Record<string, string> => ('headers' in a ? a.headers : {})

describe('PageServer', () => {
  it('sends br, gzip or identity as accepted, each decoding to the same JSON as before', async () => {
    const store = storeWith(30)
    const { pages } = server(store)
    const expected = plainPage(store, 5, 10)
    for (const [accept, coding] of [
      ['gzip, deflate, br', 'br'],
      ['gzip', 'gzip'],
      [undefined, undefined],
      ['deflate', undefined],
    ] as const) {
      const answer = await pages.answer({ ...ask, after: 5, limit: 10, acceptEncoding: accept })
      expect(answer.status).toBe(200)
      if (answer.status !== 200) continue
      expect(answer.headers['Content-Encoding']).toBe(coding)
      expect(answer.headers.Vary).toBe('Accept-Encoding')
      expect(decoded(answer)).toEqual(expected)
    }
    expect(pages.counts).toMatchObject({ built: 1, compressed: 2 })
  })

  it('writes the JSON the rows make, byte for byte, text beyond ASCII and empty pages too', async () => {
    const store = storeWith(3)
    store.putMany(
      ['Été 😀', 'Ünïcödé \u2028', '日本語の名前'].map((name, i) =>
        signer.listing({ ...sampleDraft(10 + i, 7), name }, { seq: 1, ts: 1_764_115_200 }),
      ),
    )
    const { pages } = server(store)
    for (const [after, limit] of [
      [0, 10],
      [2, 3],
      [6, 10],
    ]) {
      const page = store.page(after, limit)
      const stats = Object.fromEntries(
        page.rows.map((r) => [(JSON.parse(r) as { infoHash: string }).infoHash, seeds]),
      )
      const template =
        `{"listings":[${page.rows.join(',')}],"next":${page.next},"more":${page.more},` +
        `"latest":${store.latest()},"epoch":"${store.epoch}","stats":${JSON.stringify(stats)},` +
        `"statsAbsentIsZero":true}`
      const answer = await pages.answer({ ...ask, after, limit })
      if (answer.status !== 200) throw new Error(`status ${answer.status}`)
      expect(Buffer.from(answer.body).equals(Buffer.from(template))).toBe(true)
    }
  })

  it('leaves the hashes with no swarm out of stats, and says a missing one is zero', async () => {
    const store = storeWith(6)
    const none = { seeds: 0, leechers: 0, downloads: 0 }
    const some = (i: number) => ({ seeds: i, leechers: 0, downloads: i === 2 ? 0 : 1 })
    const pages = new PageServer({
      store,
      // Every other hash has a swarm; the others are all zeros.
      figures: (hashes) =>
        Object.fromEntries([...hashes].map((h, i) => [h, i % 2 ? some(i) : none])),
      nowMs: () => 0,
    })
    const page = decoded(await pages.answer({ ...ask, after: 0, limit: 10 })) as {
      listings: { infoHash: string }[]
      stats: Record<string, unknown>
      statsAbsentIsZero: unknown
    }
    const hashes = page.listings.map((l) => l.infoHash)
    expect(page.statsAbsentIsZero).toBe(true)
    expect(page.stats).toEqual({ [hashes[1]]: some(1), [hashes[3]]: some(3), [hashes[5]]: some(5) })
  })

  it('answers 304 to If-None-Match with the page tag, in any coding', async () => {
    const store = storeWith(30)
    const { pages } = server(store)
    const first = await pages.answer({ ...ask, after: 0, limit: 10, acceptEncoding: 'br' })
    const etag = headersOf(first).ETag
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}-br"$/)
    const again = await pages.answer({ ...ask, after: 0, limit: 10, ifNoneMatch: etag })
    expect(again.status).toBe(304)
    expect(headersOf(again).ETag).toBe(etag.replace('-br', ''))
    const other = await pages.answer({ ...ask, after: 10, limit: 10, ifNoneMatch: etag })
    expect(other.status).toBe(200)
  })

  it('lets a page with rows after it be kept; the last page must be asked again', async () => {
    const store = storeWith(25)
    const now = { ms: 0 }
    const { pages } = server(store, now)
    const full = await pages.answer({ ...ask, after: 0, limit: 10 })
    expect(headersOf(full)['Cache-Control']).toBe('public, max-age=60')
    now.ms = 45_500
    const later = await pages.answer({ ...ask, after: 0, limit: 10 })
    expect(headersOf(later)['Cache-Control']).toBe('public, max-age=14')
    const last = await pages.answer({ ...ask, after: 20, limit: 10 })
    expect(headersOf(last)['Cache-Control']).toBe('no-cache')
    expect((decoded(last) as { more: boolean }).more).toBe(false)
  })

  it('never serves the last page stale: a listing stored since shows at once', async () => {
    const store = storeWith(25)
    const { pages } = server(store)
    const before = await pages.answer({ ...ask, after: 20, limit: 10 })
    store.put(listing(99))
    const after = await pages.answer({
      ...ask,
      after: 20,
      limit: 10,
      ifNoneMatch: headersOf(before).ETag,
    })
    expect(after.status).toBe(200)
    expect(decoded(after)).toEqual(plainPage(store, 20, 10))
    expect((decoded(after) as { listings: unknown[] }).listings).toHaveLength(6)
  })

  it('holds a compressed page without its JSON, and makes the JSON or gzip from it', async () => {
    const store = storeWith(30)
    const { pages } = server(store)
    const br = await pages.answer({ ...ask, after: 0, limit: 20, acceptEncoding: 'br' })
    const brBytes = br.status === 200 ? br.body.length : 0
    expect(pages.cache.bytes).toBe(brBytes)
    const plain = await pages.answer({ ...ask, after: 0, limit: 20 })
    const gz = await pages.answer({ ...ask, after: 0, limit: 20, acceptEncoding: 'gzip' })
    expect(decoded(plain)).toEqual(decoded(br))
    expect(decoded(gz)).toEqual(plainPage(store, 0, 20))
    expect(headersOf(gz).ETag).toBe(headersOf(br).ETag.replace('-br', '-gzip'))
    expect(pages.counts.built).toBe(1)
    const held = [br, plain, gz].reduce((n, a) => n + (a.status === 200 ? a.body.length : 0), 0)
    expect(pages.cache.bytes).toBe(held)
  })

  it('builds and compresses a page once for many clients asking at once', async () => {
    const store = storeWith(30)
    const { pages } = server(store)
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        pages.answer({ address: `10.0.1.${i}`, after: 0, limit: 10, acceptEncoding: 'br' }),
      ),
    )
    expect(answers.every((a) => a.status === 200)).toBe(true)
    expect(pages.counts.built).toBe(1)
    expect(pages.counts.compressed).toBe(1)
  })

  it('keeps within its byte budget when one client asks for thousands of distinct pages', async () => {
    const store = storeWith(200)
    const maxBytes = 20_000
    const { pages } = server(
      store,
      { ms: 0 },
      {
        cache: { ...DEFAULT_PAGE_SERVER_OPTIONS.cache, maxBytes },
        builds: { ...DEFAULT_PAGE_SERVER_OPTIONS.builds, perAddressPerMinute: 1e9 },
      },
    )
    for (let after = 0; after < 2000; after += 7) {
      const answer = await pages.answer({ ...ask, after, limit: 5, acceptEncoding: 'gzip, br' })
      expect(answer.status).toBe(200)
      expect(pages.cache.bytes).toBeLessThanOrEqual(maxBytes)
    }
    expect(pages.cache.size).toBeGreaterThan(0)
  })

  it('holds one address to its builds, counted by reason, while others are served', async () => {
    const store = storeWith(100)
    const { pages, refusals } = server(store)
    const flood = await Promise.all(
      Array.from({ length: 10 }, (_, i) => pages.answer({ ...ask, after: i * 10, limit: 10 })),
    )
    const refused = flood.filter((a) => a.status === 429)
    const atOnce = DEFAULT_PAGE_SERVER_OPTIONS.builds.perAddressAtOnce
    expect(refused).toHaveLength(10 - atOnce)
    expect(refused[0]).toMatchObject({ code: 'rate-limited', retryAfterSeconds: 1 })
    expect(refusals.count('catalog-page-builds')).toBe(10 - atOnce)
    const other = await pages.answer({ address: '10.9.9.9', after: 50, limit: 10 })
    expect(other.status).toBe(200)
    // Pages already built cost the flooder nothing.
    const cached = await pages.answer({ ...ask, after: 0, limit: 10 })
    expect(cached.status).toBe(200)
  })

  // Issue 23: a br form asked for after the gzip form (a browser through the sealed tunnel
  // takes gzip) had dropped the JSON read the JSON from its own form, still being made: the
  // only turn of the builder was held for good, and no page was served again. Hung before.
  it('makes br of a page already sent in gzip, and goes on building others', async () => {
    const store = storeWith(30)
    const { pages } = server(store)
    const gz = await pages.answer({ ...ask, after: 0, limit: 20, acceptEncoding: 'gzip' })
    const br = await pages.answer({ ...ask, after: 0, limit: 20, acceptEncoding: 'br' })
    expect(headersOf(br)['Content-Encoding']).toBe('br')
    expect(decoded(br)).toEqual(decoded(gz))
    const other = await pages.answer({ ...ask, after: 5, limit: 7 })
    expect(decoded(other)).toEqual(plainPage(store, 5, 7))
    expect(pages.builds.running).toBe(0)
  })

  it('serves every page in every coding however compressions and arrivals interleave', async () => {
    const store = storeWith(30)
    const expected = [0, 10, 20].map((after) => plainPage(store, after, 10))
    const ask = fc.record({
      page: fc.integer({ min: 0, max: 2 }),
      accept: fc.constantFrom('br', 'gzip', 'gzip, br', undefined),
    })
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(ask, { minLength: 1, maxLength: 10 }),
        async (s, asks) => {
          const pages = scheduledServer(store, s)
          let answered = 0
          const answers = asks.map(({ page, accept }, i) =>
            s
              .schedule(Promise.resolve(), `ask ${i}`)
              .then(() =>
                pages.answer({
                  address: `10.2.0.${i}`,
                  after: page * 10,
                  limit: 10,
                  acceptEncoding: accept,
                }),
              )
              .finally(() => answered++),
          )
          // Answers go out a few per event-loop turn (turnstile.ts): let those turns pass. A
          // builder held for good leaves answers waiting with nothing scheduled.
          for (let round = 0; round < 50 && answered < asks.length; round++) {
            await s.waitAll()
            await new Promise((resolve) => setImmediate(resolve))
          }
          expect(answered).toBe(asks.length)
          for (const [i, answer] of (await Promise.all(answers)).entries()) {
            expect(decoded(answer)).toEqual(expected[asks[i].page])
          }
          expect(pages.builds.running).toBe(0)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('builds the page after one answered while idle, so the next is served built', async () => {
    const store = storeWith(30)
    const { pages } = server(store, { ms: 0 }, { buildAhead: true })
    const tick = () => new Promise((resolve) => setImmediate(resolve))
    expect(decoded(await pages.answer({ ...ask, after: 0, limit: 10 }))).toEqual(
      plainPage(store, 0, 10),
    )
    await tick()
    expect(pages.counts).toMatchObject({ built: 2, builtAhead: 1, servedFromCache: 0 })
    const second = await pages.answer({ address: '10.0.0.9', after: 10, limit: 10 })
    expect(decoded(second)).toEqual(plainPage(store, 10, 10))
    expect(pages.counts).toMatchObject({ built: 2, servedFromCache: 1 })
    // The last page, built ahead too, is built again once a listing arrived.
    await tick()
    expect(pages.counts).toMatchObject({ built: 3, builtAhead: 2 })
    store.putMany([listing(30)])
    const grown = await pages.answer({ ...ask, after: 20, limit: 10 })
    expect(decoded(grown)).toEqual(plainPage(store, 20, 10))
    expect(pages.counts).toMatchObject({ built: 4, servedFromCache: 1 })
    await tick()
    expect(pages.counts).toMatchObject({ built: 5, builtAhead: 3 })
    // Nothing is built after the last page.
    const last = await pages.answer({ ...ask, after: 30, limit: 10 })
    expect((decoded(last) as { listings: unknown[] }).listings).toHaveLength(1)
    await tick()
    expect(pages.counts).toMatchObject({ built: 5, builtAhead: 3, servedFromCache: 2 })
    // Nor after a page sent compressed.
    const br = await pages.answer({ ...ask, after: 3, limit: 10, acceptEncoding: 'br' })
    expect(headersOf(br)['Content-Encoding']).toBe('br')
    await tick()
    expect(pages.counts).toMatchObject({ built: 6, builtAhead: 3 })
  })

  it("never builds ahead while another client's build holds the builder", async () => {
    const store = storeWith(30)
    let release = (): void => {}
    const pages = new PageServer({
      store,
      figures: () => ({}),
      refusals: quietRefusals(),
      compress: (_, json) => new Promise<Buffer>((done) => (release = () => done(gzipSync(json)))),
    })
    const answered = await pages.answer({ ...ask, after: 0, limit: 10 })
    expect(answered.status).toBe(200)
    // Before the build ahead's turn: a client's build and compression take the builder.
    const held = pages.answer({ address: '10.0.0.2', after: 20, limit: 10, acceptEncoding: 'gzip' })
    await new Promise((resolve) => setImmediate(resolve))
    expect(pages.builds.running).toBe(1)
    release()
    expect((await held).status).toBe(200)
    expect(pages.counts).toMatchObject({ built: 2, builtAhead: 0 })
  })

  it('logs a build ahead that fails, and serves the page when it is asked for', async () => {
    const store = storeWith(30)
    const warned: string[] = []
    let failed = false
    const failing = new Proxy(store, {
      get(target, key) {
        if (key === 'joinedPage') {
          return (...args: Parameters<CatalogStore['joinedPage']>) => {
            if (!failed && args[0] === 10) {
              failed = true
              throw new Error('disk gone')
            }
            return target.joinedPage(...args)
          }
        }
        const value = Reflect.get(target, key, target) as unknown
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value
      },
    })
    const pages = new PageServer({
      store: failing,
      figures: () => ({}),
      refusals: quietRefusals(),
      log: { ...silentLog(), warn: (msg) => warned.push(msg) },
    })
    expect((await pages.answer({ ...ask, after: 0, limit: 10 })).status).toBe(200)
    await new Promise((resolve) => setImmediate(resolve))
    expect(warned).toEqual(['catalog page build ahead failed'])
    const next = await pages.answer({ ...ask, after: 10, limit: 10 })
    expect((decoded(next) as { listings: unknown[] }).listings).toHaveLength(10)
  })

  it('gives up a build that never ends: 503 for its clients, a warning, others served', async () => {
    const store = storeWith(30)
    const warned: string[] = []
    let fire = (): void => {}
    const pages = new PageServer({
      store,
      figures: (hashes) => Object.fromEntries([...hashes].map((h) => [h, seeds])),
      refusals: quietRefusals(),
      log: { ...silentLog(), warn: (msg) => warned.push(msg) },
      setTimer: (run) => ((fire = run), () => {}),
      compress: (coding, json) =>
        coding === 'br' ? new Promise<Buffer>(() => {}) : Promise.resolve(gzipSync(json)),
    })
    const stuck = pages.answer({ ...ask, after: 0, limit: 10, acceptEncoding: 'br' })
    const waiting = pages.answer({ address: '10.0.0.2', after: 10, limit: 10 })
    await new Promise((resolve) => setImmediate(resolve))
    fire()
    expect(await stuck).toMatchObject({ status: 503, code: 'busy' })
    expect(warned).toEqual(['catalog page build overran its turn; turn given up'])
    expect(pages.counts.overdue).toBe(1)
    expect((await waiting).status).toBe(200)
    const again = await pages.answer({ ...ask, after: 0, limit: 10, acceptEncoding: 'gzip' })
    expect(decoded(again)).toEqual(plainPage(store, 0, 10))
  })
})

/** A server whose compressions and decompressions complete in the order `s` picks. */
function scheduledServer(store: CatalogStore, s: fc.Scheduler): PageServer {
  return new PageServer({
    store,
    figures: (hashes) => Object.fromEntries([...hashes].map((h) => [h, seeds])),
    refusals: quietRefusals(),
    compress: (coding, json) =>
      s.schedule(Promise.resolve(coding === 'br' ? brotliCompressSync(json) : gzipSync(json))),
    decompress: (coding, body) =>
      s.schedule(Promise.resolve(coding === 'br' ? brotliDecompressSync(body) : gunzipSync(body))),
  })
}

function silentLog() {
  const none = (): void => {}
  return { debug: none, info: none, warn: none, error: none }
}
