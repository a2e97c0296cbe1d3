// catalog-index: the app's search index in Node at 100,000 listings (issue 23): build time, memory, snapshot size, save and load, search p50/p95 beside the old index and a naive filter
//
//   npm run bench -- catalog-index                     (100,000 listings, about a minute)
//   npm run bench -- catalog-index --listings 1000000  (the issue 23 figures)
//
// No browser: app/catalog/search-index.ts run in this process. The catalog is the word-like
// corpus of bench/lib/listing-corpus.js (50 publishers), generated in chunks that are not
// timed; a third of the hashes get swarm figures. Measured in turn, each after a GC, so the
// memory of one does not count against the next:
//   ours       the index: build (upserts only), heap + array buffers it holds, snapshot size,
//              snapshot() and fromSnapshot() times, the first query of each sort (orderings
//              built), then >= 300 varied queries (words, 1-3 letter prefixes, two words,
//              categories, sorts by seeds/downloads/size/name/added, deep offsets);
//   reference  the index as it was before issue 23 (reference-index.ts, a copy), same steps;
//   naive      an Array.filter + sort over rows with folded text (fewer queries at large N:
//              each one walks every row).
// Prints one JSON line on stdout; progress on stderr.

import { register } from 'tsx/esm/api'
import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import { note } from '../lib/processes.js'
import { draftAt, prng, vocabulary } from '../lib/listing-corpus.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc')
register()
const { SearchIndex, words } = await import('../../app/catalog/search-index.ts')
const { SearchIndex: ReferenceIndex } = await import('./reference-index.ts')
const { CATEGORIES } = await import('../../shared/listing.ts')

const N = Number(process.env.MONSOON_BENCH_LISTINGS ?? 100_000)
const PUBLISHERS = 50
const QUERIES = 360
const CHUNK = 10_000
const PAGE_SIZE = 50
/** Naive queries at most: each one walks every row. */
const NAIVE_QUERIES = N > 200_000 ? 60 : QUERIES
const SORTS = ['added', 'seeds', 'size', 'name', 'downloads', 'leechers', 'category']

const publishers = Array.from({ length: PUBLISHERS }, (_, p) =>
  (p + 1).toString(16).padStart(2, '0').repeat(32),
)

/** The catalog, a chunk at a time, the same every call; `sample` gets every 97th name. */
function* corpus(sample) {
  const random = prng(20261206)
  const vocab = vocabulary(random)
  const now = 1_790_000_000
  for (let from = 0; from < N; from += CHUNK) {
    const chunk = []
    for (let i = from; i < Math.min(N, from + CHUNK); i++) {
      const d = draftAt(i, random, vocab, CATEGORIES)
      const publisher = publishers[i % PUBLISHERS]
      chunk.push({
        key: `${publisher}:${d.infoHash}`,
        infoHash: d.infoHash,
        name: d.name,
        description: d.description,
        category: d.category,
        size: d.size,
        ts: now - Math.floor(random() * 2 * 365 * 86_400),
      })
      if (sample && i % 97 === 0) sample.push(d.name)
    }
    yield chunk
  }
}

function figuresOf() {
  const random = prng(99)
  const out = []
  for (let i = 0; i < N; i += 3) {
    const seeds = Math.floor(random() ** 3 * 500)
    const infoHash = (i.toString(16) + 'cafe').padStart(40, '0')
    out.push([infoHash, { seeds, leechers: Math.floor(random() * 40), downloads: seeds * 7 }])
  }
  return out
}

