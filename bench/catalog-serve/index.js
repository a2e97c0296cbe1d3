// catalog-serve: 1,000 browsers syncing 100,000 listings from one relay at once while its tracker answers a steady announce load: announce p50/p99 beside the same relay idle, time for all to finish, pages/s, bytes on the wire; beside the relay before pages were cached and compressed
// timeout: 1500
//
//   npm run bench -- catalog-serve       (or: node bench/catalog-serve/index.js)
//   MONSOON_BENCH_LISTINGS=N             listings in the catalog (default 100000)
//   MONSOON_BENCH_BROWSERS=N             browsers syncing at once (default 1000)
//   MONSOON_BENCH_DURATION=S             seconds of announces measured per case (default 10)
//   MONSOON_BENCH_SERVE_ANNOUNCES=R      announces/s, HTTP, a connection each (default 100)
//   MONSOON_BENCH_SERVE_REFERENCE=REV    the reference relay's git revision (default 01955e9,
//                                        the last before issue 23's page serving); "none" skips
//   MONSOON_BENCH_SERVE_STORM_TIMEOUT=S  a storm is cut short after S s (default 300); browsers
//                                        not done by then are counted in `timed_out`
//
// Setup (not timed): N listings signed with OpenSSL (word-like names, 20 publishers, cached in
// bench/out/), stored through CatalogStore into one data directory, copied for each relay.
// Cases, each on a fresh relay started with default flags (every browser has its own loopback
// address, so the budgets per address are the ones users meet):
//   idle:      bench/abuse/honest.js announcing at R/s (8 addresses, a new connection each),
//              measured for S seconds, nothing else running;
//   storm:     the same announces, and the browsers (clients.js, in two processes so the
//              generator is not the bottleneck) all starting from scratch at once; the
//              announces are measured for S seconds from one second in, and the storm runs
//              until every browser has every listing;
//   reference: the storm against the reference relay (`git archive` of REV, run with this
//              checkout's node_modules).
// Reported per storm: seconds until all finished (and each browser's p50), pages/s, bytes on
// the wire and as JSON, retries (429/503 and errors), the relay's and the generators' CPU (%
// of one core), `storm_covered_window` (false when the storm ended inside the window).

import { execFileSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { register } from 'tsx/esm/api'
import { jsonLines } from '../abuse/watch.js'
import { RELAY_BIN } from '../abuse/relay.js'
import { CpuMeter } from '../lib/cpu.js'
import { draftAt, prng, vocabulary } from '../lib/listing-corpus.js'
import { note, runBenchmark, sleep } from '../lib/processes.js'

register()
const { CatalogStore } = await import('../../relay/catalog/store.ts')
const { FastSigner } = await import('../../relay/catalog/test-support.ts')
const { CATEGORIES } = await import('../../shared/listing.ts')

const BENCH = 'catalog-serve'
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const OUT = join(ROOT, 'bench', 'out')
const N = Number(process.env.MONSOON_BENCH_LISTINGS ?? 100_000)
const BROWSERS = Number(process.env.MONSOON_BENCH_BROWSERS ?? 1000)
const DURATION_S = Number(process.env.MONSOON_BENCH_DURATION ?? 10)
const ANNOUNCES = Number(process.env.MONSOON_BENCH_SERVE_ANNOUNCES ?? 100)
const REFERENCE = process.env.MONSOON_BENCH_SERVE_REFERENCE ?? '01955e9'
const PUBLISHERS = 20
const GENERATORS = 2
/** A storm still going after this is cut short (browsers not done count as `timed_out`). */
const STORM_TIMEOUT_S = Number(process.env.MONSOON_BENCH_SERVE_STORM_TIMEOUT ?? 300)
const STEP_TIMEOUT_MS = 30_000
const script = (path) => fileURLToPath(new URL(path, import.meta.url))

/** The machine's count of connections dropped for a full listen queue (every process's), or
 * null off Linux: SYNs dropped then wait a second or more before the client tries again. */
function listenOverflows() {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n')
    const names = lines.find((l) => l.startsWith('TcpExt:'))?.split(' ') ?? []
    const values = lines.filter((l) => l.startsWith('TcpExt:'))[1]?.split(' ') ?? []
    const at = names.indexOf('ListenOverflows')
    return at > 0 ? Number(values[at]) : null
  } catch {
    return null
  }
}

