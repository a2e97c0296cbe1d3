// catalog-browser: the app's catalog in Chromium: import, search, start-up, memory (issues 3, 23)
// timeout: 3600
//
// (a) import: the built catalog worker syncs a relay's catalog (pages fetched, verified,
//     stored in IndexedDB, indexed), beside a plain IndexedDB put of the same bytes in the
//     record shape the worker stores (app/catalog/listing-pages.ts: records of
//     MAX_STORED_PAGE_LISTINGS, one transaction a relay page); goal >= 0.8 of it, and under
//     60 s at 1,000,000;
// (b) search: p50/p95 over a few hundred varied queries (words, prefixes, two words,
//     categories, sorts by seeds, downloads, size...) in a worker loaded from IndexedDB,
//     beside a naive Array.filter over the same rows; goal p50 < 3 ms, p95 < 20 ms;
// (c) start-up: the app itself opened with the catalog stored, until the index shows its
//     first rows (a search answered), five times, the median; goal < 2 s;
// (d) memory: that tab's JS heaps and array buffers (page and its workers, over CDP
//     Runtime.getHeapUsage); goal < 400 MB. Also after a forced full GC (what it holds).
//
// The import's worker is ended only once it has saved its index snapshot (the `save`
// message), so (b) times loading that snapshot, as a reload after an import would: until the
// worker says ready, which is once the snapshot's head answers (its tables are read after).
// The references (the plain put, the naive filter) run last, after (d): at a million
// listings the plain put takes most of the run and writes a second copy of the catalog into
// the profile, which (b)-(d) should not read beside theirs.
//
//   npm run bench -- catalog-browser   (after `npx vite build`: it drives dist/app)
//   npm run bench -- --listings 1000000 catalog-browser   the issue 23 size
//   MONSOON_BENCH_LISTINGS=N            the same as --listings (default 100000)
//   MONSOON_BENCH_LISTING_VERSION=1|2   listing format (default: v1 up to the default size,
//                                       v2 batches above it, as a network moving over would)
//   CHROMIUM_PATH=/path/to/chromium     another browser (default /usr/bin/chromium)
//   MONSOON_BENCH_APP=DIR               a built app other than dist/app (`npx vite build
//                                       --outDir DIR`): a candidate beside the checkout's
//   MONSOON_BENCH_IN_MEMORY=1           an incognito context (IndexedDB in memory) instead of
//                                       a Chromium profile on disk, as before 2026-12-07
//   MONSOON_BENCH_RELAY_NODE_ARGS=ARGS  Node flags for the relay, space-separated (`--cpu-prof
//                                       --cpu-prof-dir=DIR` to profile it)
//   MONSOON_BENCH_PROFILE=PREFIX        CPU profiles of the catalog worker: its import in
//                                       PREFIX-import.cpuprofile, (b)'s load and searches in
//                                       PREFIX-load.cpuprofile (DevTools opens them); a
//                                       trace of (c)'s start-up in PREFIX-startup.trace.json
//                                       (DevTools' Performance panel loads it)
//
// Setup (not timed): N listings from bench/lib/listing-corpus.js, from 50 publishers, signed
// with OpenSSL (v2: MAX_BATCH_LISTINGS a signature) and cached in bench/out/; a relay's data
// directory filled through CatalogStore; the relay started on it. (a) and (b) run in one page
// of Debian's Chromium on the relay's /health document, driving the built worker
// (dist/app/assets/catalog.worker-*.js) by its own messages; (c) and (d) open the app at the
// relay's origin. Prints one JSON line on stdout; progress on stderr.