function makeQueries(names) {
  const random = prng(7)
  const any = () => names[Math.floor(random() * names.length)]
  const wordsOf = (name) => words(name).filter((w) => w.length > 2 && !/^\d+$/.test(w))
  const queries = []
  for (let i = 0; i < QUERIES; i++) {
    const kind = i % 8
    const w = wordsOf(any())
    const word = w[Math.floor(random() * w.length)] ?? 'release'
    let text = ''
    if (kind === 0) text = word
    else if (kind === 1) text = word.slice(0, 1 + Math.floor(random() * 3))
    else if (kind === 2) text = w.slice(0, 2).join(' ')
    else if (kind === 3) text = `${word.slice(0, 2)} ${wordsOf(any())[0] ?? 'x'}`
    else if (kind === 4) text = `zq${Math.floor(random() * 1e6)}x`
    else if (kind === 5) text = word.toUpperCase()
    const deep = random() < 0.15
    queries.push({
      text,
      ...((kind === 6 || random() < 0.2) && {
        category: CATEGORIES[Math.floor(random() * CATEGORIES.length)],
      }),
      sort: SORTS[Math.floor(random() * SORTS.length)],
      descending: random() < 0.6,
      offset: deep ? PAGE_SIZE * Math.floor(random() * 100) : 0,
      limit: PAGE_SIZE,
    })
  }
  return queries
}

const memory = () => {
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}
const mb = (bytes) => Number((bytes / 2 ** 20).toFixed(1))
const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}
const ms = (x) => Number(x.toFixed(2))
const time = (fn) => {
  const t0 = performance.now()
  const value = fn()
  return [value, performance.now() - t0]
}

function build(Index) {
  const index = new Index()
  let buildMs = 0
  for (const chunk of corpus(null)) buildMs += time(() => index.upsert(chunk))[1]
  buildMs += time(() => index.setFigures(figuresOf()))[1]
  return { index, buildMs }
}

/** First query per sort (orderings built), then the timed queries. */
function searchAll(index, queries) {
  const firstMs = SORTS.map(
    (sort) =>
      time(() => index.search({ text: '', sort, descending: true, offset: 0, limit: 50 }))[1],
  )
  const took = []
  const totals = []
  for (const q of queries) {
    const [result, t] = time(() => index.search(q))
    took.push(t)
    totals.push(result.total)
  }
  return { firstMs, took, totals }
}

function measure(name, Index, queries) {
  const before = memory()
  note(`catalog-index: building ${name} at ${N}`)
  const { index, buildMs } = build(Index)
  const held = memory() - before
  note(`catalog-index: ${name} built in ${(buildMs / 1000).toFixed(1)} s, ${mb(held)} MB`)
  const search = searchAll(index, queries)
  // With every ordering built (and ranks where queries sorted matches by rank).
  const heldAfterSearches = memory() - before
  return { index, buildMs, held, heldAfterSearches, search }
}

function naive(queries) {
  const fold = (s) => words(s).join(' ')
  const rows = []
  for (const chunk of corpus(null)) {
    for (const l of chunk) rows.push({ ...l, text: fold(`${l.name} ${l.description}`) })
  }
  const value = {
    added: (l) => l.ts,
    size: (l) => l.size,
    name: (l) => l.name.toLowerCase(),
    category: (l) => l.category,
    seeds: () => 0,
    leechers: () => 0,
    downloads: () => 0,
  }
  return queries.slice(0, NAIVE_QUERIES).map((q) => {
    const t0 = performance.now()
    const terms = words(q.text)
    const hits = rows.filter(
      (l) => (!q.category || l.category === q.category) && terms.every((t) => l.text.includes(t)),
    )
    const key = value[q.sort]
    hits.sort((a, b) => {
      const x = key(a)
      const y = key(b)
      const c = x < y ? -1 : x > y ? 1 : 0
      return q.descending ? -c : c
    })
    hits.slice(q.offset, q.offset + q.limit)
    return performance.now() - t0
  })
}

