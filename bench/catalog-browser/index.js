// catalog-browser: the app's catalog in Chromium at 100,000 listings (issue 3): import
// through the real worker path (sync pages from a relay, verify, store in IndexedDB, index)
// beside a plain IndexedDB put of the same rows in one transaction; then search latency
// p50/p95 over a few hundred varied queries, beside a naive Array.filter over the same rows.
//
//   npm run bench -- catalog-browser   (after `npx vite build`: it drives dist/app)
//   MONSOON_BENCH_LISTINGS=N            another count (default 100000)
//   CHROMIUM_PATH=/path/to/chromium     another browser (default /usr/bin/chromium)
//
// Setup (not timed): N listings with made-up but word-like names and descriptions, from 50
// publishers, signed with OpenSSL and cached in bench/out/; a relay's data directory filled
// through CatalogStore; the relay started on it. Measured in one page of Debian's Chromium,
// on the relay's origin (its /health document, so the app itself does not start): the
// built catalog worker (dist/app/assets/catalog.worker-*.js), driven by its own messages.
// Prints one JSON line on stdout; progress on stderr.

import { register } from 'tsx/esm/api'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { CHROMIUM } from '../../scripts/chromium.js'
import { ProcessGroup, note, withDeadline } from '../lib/processes.js'

register()
const { CatalogStore } = await import('../../relay/catalog/store.ts')
const { FastSigner } = await import('../../relay/catalog/test-support.ts')
const { verify: nobleVerify, hexToBytes } = await import('../../shared/identity.ts')
const { signingBytes, CATEGORIES } = await import('../../shared/listing.ts')

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const OUT = join(ROOT, 'bench', 'out')
const APP = join(ROOT, 'dist', 'app')
const N = Number(process.env.MONSOON_BENCH_LISTINGS ?? 100_000)
const PUBLISHERS = 50
const QUERIES = 300
const PAGE_SIZE = 50
const IMPORT_TIMEOUT_MS = 30 * 60_000

const procs = new ProcessGroup()
const dirs = []
let browser = null
const cleanup = async () => {
  await browser?.close().catch(() => undefined)
  await procs.stopAll()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => void cleanup().then(() => process.exit(130)))
}

/** A small deterministic PRNG (mulberry32), so every run measures the same catalog. */
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** 4,000 word-like terms (some accented), drawn with a Zipf-like skew as real titles are. */
function vocabulary(random) {
  const onsets = ['b', 'c', 'd', 'f', 'g', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'tr', 'st', 'br']
  const vowels = ['a', 'e', 'i', 'o', 'u', 'é', 'è', 'ö', 'ü', 'ã', 'ou', 'ai']
  const codas = ['', '', 'n', 'r', 's', 'l', 'x', 'nd', 'rt']
  const words = new Set()
  while (words.size < 4000) {
    let w = ''
    const syllables = 1 + Math.floor(random() * 3)
    for (let s = 0; s < syllables; s++) {
      w += onsets[Math.floor(random() * onsets.length)]
      w += vowels[Math.floor(random() * (random() < 0.8 ? 5 : vowels.length))]
      w += codas[Math.floor(random() * codas.length)]
    }
    words.add(w)
  }
  return [...words]
}

const zipf = (random, n) => Math.min(n - 1, Math.floor(n ** random() - 1))

function draftAt(i, random, words) {
  const pick = () => words[zipf(random, words.length)]
  const title = Array.from({ length: 2 + Math.floor(random() * 5) }, pick)
  title[0] = title[0][0].toUpperCase() + title[0].slice(1)
  const extras = ['1080p', '720p', 'FLAC', 'EPUB', 'x64', 'Remastered', 'Complete', 'Vol. 2']
  if (random() < 0.5) title.push(`(${1960 + Math.floor(random() * 65)})`)
  if (random() < 0.4) title.push(extras[Math.floor(random() * extras.length)])
  const description = Array.from({ length: Math.floor(random() * 16) }, pick).join(' ')
  const size = Math.floor(2 ** (20 + random() * 16))
  const files = 1 + Math.floor(random() * 3)
  return {
    infoHash: (i.toString(16) + 'cafe').padStart(40, '0'),
    name: `${title.join(' ')} #${i}`,
    size,
    files,
    category: CATEGORIES[Math.floor(random() * CATEGORIES.length)],
    description,
    fileList: Array.from({ length: files }, (_, f) => ({
      path: `release-${i}/part-${f + 1}.bin`,
      size: Math.floor(size / files),
    })),
  }
}