/** N listings, signed once and cached (one JSON line each). */
function loadListings() {
  const file = join(OUT, `catalog-serve-listings-${N}.jsonl`)
  if (existsSync(file)) {
    const lines = readFileSync(file, 'utf8').trim().split('\n')
    if (lines.length === N) return lines.map((l) => JSON.parse(l))
  }
  note(`${BENCH}: signing ${N} listings (cached in ${file})`)
  const random = prng(23)
  const words = vocabulary(random)
  const signers = Array.from({ length: PUBLISHERS }, () => new FastSigner())
  const ts = Math.floor(Date.now() / 1000) - 3600
  const listings = Array.from({ length: N }, (_, i) =>
    signers[i % PUBLISHERS].listing(draftAt(i, random, words, CATEGORIES), { seq: 1, ts }),
  )
  mkdirSync(OUT, { recursive: true })
  writeFileSync(file, listings.map((l) => JSON.stringify(l)).join('\n') + '\n')
  return listings
}

/** A data directory holding the catalog; `copies` more with the same file. */
function seededDirs(listings, copies) {
  const dir = mkdtempSync(join(tmpdir(), 'monsoon-bench-serve-'))
  const store = new CatalogStore(join(dir, 'catalog.sqlite'), {
    maxListingsPerPublisher: Math.ceil(N / PUBLISHERS),
    synchronous: 'normal',
  })
  for (let i = 0; i < listings.length; i += 1000) store.putMany(listings.slice(i, i + 1000))
  const count = store.count()
  store.close()
  if (count !== N) throw new Error(`seeded ${count} listings, not ${N}`)
  const dirs = [dir]
  for (let c = 0; c < copies; c++) {
    const copy = mkdtempSync(join(tmpdir(), 'monsoon-bench-serve-'))
    copyFileSync(join(dir, 'catalog.sqlite'), join(copy, 'catalog.sqlite'))
    dirs.push(copy)
  }
  return dirs
}

/** The relay at `rev` in a scratch directory, run with this checkout's node_modules. */
function referenceBin(rev) {
  const dir = mkdtempSync(join(tmpdir(), 'monsoon-bench-serve-ref-'))
  const tar = join(dir, 'src.tar')
  execFileSync('git', [
    '-C',
    ROOT,
    'archive',
    '-o',
    tar,
    rev,
    'relay',
    'shared',
    'app',
    'package.json',
    'tsconfig.json',
  ])
  execFileSync('tar', ['-xf', tar, '-C', dir])
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  return { bin: join(dir, 'relay', 'bin.js'), dir }
}