try {
  const names = []
  for (const _ of corpus(names));
  const queries = makeQueries(names)
  names.length = 0

  let ours = measure('ours', SearchIndex, queries)
  note('catalog-index: snapshot')
  let [bytes, saveMs] = time(() => ours.index.snapshot())
  const expected = queries.slice(0, 40).map((q) => JSON.stringify(ours.index.search(q)))
  const oursResult = { ...ours, index: null }
  ours = null
  let [restored, loadMs] = time(() => SearchIndex.fromSnapshot(bytes))
  const [, firstAfterLoadMs] = time(() =>
    restored.search({ text: '', sort: 'added', descending: true, offset: 0, limit: 50 }),
  )
  const same = queries
    .slice(0, 40)
    .every((q, i) => JSON.stringify(restored.search(q)) === expected[i])
  if (!same) throw new Error('the restored index answers differently')
  // A page of new listings arriving while the index is in use (an import, a sync pass): the
  // upsert, then the first searches, which merge the new rows into their orderings.
  const page = []
  for (let i = 0; i < 1000; i++) {
    const infoHash = `${i.toString(16)}beef`.padStart(40, '0')
    page.push({
      key: `${publishers[0]}:${infoHash}`,
      infoHash,
      name: `new arrival ${i}`,
      description: '',
      category: 'movie',
      size: i,
      ts: i,
    })
  }
  const [, pageUpsertMs] = time(() => restored.upsert(page))
  const afterPage = ['seeds', 'added'].map(
    (sort) =>
      time(() =>
        restored.search({ text: 'arrival', sort, descending: true, offset: 0, limit: 50 }),
      )[1],
  )
  // What the restored index holds, its snapshot buffer included (its columns are views on it).
  const withRestored = memory()
  const snapshotBytes = bytes.length
  restored = null
  bytes = null
  const restoredHeld = withRestored - memory()

  const reference = measure('reference', ReferenceIndex, queries)
  reference.index = null
  const mismatched = queries.filter(
    (_, i) => reference.search.totals[i] !== oursResult.search.totals[i],
  )
  if (mismatched.length)
    throw new Error(`totals differ from the reference: ${JSON.stringify(mismatched[0])}`)
  note(`catalog-index: naive filter over ${NAIVE_QUERIES} queries`)
  const naiveTook = naive(queries)

  const p = (values) => ({ p50: ms(quantile(values, 0.5)), p95: ms(quantile(values, 0.95)) })
  const o = p(oursResult.search.took)
  const r = p(reference.search.took)
  const nv = p(naiveTook)
  process.stdout.write(
    JSON.stringify({
      bench: 'catalog-index',
      listings: N,
      queries: queries.length,
      queries_matching: oursResult.search.totals.filter((t) => t > 0).length,
      build_s: Number((oursResult.buildMs / 1000).toFixed(2)),
      memory_mb: mb(oursResult.held),
      memory_after_searches_mb: mb(oursResult.heldAfterSearches),
      snapshot_mb: mb(snapshotBytes),
      snapshot_save_ms: Math.round(saveMs),
      snapshot_load_ms: Math.round(loadMs),
      restored_memory_mb: mb(restoredHeld),
      page_upsert_ms: ms(pageUpsertMs),
      first_search_after_page_ms: { seeds: ms(afterPage[0]), added: ms(afterPage[1]) },
      first_search_after_load_ms: ms(firstAfterLoadMs),
      first_search_per_sort_ms: Object.fromEntries(
        SORTS.map((s, i) => [s, ms(oursResult.search.firstMs[i])]),
      ),
      search_p50_ms: o.p50,
      search_p95_ms: o.p95,
      slowest_queries: oursResult.search.took
        .map((t, i) => ({ ms: ms(t), total: oursResult.search.totals[i], ...queries[i] }))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 5),
      reference_build_s: Number((reference.buildMs / 1000).toFixed(2)),
      reference_memory_mb: mb(reference.held),
      reference_memory_after_searches_mb: mb(reference.heldAfterSearches),
      reference_first_search_per_sort_ms: Object.fromEntries(
        SORTS.map((s, i) => [s, ms(reference.search.firstMs[i])]),
      ),
      reference_search_p50_ms: r.p50,
      reference_search_p95_ms: r.p95,
      naive_queries: naiveTook.length,
      naive_p50_ms: nv.p50,
      naive_p95_ms: nv.p95,
      ratio_p50_to_reference: Number((o.p50 / r.p50).toFixed(3)),
      ratio_p95_to_reference: Number((o.p95 / r.p95).toFixed(3)),
      ratio_memory_to_reference: Number((oursResult.held / reference.held).toFixed(3)),
      goals: { search_p50_ms: 3, search_p95_ms: 20, memory_mb: 250 },
    }) + '\n',
  )
} catch (err) {
  process.stdout.write(
    JSON.stringify({ bench: 'catalog-index', error: String(err?.stack ?? err) }) + '\n',
  )
  process.exitCode = 1
}