/** N listings, generated once and cached (one JSON line each). */
function loadListings() {
  const file = join(OUT, `catalog-browser-listings-${N}.jsonl`)
  if (existsSync(file)) {
    const lines = readFileSync(file, 'utf8').trim().split('\n')
    if (lines.length === N) return lines.map((l) => JSON.parse(l))
  }
  note(`catalog-browser: signing ${N} listings (cached in ${file})`)
  const random = prng(20261126)
  const words = vocabulary(random)
  const signers = Array.from({ length: PUBLISHERS }, (_, p) => {
    const seed = new Uint8Array(32)
    seed[0] = p + 1
    return new FastSigner(seed)
  })
  const now = Math.floor(Date.now() / 1000)
  const listings = Array.from({ length: N }, (_, i) => {
    const ts = now - 3600 - Math.floor(random() * 2 * 365 * 86_400)
    return signers[i % PUBLISHERS].listing(draftAt(i, random, words), { seq: 1, ts })
  })
  mkdirSync(OUT, { recursive: true })
  writeFileSync(file, listings.map((l) => JSON.stringify(l)).join('\n') + '\n')
  return listings
}

/** Queries as people type them: common and rare words, prefixes, two words from one name,
 * a category, words that match nothing, plain browsing; each with some sort and page. */
function makeQueries(listings) {
  const random = prng(7)
  const sorts = ['added', 'seeds', 'size', 'name', 'downloads', 'leechers', 'category']
  const wordsOf = (l) => l.name.split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 2)
  const any = () => listings[Math.floor(random() * listings.length)]
  const queries = []
  for (let i = 0; i < QUERIES; i++) {
    const kind = i % 6
    const w = wordsOf(any())
    const word = w[Math.floor(random() * w.length)] ?? 'release'
    let text
    if (kind === 0) text = word
    else if (kind === 1) text = word.slice(0, 2 + Math.floor(random() * 3))
    else if (kind === 2) text = w.slice(0, 2).join(' ')
    else if (kind === 3) text = word.toUpperCase()
    else if (kind === 4) text = `zq${Math.floor(random() * 1e6)}x`
    else text = ''
    const sort = sorts[Math.floor(random() * sorts.length)]
    queries.push({
      text,
      ...(random() < 0.2 && { category: CATEGORIES[Math.floor(random() * CATEGORIES.length)] }),
      sort,
      descending: random() < 0.6,
      offset: random() < 0.15 ? PAGE_SIZE * Math.floor(random() * 5) : 0,
      limit: PAGE_SIZE,
    })
  }
  return queries
}

function seedStore(dataDir, listings) {
  const store = new CatalogStore(join(dataDir, 'catalog.sqlite'), {
    maxListingsPerPublisher: N,
    synchronous: 'normal',
  })
  for (let i = 0; i < listings.length; i += 1000) store.putMany(listings.slice(i, i + 1000))
  const count = store.count()
  store.close()
  if (count !== N) throw new Error(`seeded ${count} listings, not ${N}`)
}

async function startRelay(dataDir) {
  const child = procs.spawn('relay', process.execPath, [
    join(ROOT, 'relay', 'bin.js'),
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--data-dir',
    dataDir,
    '--log-level',
    'info',
  ])
  const port = await withDeadline(
    new Promise((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        try {
          const entry = JSON.parse(line)
          if (entry.msg === 'listening') resolve(entry.port)
        } catch {
          // Not a log line.
        }
      })
    }),
    60_000,
    'relay "listening"',
  )
  return `http://127.0.0.1:${port}`
}

function nobleVerifyRate(listings) {
  const sample = listings.slice(0, 300).map((l) => {
    const { sig, ...unsigned } = l
    return [hexToBytes(sig), signingBytes(unsigned), hexToBytes(l.publisher)]
  })
  const t0 = performance.now()
  for (const s of sample) if (!nobleVerify(...s)) throw new Error('bad signature in sample')
  return sample.length / ((performance.now() - t0) / 1000)
}

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}
const ms = (x) => Number(x.toFixed(2))