async function startRelay(procs, bin, dataDir) {
  const args = [bin, '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir]
  const child = procs.spawn('relay', process.execPath, [...args, '--log-level', 'info'], {
    cwd: dirname(dirname(bin)),
  })
  const line = await procs.waitForLine(child, (v) => v?.msg === 'listening', STEP_TIMEOUT_MS)
  return { port: line.port, child }
}

/** Announces at ANNOUNCES/s; with `storm`, the browsers start at the end of the warm-up and
 * the window opens a second later. Resolves with the announce figures and the storm's. */
async function measure(procs, relay, storm) {
  const args = [script('../abuse/honest.js'), String(relay.port), '--rate', String(ANNOUNCES)]
  args.push('--warmup', '2', '--duration', String(DURATION_S), '--wait-for-measure')
  const honest = procs.spawn('honest', process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  honest.stdin.on('error', () => {})
  const honestOut = jsonLines(honest)
  await honestOut.next((v) => v.phase === 'warm', STEP_TIMEOUT_MS, 'announce warm-up')
  const relayCpu = new CpuMeter(relay.child.pid)
  relayCpu.start()
  const overflowsBefore = listenOverflows()
  const t0 = performance.now()
  const clients = []
  if (storm) {
    const per = Math.ceil(BROWSERS / GENERATORS)
    for (let first = 0; first < BROWSERS; first += per) {
      const count = Math.min(per, BROWSERS - first)
      const a = [script('./clients.js'), String(relay.port), String(first), String(count)]
      a.push('--timeout', String(STORM_TIMEOUT_S))
      const child = procs.spawn('browsers', process.execPath, a)
      // Read and metered from the start: a small storm may be over within the second below.
      const cpu = new CpuMeter(child.pid)
      cpu.start()
      clients.push({ out: jsonLines(child), cpu })
    }
    await sleep(1000)
  }
  const windowStart = performance.now()
  honest.stdin.end('measure\n')
  const announces = honestOut.next((v) => 'announces' in v, DURATION_S * 1000 + 30_000, 'figures')
  // Awaited below; a storm that fails first must not leave it unhandled.
  announces.catch(() => {})
  const results = await Promise.all(
    clients.map((c) =>
      c.out.next((v) => 'clients' in v, (STORM_TIMEOUT_S + 30) * 1000, 'browsers'),
    ),
  )
  const stormS = (performance.now() - t0) / 1000
  const covered = performance.now() - windowStart >= DURATION_S * 1000
  clients.forEach((c) => c.cpu.stop())
  const figures = await announces
  relayCpu.stop()
  const overflows = overflowsBefore === null ? null : listenOverflows() - overflowsBefore
  await procs.stop(honest)
  const cpu = relayCpu.result()
  const announceFigures = {
    p50_ms: figures.p50_ms,
    p99_ms: figures.p99_ms,
    max_ms: figures.max_ms,
    success_pct: figures.success_pct,
    announces: figures.announces,
    failures: figures.failures,
  }
  if (!storm) {
    return {
      announce: announceFigures,
      relay_cpu_pct: cpu.server_cpu_pct,
      listen_overflows: overflows,
    }
  }
  const sum = (key) => results.reduce((n, r) => n + r[key], 0)
  const finish = results.flatMap((r) => r.finish_ms).sort((a, b) => a - b)
  const retried = {}
  for (const r of results) {
    for (const [k, v] of Object.entries(r.retried)) retried[k] = (retried[k] ?? 0) + v
  }
  const wire = sum('wire_bytes')
  const json = sum('json_bytes')
  const timedOut = sum('timed_out')
  const least = Math.min(...results.map((r) => r.listings_each?.[0] ?? N))
  if (least !== N && timedOut === 0) throw new Error(`a browser got ${least} listings, not ${N}`)
  const allDone = finish.at(-1) ?? null
  return {
    announce: announceFigures,
    storm_covered_window: covered,
    browsers: BROWSERS,
    finished: finish.length,
    timed_out: timedOut,
    all_finished_s: allDone === null ? null : Number((allDone / 1000).toFixed(2)),
    browser_p50_s: finish.length ? Number((finish[finish.length >> 1] / 1000).toFixed(2)) : null,
    pages_per_s: Math.round(sum('pages') / stormS),
    wire_mb: Math.round(wire / 1e6),
    json_mb: Math.round(json / 1e6),
    wire_ratio: Number((wire / Math.max(1, json)).toFixed(3)),
    retried,
    listen_overflows: overflows,
    relay_cpu_pct: cpu.server_cpu_pct,
    relay_cpu_s: relayCpu.cpuSeconds === null ? null : Number(relayCpu.cpuSeconds.toFixed(1)),
    generator_cpu_pct: clients.reduce((n, c) => n + (c.cpu.result().server_cpu_pct ?? 0), 0),
    machine_busy_pct: cpu.machine_busy_pct,
  }
}

await runBenchmark(BENCH, async (procs) => {
  const scratch = []
  try {
    const listings = loadListings()
    note(`${BENCH}: filling the catalogs with ${N} listings`)
    const withReference = REFERENCE !== 'none'
    const dirs = seededDirs(listings, withReference ? 2 : 1)
    scratch.push(...dirs)
    const ref = withReference ? referenceBin(REFERENCE) : null
    if (ref) scratch.push(ref.dir)

    note(`${BENCH}: idle relay, ${ANNOUNCES} announces/s`)
    let relay = await startRelay(procs, RELAY_BIN, dirs[0])
    const idle = await measure(procs, relay, false)
    await procs.stop(relay.child)

    note(`${BENCH}: ${BROWSERS} browsers syncing ${N} listings, ${ANNOUNCES} announces/s`)
    relay = await startRelay(procs, RELAY_BIN, dirs[1])
    const ours = await measure(procs, relay, true)
    await procs.stop(relay.child)

    let reference = null
    if (ref) {
      note(`${BENCH}: the same storm against the relay at ${REFERENCE}`)
      try {
        relay = await startRelay(procs, ref.bin, dirs[2])
        reference = { revision: REFERENCE, ...(await measure(procs, relay, true)) }
      } catch (err) {
        // Our figures stand without it.
        reference = { revision: REFERENCE, error: String(err?.message ?? err) }
      }
      await procs.stop(relay.child)
    }
    const ratio = (a, b) => (a == null || b == null ? null : Number((a / b).toFixed(2)))
    return {
      bench: BENCH,
      listings: N,
      browsers: BROWSERS,
      announces_per_s: ANNOUNCES,
      idle,
      ours,
      reference,
      // Announce p99 under the storm over the idle relay's (goal: the tracker keeps answering).
      p99_ratio_to_idle: ratio(ours.announce.p99_ms, idle.announce.p99_ms),
      reference_p99_ratio_to_idle: ratio(reference?.announce?.p99_ms, idle.announce.p99_ms),
      // Time for every browser to finish, ours over the reference's.
      ratio: ratio(ours.all_finished_s, reference?.all_finished_s),
    }
  } finally {
    await procs.stopAll()
    for (const d of scratch) rmSync(d, { recursive: true, force: true })
  }
})