import { register } from 'tsx/esm/api'
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync } from 'node:fs'
import { readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { CHROMIUM } from '../../scripts/chromium.js'
import { draftAt, prng, vocabulary } from '../lib/listing-corpus.js'
import { ProcessGroup, note, withDeadline } from '../lib/processes.js'

register()
const { CatalogStore } = await import('../../relay/catalog/store.ts')
const { FastSigner } = await import('../../relay/catalog/test-support.ts')
const { verify: nobleVerify, hexToBytes } = await import('../../shared/identity.ts')
const { signingBytes, CATEGORIES } = await import('../../shared/listing.ts')
const { createListingBatch } = await import('../../shared/listing-batch.ts')
const { MAX_BATCH_LISTINGS } = await import('../../shared/limits.ts')
const { MAX_STORED_PAGE_LISTINGS } = await import('../../app/catalog/listing-pages.ts')

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const OUT = join(ROOT, 'bench', 'out')
const APP = process.env.MONSOON_BENCH_APP ?? join(ROOT, 'dist', 'app')
const RELAY_NODE_ARGS = (process.env.MONSOON_BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean)
const DEFAULT_N = 100_000
const N = Number(process.env.MONSOON_BENCH_LISTINGS ?? DEFAULT_N)
const VERSION = Number(process.env.MONSOON_BENCH_LISTING_VERSION ?? (N > DEFAULT_N ? 2 : 1))
const PUBLISHERS = 50
const profile = process.env.MONSOON_BENCH_PROFILE
const IN_MEMORY = process.env.MONSOON_BENCH_IN_MEMORY === '1'
/** What the start-up trace records: every thread's tasks, script, network and page events
 * (not V8's sampling profiler: it slowed the start-up it traced by half). */
const STARTUP_TRACE_CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'v8.execute',
  'blink.user_timing',
  'loading',
  'netlog',
  'toplevel',
]
const QUERIES = 300
/** The naive filter costs about a second a query at 1,000,000: fewer queries above the
 * default size keep the run short (its p50/p95 are a reference, not a goal). */
const NAIVE_QUERIES = N > DEFAULT_N ? 40 : QUERIES
const PAGE_SIZE = 50
const SIGN_CHUNK = 10_000
/** Listings in a relay's page (MAX_PAGE_LISTINGS): the relay is filled, and the plain put stores
 * them, that many at a time. */
const RELAY_PAGE = 1000
/** Rows over which other storage shapes are timed beside the plain put. */
const SHAPE_ROWS = 20_000
const IMPORT_TIMEOUT_MS = 30 * 60_000
const STARTUP_TIMEOUT_MS = 5 * 60_000
/** Opens of the app timed for start-up (the median is reported). */
const STARTUP_RUNS = 5
/** The goals, printed beside the figures. */
const GOALS = {
  import_ratio: 0.8,
  import_seconds_at_1m: 60,
  search_p50_ms: 3,
  search_p95_ms: 20,
  startup_ms: 2000,
  tab_memory_mb: 400,
}

if (!Number.isSafeInteger(N) || N < 1) throw new Error('MONSOON_BENCH_LISTINGS: a whole number')
if (VERSION !== 1 && VERSION !== 2) throw new Error('MONSOON_BENCH_LISTING_VERSION: 1 or 2')

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

/** The catalog, signed `SIGN_CHUNK` listings at a time. */
function* signedChunks() {
  const random = prng(20261126)
  const words = vocabulary(random)
  const signers = Array.from({ length: PUBLISHERS }, (_, p) => {
    const seed = new Uint8Array(32)
    seed[0] = p + 1
    return new FastSigner(seed)
  })
  const now = Math.floor(Date.now() / 1000)
  for (let from = 0; from < N; from += SIGN_CHUNK) {
    const count = Math.min(SIGN_CHUNK, N - from)
    const drafts = Array.from({ length: count }, (_, k) =>
      draftAt(from + k, random, words, CATEGORIES),
    )
    const ts = () => now - 3600 - Math.floor(random() * 2 * 365 * 86_400)
    if (VERSION === 1) {
      yield drafts.map((d, k) => signers[(from + k) % PUBLISHERS].listing(d, { seq: 1, ts: ts() }))
      continue
    }
    // v2: each publisher signs its share of the chunk MAX_BATCH_LISTINGS at a time.
    const out = []
    for (let p = 0; p < PUBLISHERS; p++) {
      const mine = drafts.filter((_, k) => (from + k) % PUBLISHERS === p)
      for (let b = 0; b < mine.length; b += MAX_BATCH_LISTINGS) {
        const batch = mine.slice(b, b + MAX_BATCH_LISTINGS)
        out.push(...createListingBatch(batch, signers[p], { seq: 1, ts: ts() }))
      }
    }
    yield out
  }
}