try {
  const workerFile = existsSync(join(APP, 'assets'))
    ? readdirSync(join(APP, 'assets')).find((f) => /^catalog\.worker-.*\.js$/.test(f))
    : undefined
  if (!workerFile) throw new Error('no built catalog worker in dist/app: run `npx vite build`')
  const listings = loadListings()
  const queries = makeQueries(listings)
  const dataDir = mkdtempSync(join(tmpdir(), 'monsoon-bench-browser-'))
  dirs.push(dataDir)
  note('catalog-browser: filling the relay')
  seedStore(dataDir, listings)
  const relay = await startRelay(dataDir)
  const verifyNode = nobleVerifyRate(listings)

  browser = await chromium.launch(CHROMIUM)
  const page = await (await browser.newContext()).newPage()
  await page.exposeFunction('benchNote', (text) => note(`catalog-browser: ${text}`))
  await page.goto(`${relay}/health`)
  const workerUrl = `/assets/${workerFile}`

  // (a) The real path: the worker syncs the relay's catalog into IndexedDB and its index.
  note(`catalog-browser: importing ${N} listings through the catalog worker`)
  const imported = await withDeadline(
    page.evaluate(
      ({ workerUrl, origin, n }) =>
        new Promise((resolve, reject) => {
          const worker = new Worker(workerUrl, { type: 'module' })
          const t0 = performance.now()
          let noted = 0
          worker.onmessage = ({ data }) => {
            if (data.type === 'failed') reject(new Error(data.error))
            if (data.type !== 'progress') return
            const relay = data.relays[0]
            if (relay?.state === 'error') reject(new Error(relay.error))
            if (data.count - noted >= 10_000) {
              noted = data.count
              const s = (performance.now() - t0) / 1000
              window.benchNote(`${data.count} listings in ${s.toFixed(1)} s`)
            }
            if (data.count >= n && relay?.state === 'idle') {
              resolve({ ms: performance.now() - t0, count: data.count })
              worker.terminate()
            }
          }
          worker.postMessage({ type: 'start', relays: [origin] })
        }),
      { workerUrl, origin: relay, n: N },
    ),
    IMPORT_TIMEOUT_MS,
    'import',
  )

  // The limit: the same rows read from the relay (not timed), then put in one transaction.
  note('catalog-browser: raw IndexedDB put of the same rows')
  const raw = await page.evaluate(
    async ({ origin }) => {
      const rows = []
      for (let after = 0, more = true; more;) {
        const page = await (await fetch(`${origin}/v1/listings?after=${after}&limit=1000`)).json()
        rows.push(...page.listings)
        more = page.more
        after = page.next
      }
      window.benchRows = rows
      const db = await new Promise((resolve, reject) => {
        const open = indexedDB.open('bench-raw', 1)
        open.onupgradeneeded = () => open.result.createObjectStore('listings', { keyPath: 'key' })
        open.onsuccess = () => resolve(open.result)
        open.onerror = () => reject(open.error)
      })
      const t0 = performance.now()
      await new Promise((resolve, reject) => {
        const tx = db.transaction('listings', 'readwrite')
        const store = tx.objectStore('listings')
        const now = Date.now()
        for (const l of rows) {
          store.put({
            key: `${l.publisher}:${l.infoHash}`,
            infoHash: l.infoHash,
            listing: l,
            storedAt: now,
          })
        }
        tx.oncomplete = resolve
        tx.onerror = () => reject(tx.error)
      })
      const ms = performance.now() - t0
      db.close()
      return { ms, count: rows.length }
    },
    { origin: relay },
  )

  // (b) Search: a fresh worker (as after a reload) loads IndexedDB, then answers queries.
  note(`catalog-browser: ${queries.length} searches, worker and naive`)
  const search = await page.evaluate(
    async ({ workerUrl, queries, n }) => {
      const worker = new Worker(workerUrl, { type: 'module' })
      const pending = new Map()
      let ready
      const readyAt = new Promise((resolve) => (ready = resolve))
      worker.onmessage = ({ data }) => {
        if (data.type === 'ready') ready({ at: performance.now(), count: data.count })
        if (data.type === 'result') pending.get(data.id)?.(data)
      }
      const t0 = performance.now()
      worker.postMessage({ type: 'start', relays: [] })
      const loaded = await readyAt
      if (loaded.count !== n) throw new Error(`worker loaded ${loaded.count} of ${n}`)
      let id = 0
      const ask = (query) =>
        new Promise((resolve) => {
          const mine = ++id
          pending.set(mine, resolve)
          worker.postMessage({ type: 'search', id: mine, query })
        })
      // Orderings are built once per sort key after a change; warm them as a page would.
      for (const sort of ['added', 'seeds', 'size', 'name', 'downloads', 'leechers', 'category']) {
        await ask({ text: '', sort, descending: true, offset: 0, limit: 50 })
      }
      const took = []
      const rtt = []
      let matched = 0
      for (const query of queries) {
        const start = performance.now()
        const reply = await ask(query)
        rtt.push(performance.now() - start)
        took.push(reply.tookMs)
        if (reply.total > 0) matched++
      }
      worker.terminate()

      // Naive: fold every name and description once (not timed), then filter per query.
      const fold = (s) =>
        s
          .normalize('NFKD')
          .replace(/\p{M}+/gu, '')
          .toLowerCase()
      const rows = window.benchRows
      const folded = rows.map((l) => fold(`${l.name} ${l.description}`))
      const value = {
        added: (l) => l.ts,
        size: (l) => l.size,
        name: (l) => fold(l.name),
        category: (l) => l.category,
        seeds: () => 0,
        leechers: () => 0,
        downloads: () => 0,
      }
      const naive = []
      for (const q of queries) {
        const start = performance.now()
        const terms = fold(q.text)
          .split(/[^\p{L}\p{N}]+/u)
          .filter(Boolean)
        const hits = rows.filter(
          (l, i) =>
            (!q.category || l.category === q.category) && terms.every((t) => folded[i].includes(t)),
        )
        const key = value[q.sort]
        hits.sort((a, b) => {
          const x = key(a)
          const y = key(b)
          const c = x < y ? -1 : x > y ? 1 : 0
          return q.descending ? -c : c
        })
        hits.slice(q.offset, q.offset + q.limit)
        naive.push(performance.now() - start)
      }
      return { loadMs: loaded.at - t0, took, rtt, naive, matched }
    },
    { workerUrl, queries, n: N },
  )

  const importPerS = N / (imported.ms / 1000)
  const rawPerS = raw.count / (raw.ms / 1000)
  const p = (values) => ({ p50: quantile(values, 0.5), p95: quantile(values, 0.95) })
  const took = p(search.took)
  const rtt = p(search.rtt)
  const naive = p(search.naive)
  process.stdout.write(
    JSON.stringify({
      bench: 'catalog-browser',
      listings: N,
      publishers: PUBLISHERS,
      browser: `chromium ${browser.version()}`,
      import_seconds: Number((imported.ms / 1000).toFixed(1)),
      import_listings_per_s: Math.round(importPerS),
      raw_idb_put_per_s: Math.round(rawPerS),
      import_ratio: Number((importPerS / rawPerS).toFixed(4)),
      verify_per_s_noble_node: Math.round(verifyNode),
      reload_index_ms: Math.round(search.loadMs),
      search_queries: queries.length,
      search_queries_matching: search.matched,
      search_took_p50_ms: ms(took.p50),
      search_took_p95_ms: ms(took.p95),
      search_roundtrip_p50_ms: ms(rtt.p50),
      search_roundtrip_p95_ms: ms(rtt.p95),
      naive_filter_p50_ms: ms(naive.p50),
      naive_filter_p95_ms: ms(naive.p95),
      search_speedup_p50: Number((naive.p50 / rtt.p50).toFixed(1)),
      search_speedup_p95: Number((naive.p95 / rtt.p95).toFixed(1)),
    }) + '\n',
  )
} catch (err) {
  process.stdout.write(JSON.stringify({ bench: 'catalog-browser', error: String(err) }) + '\n')
  process.exitCode = 1
} finally {
  await cleanup()
}