/** The catalog as JSON lines, signed once and cached in bench/out/. */
async function catalogFile() {
  const file = join(OUT, `catalog-browser-listings-${N}-v${VERSION}.jsonl`)
  if (existsSync(file)) return file
  note(`catalog-browser: signing ${N} v${VERSION} listings (cached in ${file})`)
  mkdirSync(OUT, { recursive: true })
  const out = createWriteStream(`${file}.part`)
  for (const chunk of signedChunks()) {
    if (!out.write(chunk.map((l) => JSON.stringify(l)).join('\n') + '\n')) {
      await once(out, 'drain')
    }
  }
  out.end()
  await once(out, 'finish')
  renameSync(`${file}.part`, file)
  return file
}

/** Fills the relay's store from the cached catalog, keeping only what the queries need. */
async function seedStore(dataDir, file) {
  const store = new CatalogStore(join(dataDir, 'catalog.sqlite'), {
    maxListingsPerPublisher: N,
    maxPublisherBytes: Number.MAX_SAFE_INTEGER,
    maxCatalogBytes: Number.MAX_SAFE_INTEGER,
    synchronous: 'normal',
  })
  const names = []
  const sample = []
  for await (const lines of relayPages(file)) {
    const batch = lines.map((line) => JSON.parse(line))
    for (const listing of batch) {
      names.push(listing.name)
      if (sample.length < 300) sample.push(listing)
    }
    store.putMany(batch)
  }
  const count = store.count()
  store.close()
  if (count !== N) throw new Error(`seeded ${count} listings, not ${N}: delete ${file}`)
  return { names, sample }
}

/** Queries as people type them: common and rare words, prefixes, two words from one name,
 * a category, words that match nothing, plain browsing; each with some sort and page. */
function makeQueries(names) {
  const random = prng(7)
  const sorts = ['added', 'seeds', 'size', 'name', 'downloads', 'leechers', 'category']
  const wordsOf = (name) => name.split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 2)
  const any = () => names[Math.floor(random() * names.length)]
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

/** The listings file's lines, RELAY_PAGE at a time: the relay's pages, as it was filled. */
async function* relayPages(file) {
  let lines = []
  for await (const line of createInterface({ input: createReadStream(file) })) {
    if (line === '') continue
    lines.push(line)
    if (lines.length === RELAY_PAGE) {
      yield lines
      lines = []
    }
  }
  if (lines.length) yield lines
}

/** The relay's pages as the JSON text it sends of their listings (`[row,row,...]`). */
async function* relayPageTexts(file) {
  for await (const lines of relayPages(file)) yield `[${lines.join(',')}]`
}

async function startRelay(dataDir) {
  const child = procs.spawn('relay', process.execPath, [
    ...RELAY_NODE_ARGS,
    join(ROOT, 'relay', 'bin.js'),
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--data-dir',
    dataDir,
    '--app-dir',
    APP,
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

function nobleVerifyRate(sample) {
  const checks = sample
    .filter((l) => l.v === 1)
    .map((l) => {
      const { sig, ...unsigned } = l
      return [hexToBytes(sig), signingBytes(unsigned), hexToBytes(l.publisher)]
    })
  if (checks.length === 0) return null
  const t0 = performance.now()
  for (const c of checks) if (!nobleVerify(...c)) throw new Error('bad signature in sample')
  return checks.length / ((performance.now() - t0) / 1000)
}

/** A browser-wide CDP session that sends commands to one page or worker target at a time
 * (workers take them only through Target.sendMessageToTarget). */
async function targetCommands() {
  const cdp = await browser.newBrowserCDPSession()
  const replies = new Map()
  cdp.on('Target.receivedMessageFromTarget', ({ message }) => {
    const m = JSON.parse(message)
    replies.get(m.id)?.(m)
  })
  let id = 0
  return {
    targets: async () => (await cdp.send('Target.getTargets')).targetInfos,
    attach: async (targetId) => {
      const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: false })
      return {
        send: async (method, params = {}, timeoutMs = 30_000) => {
          const mine = ++id
          const reply = new Promise((resolve) => replies.set(mine, resolve))
          const message = JSON.stringify({ id: mine, method, params })
          await cdp.send('Target.sendMessageToTarget', { sessionId, message })
          const { result, error } = await withDeadline(reply, timeoutMs, method)
          if (error) throw new Error(`${method}: ${error.message}`)
          replies.delete(mine)
          return result
        },
        detach: () => cdp.send('Target.detachFromTarget', { sessionId }),
      }
    },
    close: () => cdp.detach(),
  }
}

/** JS heap used and array buffers of every page and worker at `origin`, in bytes, over CDP
 * (Runtime.getHeapUsage: usedSize + backingStorageSize). With `gc`, after a full garbage
 * collection in each: what the tab holds, without what it dropped and V8 has not yet freed. */
async function tabMemory(origin, { gc = false } = {}) {
  const commands = await targetCommands()
  const targets = (await commands.targets()).filter(
    (t) => (t.type === 'page' || t.type === 'worker') && t.url.startsWith(origin),
  )
  const parts = []
  for (const t of targets) {
    const session = await commands.attach(t.targetId)
    if (gc) await session.send('HeapProfiler.collectGarbage')
    const heap = await session.send('Runtime.getHeapUsage')
    await session.detach()
    parts.push({
      target: `${t.type} ${t.url.slice(origin.length).split('?')[0].slice(0, 40)}`,
      heap_mb: mb(heap.usedSize),
      buffers_mb: mb(heap.backingStorageSize ?? 0),
    })
  }
  await commands.close()
  const total = parts.reduce((sum, p) => sum + p.heap_mb + p.buffers_mb, 0)
  return { total_mb: Number(total.toFixed(1)), parts }
}

/** Starts a CPU profile of the catalog worker at `origin` once it is up; stop() ends it and
 * gives the profile. */
async function profileWorker(origin) {
  const commands = await targetCommands()
  let target
  for (let tries = 0; !target && tries < 200; tries++) {
    target = (await commands.targets()).find(
      (t) => t.type === 'worker' && t.url.startsWith(origin) && t.url.includes('catalog.worker'),
    )
    if (!target) await new Promise((resolve) => setTimeout(resolve, 25))
  }
  if (!target) throw new Error('no catalog worker to profile')
  const session = await commands.attach(target.targetId)
  await session.send('Profiler.enable')
  await session.send('Profiler.setSamplingInterval', { interval: 500 })
  await session.send('Profiler.start')
  return {
    stop: async () => {
      const { profile } = await session.send('Profiler.stop', {}, 120_000)
      await session.detach()
      await commands.close()
      return profile
    },
  }
}

/**
 * Chromium on a profile on disk, as a user's browser keeps IndexedDB, driven over CDP. A
 * context Playwright makes (`newContext`) is incognito and keeps IndexedDB in memory, where
 * reading back a 220 MB snapshot (the index at a million listings) took 1.6-1.75 s against
 * 0.75 s on disk, in a standalone run on this machine.
 */
async function launchOnDisk() {
  const profileDir = mkdtempSync(join(tmpdir(), 'monsoon-bench-chromium-'))
  dirs.push(profileDir)
  const child = procs.spawn('chromium', CHROMIUM.executablePath, [
    ...CHROMIUM.args,
    '--headless',
    `--user-data-dir=${profileDir}`,
    '--remote-debugging-port=0',
    '--no-first-run',
    '--no-default-browser-check',
    // What Playwright's own launch passes, so pages run as they would under it.
    '--disable-background-timer-throttling',
    '--disable-backgrounding-occluded-windows',
    '--disable-renderer-backgrounding',
    'about:blank',
  ])
  const endpoint = await withDeadline(
    new Promise((resolve, reject) => {
      createInterface({ input: child.stderr }).on('line', (line) => {
        const listening = /DevTools listening on (ws:\/\/\S+)/.exec(line)
        if (listening) resolve(listening[1])
      })
      void child.exited.then(() => reject(new Error('chromium exited before it listened')))
    }),
    60_000,
    'chromium start',
  )
  const connected = await chromium.connectOverCDP(endpoint)
  return { browser: connected, context: connected.contexts()[0] }
}

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}
/** A file under app/ or shared/ changed after `built` (dist/app's index.html), or null. */
function newerSource(built) {
  for (const dir of ['app', 'shared']) {
    for (const entry of readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue
      const path = join(entry.parentPath ?? entry.path, entry.name)
      if (statSync(path).mtimeMs > built.mtimeMs) return path.slice(ROOT.length)
    }
  }
  return null
}
const ms = (x) => Number(x.toFixed(2))
const mb = (bytes) => Number((bytes / 1024 / 1024).toFixed(1))

try {
  const workerFile = existsSync(join(APP, 'assets'))
    ? readdirSync(join(APP, 'assets')).find((f) => /^catalog\.worker-.*\.js$/.test(f))
    : undefined
  if (!workerFile) throw new Error('no built catalog worker in dist/app: run `npx vite build`')
  const stale = process.env.MONSOON_BENCH_APP
    ? null
    : newerSource(statSync(join(APP, 'index.html')))
  // A build older than the code measures old code, and an older worker may not know the
  // messages this script sends (it waited for ever on `save` once).
  if (stale) throw new Error(`dist/app is older than ${stale}: run \`npx vite build\``)
  const file = await catalogFile()
  const dataDir = mkdtempSync(join(tmpdir(), 'monsoon-bench-browser-'))
  dirs.push(dataDir)
  note('catalog-browser: filling the relay')
  const { names, sample } = await seedStore(dataDir, file)
  const queries = makeQueries(names)
  names.length = 0
  const relay = await startRelay(dataDir)
  const verifyNode = nobleVerifyRate(sample)

  let context
  if (IN_MEMORY) {
    browser = await chromium.launch(CHROMIUM)
    context = await browser.newContext()
  } else {
    ;({ browser, context } = await launchOnDisk())
  }
  let page = await context.newPage()
  await page.exposeFunction('benchNote', (text) => note(`catalog-browser: ${text}`))
  await page.goto(`${relay}/health`)
  const workerUrl = `/assets/${workerFile}`

  // (a) The real path: the worker syncs the relay's catalog into IndexedDB and its index.
  note(`catalog-browser: importing ${N} listings through the catalog worker`)
  const importing = withDeadline(
    page.evaluate(
      ({ workerUrl, origin, n }) =>
        new Promise((resolve, reject) => {
          const worker = new Worker(workerUrl, { type: 'module' })
          const t0 = performance.now()
          let noted = 0
          let passErrors = 0
          let lastError = null
          let done = null
          worker.onmessage = ({ data }) => {
            if (data.type === 'failed') reject(new Error(data.error))
            if (data.type === 'saved' && done) {
              resolve({ ...done, count: n, passErrors, saveMs: performance.now() - t0 - done.ms })
              window.benchImportWorker = worker
            }
            if (data.type !== 'progress') return
            const relay = data.relays[0]
            // A pass that fails (a relay shedding load past our retries) is taken up again by
            // the worker's next pass, as in the app: counted, not fatal.
            if (relay?.state === 'error' && lastError !== relay.error) {
              passErrors++
              window.benchNote(`pass failed at ${data.count} listings: ${relay.error || '?'}`)
            }
            lastError = relay?.state === 'error' ? relay.error : null
            if (data.count - noted >= Math.max(10_000, n / 20)) {
              noted = data.count
              const s = (performance.now() - t0) / 1000
              window.benchNote(`${data.count} listings in ${s.toFixed(1)} s`)
            }
            if (data.count >= n && relay?.state === 'idle' && !done) {
              done = { ms: performance.now() - t0, refused: relay.refused }
              // The index snapshot (read at the next start) is saved before the worker ends:
              // not timed, as a tab saves it after the import, while its user searches.
              worker.postMessage({ type: 'save', id: 1 })
            }
          }
          worker.postMessage({ type: 'start', relays: [origin] })
        }),
      { workerUrl, origin: relay, n: N },
    ),
    IMPORT_TIMEOUT_MS,
    'import',
  )
  const profiling = profile ? await profileWorker(relay) : null
  const imported = await importing
  note(
    `catalog-browser: imported in ${(imported.ms / 1000).toFixed(1)} s, ` +
      `${Math.round(N / (imported.ms / 1000))} listings/s`,
  )
  if (profiling)
    writeFileSync(`${profile}-import.cpuprofile`, JSON.stringify(await profiling.stop()))
  await page.evaluate(() => window.benchImportWorker.terminate())

  // (b) Search: a fresh worker (as after a reload) loads IndexedDB, then answers queries.
  note(`catalog-browser: ${queries.length} searches in the worker`)
  const searching = page.evaluate(
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
      window.benchSearchWorker = worker
      return { loadMs: loaded.at - t0, took, rtt, matched }
    },
    { workerUrl, queries, n: N },
  )
  const loadProfiling = profile ? await profileWorker(relay) : null
  const search = await searching
  note(
    `catalog-browser: search p50 ${ms(quantile(search.took, 0.5))} ms, ` +
      `p95 ${ms(quantile(search.took, 0.95))} ms; ready after ${Math.round(search.loadMs)} ms`,
  )
  if (loadProfiling)
    writeFileSync(`${profile}-load.cpuprofile`, JSON.stringify(await loadProfiling.stop()))
  await page.evaluate(() => window.benchSearchWorker.terminate())
  await page.close()

  // (c) Start-up: the app opened with the catalog stored, until its index shows rows.
  note('catalog-browser: opening the app with the catalog stored')
  // Opened STARTUP_RUNS times, each in a new page, the median reported: one open varies by
  // a fifth from the next on this machine. The last page stays open for (d).
  const startups = []
  let app = null
  for (let run = 0; run < STARTUP_RUNS; run++) {
    await app?.close()
    app = await context.newPage()
    const traced = profile && run === STARTUP_RUNS - 1
    if (traced)
      await browser.startTracing(app, {
        path: `${profile}-startup.trace.json`,
        categories: STARTUP_TRACE_CATEGORIES,
      })
    const t0 = performance.now()
    await app.goto(`${relay}/`)
    await app.getByTestId('listing-row').first().waitFor({ timeout: STARTUP_TIMEOUT_MS })
    startups.push(performance.now() - t0)
    if (traced) await browser.stopTracing()
  }
  const startupMs = quantile(startups, 0.5)
  note(`catalog-browser: start-up ${startups.map(Math.round).join(' / ')} ms`)
  const shown = await app.getByTestId('listing-count').textContent()
  // (d) The tab's memory once the index is loaded and its sync pass has settled.
  await app.waitForTimeout(2000)
  const memory = await tabMemory(relay)
  const held = await tabMemory(relay, { gc: true })
  note(`catalog-browser: tab memory ${memory.total_mb} MB, ${held.total_mb} MB after a collection`)
  await app.close()

  // (e) The references, timed after the goal figures so neither the plain put's second copy
  // of the catalog in the profile nor its rows held in a page weigh on (b)-(d).
  page = await context.newPage()
  await page.goto(`${relay}/health`)
  // The limit: the same listings in the worker's record shape (StoredPage: a relay page as
  // records of MAX_STORED_PAGE_LISTINGS, keyed by their last cursor), parsed from the relay's
  // page text (not timed) and each relay page put in one transaction (timed), into a store
  // without indexes: what the worker writes, without verifying, judging or indexing. Only
  // what the naive search needs is kept. Over the first SHAPE_ROWS, other shapes are timed
  // beside it: one record per relay page (the worker's shape before 2026-12-08), and the
  // earlier layout's one record per listing, with db.ts v3's two indexes, and with its read
  // of each row before the write.
  note('catalog-browser: plain IndexedDB put of the same pages')
  await page.evaluate(async () => {
    const open = (name, make) =>
      new Promise((resolve, reject) => {
        const request = indexedDB.open(name, 1)
        request.onupgradeneeded = () => make(request.result)
        request.onsuccess = () => resolve(request.result)
        request.onerror = () => reject(request.error)
      })
    const rowStore = (db) => db.createObjectStore('listings', { keyPath: 'key' })
    const indexedStore = (db) => {
      const store = rowStore(db)
      store.createIndex('infoHash', 'infoHash')
      store.createIndex('cursor', 'cursor')
    }
    const pageStore = (db) => db.createObjectStore('listings', { keyPath: 'last' })
    window.benchRaw = {
      db: await open('bench-raw-pages', pageStore),
      shapes: {
        relay_pages: { db: await open('bench-raw-relay-pages', pageStore), ms: 0 },
        rows: { db: await open('bench-raw', rowStore), ms: 0 },
        rows_indexed: { db: await open('bench-raw-indexed', indexedStore), ms: 0 },
        rows_get_put_indexed: { db: await open('bench-raw-get-put', indexedStore), ms: 0 },
      },
      putMs: 0,
      count: 0,
      shapeCount: 0,
    }
    window.benchRows = []
  })
  // The relay's pages, in its order (it was filled from this file in order), as the JSON text
  // a relay sends, fetched by the page from a loopback server of this process one after the
  // other: the reference needs no relay. (Handed over through page.evaluate, 1.2 MB a page went
  // through the DevTools protocol, which kept Chromium's browser process busy at one to two
  // cores for ~50 s at 100,000 listings and over half an hour at a million.)
  const texts = relayPageTexts(file)
  const feed = createServer((req, res) => {
    texts.next().then(
      ({ value, done }) => {
        res.writeHead(200, {
          'content-type': 'application/json',
          'access-control-allow-origin': '*',
        })
        res.end(done ? 'null' : value)
      },
      (err) => res.destroy(err),
    )
  })
  await new Promise((resolve) => feed.listen(0, '127.0.0.1', resolve))
  try {
    await page.evaluate(
      async ({ feedUrl, shapeRows, perRecord }) => {
        const raw = window.benchRaw
        const write = (db, fill) =>
          new Promise((resolve, reject) => {
            const tx = db.transaction('listings', 'readwrite')
            fill(tx.objectStore('listings'))
            tx.oncomplete = resolve
            tx.onerror = () => reject(tx.error)
          })
        const timed = async (shape, fill) => {
          const t0 = performance.now()
          await write(raw.shapes[shape].db, fill)
          raw.shapes[shape].ms += performance.now() - t0
        }
        const fold = (s) =>
          s
            .normalize('NFKD')
            .replace(/\p{M}+/gu, '')
            .toLowerCase()
        for (;;) {
          const listings = JSON.parse(await (await fetch(feedUrl)).text())
          if (listings === null) break
          const now = Date.now()
          const first = raw.count
          const rows = listings.map((l) => ({
            key: `${l.publisher}:${l.infoHash}`,
            infoHash: l.infoHash,
            listing: l,
            storedAt: now,
            cursor: ++raw.count,
          }))
          const records = []
          for (let at = 0; at < listings.length; at += perRecord) {
            const part = listings.slice(at, at + perRecord)
            const last = first + at + part.length
            records.push({ last, first: first + at + 1, storedAt: now, listings: part })
          }
          const t0 = performance.now()
          await write(raw.db, (store) => records.forEach((record) => store.put(record)))
          raw.putMs += performance.now() - t0
          if (first < shapeRows) {
            raw.shapeCount += rows.length
            const record = { last: raw.count, first: first + 1, storedAt: now, listings }
            await timed('relay_pages', (store) => store.put(record))
            await timed('rows', (store) => rows.forEach((row) => store.put(row)))
            await timed('rows_indexed', (store) => rows.forEach((row) => store.put(row)))
            await timed('rows_get_put_indexed', (store) => {
              let left = rows.length
              for (const row of rows) {
                store.get(row.key).onsuccess = () => {
                  if (--left === 0) rows.forEach((r) => store.put(r))
                }
              }
            })
          }
          for (const l of listings) {
            window.benchRows.push({
              text: fold(`${l.name} ${l.description}`),
              name: fold(l.name),
              ts: l.ts,
              size: l.size,
              category: l.category,
            })
          }
        }
      },
      {
        feedUrl: `http://127.0.0.1:${feed.address().port}/`,
        shapeRows: SHAPE_ROWS,
        perRecord: MAX_STORED_PAGE_LISTINGS,
      },
    )
  } finally {
    feed.close()
    feed.closeAllConnections()
  }
  const raw = await page.evaluate(() => {
    const raw = window.benchRaw
    raw.db.close()
    const perS = {}
    for (const [name, shape] of Object.entries(raw.shapes)) {
      perS[name] = Math.round(raw.shapeCount / (shape.ms / 1000))
      shape.db.close()
    }
    window.benchRaw = null
    return { ms: raw.putMs, count: raw.count, shapes: { rows: raw.shapeCount, per_s: perS } }
  })

  note(`catalog-browser: ${Math.min(NAIVE_QUERIES, queries.length)} naive searches`)
  const naiveMs = await page.evaluate(
    ({ queries, naiveQueries }) => {
      // Naive: names and descriptions folded once (not timed), then a filter per query.
      const fold = (s) =>
        s
          .normalize('NFKD')
          .replace(/\p{M}+/gu, '')
          .toLowerCase()
      const rows = window.benchRows
      const value = {
        added: (l) => l.ts,
        size: (l) => l.size,
        name: (l) => l.name,
        category: (l) => l.category,
        seeds: () => 0,
        leechers: () => 0,
        downloads: () => 0,
      }
      const naive = []
      for (const q of queries.slice(0, naiveQueries)) {
        const start = performance.now()
        const terms = fold(q.text)
          .split(/[^\p{L}\p{N}]+/u)
          .filter(Boolean)
        const hits = rows.filter(
          (l) =>
            (!q.category || l.category === q.category) && terms.every((t) => l.text.includes(t)),
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
      window.benchRows = null
      return naive
    },
    { queries, naiveQueries: NAIVE_QUERIES },
  )
  await page.close()

  const importPerS = N / (imported.ms / 1000)
  const rawPerS = raw.count / (raw.ms / 1000)
  const p = (values) => ({ p50: quantile(values, 0.5), p95: quantile(values, 0.95) })
  const took = p(search.took)
  const rtt = p(search.rtt)
  const naive = p(naiveMs)
  process.stdout.write(
    JSON.stringify({
      bench: 'catalog-browser',
      listings: N,
      listing_version: VERSION,
      publishers: PUBLISHERS,
      browser: `chromium ${browser.version()}`,
      browser_storage: IN_MEMORY ? 'memory (incognito context)' : 'profile on disk',
      goals: GOALS,
      import_seconds: Number((imported.ms / 1000).toFixed(1)),
      import_listings_per_s: Math.round(importPerS),
      import_refused: imported.refused,
      import_failed_passes: imported.passErrors,
      raw_idb_put_per_s: Math.round(rawPerS),
      import_ratio: Number((importPerS / rawPerS).toFixed(4)),
      store_shapes_rows: raw.shapes.rows,
      store_shapes_per_s: { pages: Math.round(rawPerS), ...raw.shapes.per_s },
      verify_per_s_noble_node: verifyNode === null ? null : Math.round(verifyNode),
      index_save_ms: Math.round(imported.saveMs),
      reload_index_ms: Math.round(search.loadMs),
      search_queries: queries.length,
      search_queries_matching: search.matched,
      search_took_p50_ms: ms(took.p50),
      search_took_p95_ms: ms(took.p95),
      search_roundtrip_p50_ms: ms(rtt.p50),
      search_roundtrip_p95_ms: ms(rtt.p95),
      naive_queries: naiveMs.length,
      naive_filter_p50_ms: ms(naive.p50),
      naive_filter_p95_ms: ms(naive.p95),
      search_speedup_p50: Number((naive.p50 / rtt.p50).toFixed(1)),
      search_speedup_p95: Number((naive.p95 / rtt.p95).toFixed(1)),
      startup_ms: Math.round(startupMs),
      startup_runs_ms: startups.map(Math.round),
      startup_listing_count: shown,
      tab_memory_mb: memory.total_mb,
      tab_memory: memory.parts,
      tab_memory_after_gc_mb: held.total_mb,
      tab_memory_after_gc: held.parts,
    }) + '\n',
  )
} catch (err) {
  process.stdout.write(JSON.stringify({ bench: 'catalog-browser', error: String(err) }) + '\n')
  process.exitCode = 1
} finally {
  await cleanup()
}
