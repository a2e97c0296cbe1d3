// catalog-sync: relay-to-relay sync of signed listings (issues 3, 23), v2 batches and v1, beside a raw SQLite insert of the same rows
// timeout: 1800
//
//   npm run bench -- catalog-sync [--listings N]   (or MONSOON_BENCH_LISTINGS=N; default 100000)
//   MONSOON_BENCH_FORMATS=v2                        one format only (default: v2 and v1)
//   MONSOON_BENCH_PROFILE=DIR                       both relays under --cpu-prof, into DIR/relay1
//                                                   and DIR/relay2 (a profile a thread)
//
// Setup (not timed): N listings from max(20, N / 10,000) publishers (each under the relay's
// per-publisher caps), signed with OpenSSL as v2 batches of MAX_BATCH_LISTINGS (one
// signature a batch, shared/listing-batch.ts) and, at the default size, also one by one as
// v1, so the change shows. Cached in bench/out/ and streamed from there (a million listings
// do not fit in one string). Per format: relay 1's data directory is filled through
// CatalogStore (store_insert_per_s), and the limit is measured on the same rows: plain
// prepared INSERTs, same schema and pragmas, 1,000 a transaction. The relay commits pulled
// pages with synchronous=NORMAL (store.ts: a lost page is pulled again), so the goal's
// reference is the raw insert at NORMAL; the one at FULL (every commit fsynced, the
// reference before) is printed beside it.
// Timed: relay 2 started with `--peer relay1`, from its "listening" line to its "catalog
// caught up" line: every page fetched over HTTP, every listing verified, every row stored
// (and, beside it, from the process's start, start-up included).
// The goal (issue 23): sync at >= 0.8 of the raw insert rate. Prints one JSON line.

import { register } from 'tsx/esm/api'
import { createReadStream, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { closeSync, openSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { CpuMeter, processCpuSeconds } from '../lib/cpu.js'
import { ProcessGroup, note, withDeadline } from '../lib/processes.js'

register()
const { CatalogStore } = await import('../../relay/catalog/store.ts')
const { FastSigner, sampleDraft } = await import('../../relay/catalog/test-support.ts')
const { createFastVerifier } = await import('../../relay/signatures/verify.ts')
const { verify: nobleVerify, hexToBytes } = await import('../../shared/identity.ts')
const { batchStatementBytes, signingBytes } = await import('../../shared/listing.ts')
const { checkRows, relayVerifiedBatches } = await import('../../relay/catalog/page-check.ts')
const { MAX_BATCH_LISTINGS } = await import('../../shared/limits.ts')

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const OUT = join(ROOT, 'bench', 'out')
const DEFAULT_N = 100_000
const N = Number(process.env.MONSOON_BENCH_LISTINGS ?? DEFAULT_N)
/** Listings per publisher at most: the relay's default cap (MAX_LISTINGS_PER_PUBLISHER). */
const PER_PUBLISHER = 10_000
const PUBLISHERS = Math.max(20, Math.ceil(N / PER_PUBLISHER))
const BATCH = 1000
const GOAL_RATIO = 0.8
const SYNC_TIMEOUT_MS = 20 * 60_000
const PROFILE_DIR = process.env.MONSOON_BENCH_PROFILE
/** The relays measured (`npm run bench -- --relay FILE`: a scratch copy with a candidate
 * change, or the code before one); the raw insert and relay 1's seeding use this checkout. */
const RELAY_BIN = resolve(process.env.MONSOON_BENCH_RELAY_BIN ?? join(ROOT, 'relay', 'bin.js'))
/** v1 at the default size only: at a million it would take minutes to sign and to sync. */
const FORMATS =
  process.env.MONSOON_BENCH_FORMATS?.split(',') ?? (N <= DEFAULT_N ? ['v2', 'v1'] : ['v2'])

const procs = new ProcessGroup()
const dirs = []
const cleanup = async () => {
  await procs.stopAll()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => void cleanup().then(() => process.exit(130)))
}

function tempDir() {
  const d = mkdtempSync(join(tmpdir(), 'monsoon-bench-catalog-'))
  dirs.push(d)
  return d
}

/** The listings file of a format, one JSON line each, written once (signing timed). */
function listingsFile(format) {
  const suffix = format === 'v1' ? '' : `-v2-${MAX_BATCH_LISTINGS}`
  const file = join(OUT, `catalog-sync-listings-${N}${suffix}.jsonl`)
  if (existsSync(file)) return { file, signPerS: null }
  note(`catalog-sync: signing ${N} ${format} listings (cached in ${file})`)
  const signers = Array.from({ length: PUBLISHERS }, () => new FastSigner())
  const ts = Math.floor(Date.now() / 1000) - 3600
  mkdirSync(OUT, { recursive: true })
  const partial = `${file}.partial`
  const fd = openSync(partial, 'w')
  let seconds = 0
  // Publisher p gets listings p, p + PUBLISHERS, ...: v2 signs each one's in batches.
  const perPublisher = Math.ceil(N / PUBLISHERS)
  for (let p = 0; p < PUBLISHERS; p++) {
    const count = Math.max(0, Math.min(perPublisher, N - p * perPublisher))
    for (let start = 0; start < count; start += BATCH) {
      const n = Math.min(BATCH, count - start)
      const first = p * perPublisher + start
      const t0 = performance.now()
      const listings =
        format === 'v1'
          ? Array.from({ length: n }, (_, i) =>
              signers[p].listing(sampleDraft(first + i, 42), { seq: 1, ts }),
            )
          : signers[p].batches(first, n, { seq: 1, ts }, { salt: 42 })
      seconds += (performance.now() - t0) / 1000
      writeSync(fd, listings.map((l) => JSON.stringify(l)).join('\n') + '\n')
    }
  }
  closeSync(fd)
  renameSync(partial, file)
  return { file, signPerS: N / seconds }
}

/** The file's listings, `size` JSON lines at a time. */
async function* chunks(file, size = BATCH) {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity })
  let chunk = []
  for await (const line of lines) {
    if (line === '') continue
    chunk.push(line)
    if (chunk.length === size) {
      yield chunk
      chunk = []
    }
  }
  if (chunk.length > 0) yield chunk
}

/** The limit: plain prepared INSERTs of the same rows, same schema and pragmas, 1,000 a
 * transaction (the page size a puller stores at once). Only the inserts are timed. */
async function rawInsertRate(file, synchronous) {
  const dir = tempDir()
  const db = new Database(join(dir, 'raw.sqlite'))
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${synchronous}`)
  db.exec(`CREATE TABLE listings (
    cursor INTEGER PRIMARY KEY AUTOINCREMENT, publisher TEXT NOT NULL, info_hash TEXT NOT NULL,
    seq INTEGER NOT NULL, ts INTEGER NOT NULL, json TEXT NOT NULL, UNIQUE (publisher, info_hash));
    CREATE INDEX listings_by_info_hash ON listings (info_hash);`)
  const insert = db.prepare(
    'INSERT INTO listings (publisher, info_hash, seq, ts, json) VALUES (?, ?, ?, ?, ?)',
  )
  const many = db.transaction((batch) => {
    for (const r of batch) insert.run(...r)
  })
  let seconds = 0
  let cpuSeconds = 0
  let bytes = 0
  for await (const lines of chunks(file)) {
    const rows = lines.map((line) => {
      const l = JSON.parse(line)
      bytes += Buffer.byteLength(line)
      return [l.publisher, l.infoHash, l.seq, l.ts, JSON.stringify(l)]
    })
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    many(rows)
    const cpu = process.cpuUsage(c0)
    seconds += (performance.now() - t0) / 1000
    cpuSeconds += (cpu.user + cpu.system) / 1e6
  }
  db.close()
  return { perS: N / seconds, cpuUsPerListing: (cpuSeconds * 1e6) / N, bytesPerListing: bytes / N }
}

/** Fills relay 1's catalog through the store itself (dedupe, quotas, cursors). */
async function seedStore(dataDir, file) {
  const store = new CatalogStore(join(dataDir, 'catalog.sqlite'), {
    maxListingsPerPublisher: Math.ceil(N / PUBLISHERS),
    maxCatalogBytes: Number.MAX_SAFE_INTEGER,
  })
  let seconds = 0
  for await (const lines of chunks(file)) {
    const listings = lines.map((line) => JSON.parse(line))
    const t0 = performance.now()
    store.putMany(listings)
    seconds += (performance.now() - t0) / 1000
  }
  const count = store.count()
  store.close()
  if (count !== N) throw new Error(`seeded ${count} listings, not ${N}`)
  return N / seconds
}

/** Signatures a second (v1 listings' own), and whole listings verified a second on one
 * core by each format, as a verify worker does it (relay/catalog/page-check.ts: the relay's
 * verifier, v2 batches remembered, each listing made into the row the store writes). */
async function verifyRates(files) {
  const first = async (file) => {
    for await (const lines of chunks(file, 2000)) return lines.map((l) => JSON.parse(l))
  }
  const rate = (count, check) => {
    const t0 = performance.now()
    for (let i = 0; i < count; i++) if (!check(i)) throw new Error('refused a good listing')
    return count / ((performance.now() - t0) / 1000)
  }
  const out = {}
  for (const [format, file] of Object.entries(files)) {
    const sample = await first(file)
    const fast = createFastVerifier()
    const batches = relayVerifiedBatches()
    const now = Math.floor(Date.now() / 1000)
    const into = { rows: [], invalid: 0 }
    out[`verify_listings_per_s_${format}`] = rate(sample.length, (i) => {
      checkRows(sample, i, i + 1, now, fast, batches, into)
      return into.invalid === 0
    })
    // Bare signature checks on v1 listings where there are some (their own bytes signed).
    if (format !== FORMATS.at(-1)) continue
    const sigs = sample.map((l) => {
      const { sig, ...unsigned } = l
      const message = l.batch
        ? batchStatementBytes(l.publisher, l.batch.root, l.batch.n)
        : signingBytes(unsigned)
      return [hexToBytes(sig), message, hexToBytes(l.publisher)]
    })
    const plain = createFastVerifier({ maxRememberedSignatures: 0 })
    out.verify_per_s_openssl = rate(sigs.length, (i) => plain(...sigs[i]))
    out.verify_per_s_noble = rate(200, (i) => nobleVerify(...sigs[i]))
  }
  return out
}

/** Node's flags to profile relay `name` (MONSOON_BENCH_PROFILE), or none. */
function profileArgs(name) {
  return PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', resolve(PROFILE_DIR, name)] : []
}

/** CPU seconds of a process's main thread (its task whose id is the process's), from
 * /proc like processCpuSeconds: what the thread that writes SQLite spends, apart from its
 * verify workers. */
function mainThreadCpuSeconds(pid) {
  return processCpuSeconds(`${pid}/task/${pid}`)
}

/** Starts a relay; resolves with its port and a function waiting for a log message. */
async function startRelay(name, args, nodeArgs = []) {
  const spawnedAt = performance.now()
  const child = procs.spawn(name, process.execPath, [
    ...nodeArgs,
    RELAY_BIN,
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    ...args,
  ])
  const waiters = []
  /** Waits the relay made because its peer said it was busy (sync.ts, at debug level). */
  const busy = { waits: 0, ms: 0 }
  const lines = createInterface({ input: child.stdout })
  lines.on('line', (line) => {
    let entry
    try {
      entry = JSON.parse(line)
    } catch {
      return
    }
    entry.at = performance.now()
    if (entry.level === 'warn' || entry.level === 'error') note(`${name}: ${line}`)
    if (entry.msg === 'catalog peer busy') {
      busy.waits++
      busy.ms += entry.retryInMs
    }
    for (const w of [...waiters]) {
      if (w.match(entry)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(entry)
      }
    }
  })
  const waitFor = (msg, timeoutMs) =>
    withDeadline(
      new Promise((resolve) => waiters.push({ match: (e) => e.msg === msg, resolve })),
      timeoutMs,
      `${name} "${msg}"`,
    )
  const listening = await waitFor('listening', 30_000)
  return { child, port: listening.port, spawnedAt, listeningAt: listening.at, waitFor, busy }
}

/** One format end to end: the raw reference, relay 1 seeded, relay 2 pulling it all. */
async function syncRun(format, file) {
  note(`catalog-sync ${format}: raw SQLite insert rate`)
  const raw = await rawInsertRate(file, 'NORMAL')
  const rawFull = await rawInsertRate(file, 'FULL')
  const relay1Dir = tempDir()
  note(`catalog-sync ${format}: seeding relay 1`)
  const storePerS = await seedStore(relay1Dir, file)
  // Room for the whole catalog: the sync's speed is measured, not the relay's caps.
  const room = ['--max-catalog-bytes', String(Math.ceil(raw.bytesPerListing * N * 2))]
  const relay1 = await startRelay(
    `relay1-${format}`,
    ['--data-dir', relay1Dir, ...room],
    profileArgs('relay1'),
  )
  const url1 = `http://127.0.0.1:${relay1.port}`
  note(`catalog-sync ${format}: relay 2 pulling ${N} listings from ${url1}`)
  const relay2 = await startRelay(
    `relay2-${format}`,
    [
      '--data-dir',
      tempDir(),
      '--peer',
      url1,
      '--peer-poll-interval',
      '1',
      // The sync's speed, not the per-peer pull budget (--peer-pull-rate, 12,000 a minute by
      // default, against a hostile peer relay) is what this bench measures.
      '--peer-pull-rate',
      String(N * 60),
      // For the 'catalog peer busy' lines: the waits relay 1 asked for when it shed pages.
      '--log-level',
      'debug',
      ...room,
    ],
    profileArgs('relay2'),
  )
  // CPU from here (relay 2 has just started pulling) to caught up.
  const cpu2 = new CpuMeter(relay2.child.pid)
  const cpu2Main = new CpuMeter(relay2.child.pid, mainThreadCpuSeconds)
  const cpu1 = new CpuMeter(relay1.child.pid)
  cpu2.start()
  cpu2Main.start()
  cpu1.start()
  const caughtUp = await relay2.waitFor('catalog caught up', SYNC_TIMEOUT_MS)
  cpu2.stop()
  cpu2Main.stop()
  cpu1.stop()
  // SIGTERM lets the relays exit cleanly, which is when --cpu-prof writes their profiles.
  await procs.stop(relay2.child, PROFILE_DIR ? 15_000 : 3000)
  await procs.stop(relay1.child, PROFILE_DIR ? 15_000 : 3000)
  const seconds = (caughtUp.at - relay2.listeningAt) / 1000
  // From the process start: what starting the verify workers with the relay (before it
  // listens) moves out of `seconds` shows here.
  const fromSpawnSeconds = (caughtUp.at - relay2.spawnedAt) / 1000
  if (caughtUp.stored !== N) throw new Error(`${format}: relay 2 stored ${caughtUp.stored} of ${N}`)
  const syncPerS = N / seconds
  return {
    seconds,
    fromSpawnSeconds,
    syncPerS,
    rawPerS: raw.perS,
    rawFullPerS: rawFull.perS,
    bytesPerListing: raw.bytesPerListing,
    storePerS,
    busyWaits: relay2.busy.waits,
    busyWaitSeconds: relay2.busy.ms / 1000,
    relay2Cpu: cpu2.result().server_cpu_pct,
    // CPU time a listing, which other work on the machine changes far less than wall time.
    relay2CpuUs: (cpu2.result().server_cpu_pct / 100) * seconds * (1e6 / N),
    relay2MainCpuUs: cpu2Main.cpuSeconds === null ? null : (cpu2Main.cpuSeconds * 1e6) / N,
    relay1CpuUs: (cpu1.result().server_cpu_pct / 100) * seconds * (1e6 / N),
    rawCpuUs: raw.cpuUsPerListing,
    relay1Cpu: cpu1.result().server_cpu_pct,
    machineBusy: cpu2.result().machine_busy_pct,
  }
}

const round = (x) => (x === null || x === undefined ? null : Math.round(x))
const ratio = (r, raw = r.rawPerS) => Number((r.syncPerS / raw).toFixed(3))

try {
  const files = {}
  const signPerS = {}
  for (const format of FORMATS) {
    const made = listingsFile(format)
    files[format] = made.file
    signPerS[format] = made.signPerS
  }
  const verify = await verifyRates(files)
  const runs = {}
  for (const format of FORMATS) runs[format] = await syncRun(format, files[format])
  const v2 = runs.v2
  const v1 = runs.v1
  process.stdout.write(
    JSON.stringify({
      bench: 'catalog-sync',
      listings: N,
      publishers: PUBLISHERS,
      batch_listings: MAX_BATCH_LISTINGS,
      // The goal figure: v2 batches, sync rate over the raw insert rate of the same rows.
      sync_seconds: Number(v2.seconds.toFixed(2)),
      sync_seconds_from_spawn: Number(v2.fromSpawnSeconds.toFixed(2)),
      sync_listings_per_s: round(v2.syncPerS),
      raw_sqlite_insert_per_s: round(v2.rawPerS),
      ratio: ratio(v2),
      goal_ratio: GOAL_RATIO,
      raw_sqlite_insert_full_per_s: round(v2.rawFullPerS),
      ratio_vs_full: ratio(v2, v2.rawFullPerS),
      bytes_per_listing: round(v2.bytesPerListing),
      store_insert_per_s: round(v2.storePerS),
      // Pages relay 1 shed (503, its event loop late) and the seconds relay 2 waited for them.
      busy_waits: v2.busyWaits,
      busy_wait_seconds: Number(v2.busyWaitSeconds.toFixed(1)),
      relay2_cpu_pct: v2.relay2Cpu,
      relay1_cpu_pct: v2.relay1Cpu,
      // CPU µs a listing: relay 2 pulling (fetch, verify, store), relay 1 serving, and the raw
      // insert (NORMAL): a measure of cost that holds up on a busy machine.
      relay2_cpu_us_per_listing: round(v2.relay2CpuUs),
      // ...of which its main thread (fetch, SQLite); the rest is its verify workers'.
      relay2_main_cpu_us_per_listing: round(v2.relay2MainCpuUs),
      relay1_cpu_us_per_listing: round(v2.relay1CpuUs),
      raw_insert_cpu_us_per_listing: round(v2.rawCpuUs),
      machine_busy_pct: v2.machineBusy,
      // v1, one signature a listing (the default size only).
      v1_sync_seconds: v1 ? Number(v1.seconds.toFixed(2)) : null,
      v1_sync_listings_per_s: round(v1?.syncPerS),
      v1_raw_sqlite_insert_per_s: round(v1?.rawPerS),
      v1_ratio: v1 ? ratio(v1) : null,
      v1_ratio_vs_full: v1 ? ratio(v1, v1.rawFullPerS) : null,
      v1_bytes_per_listing: round(v1?.bytesPerListing),
      v1_busy_wait_seconds: v1 ? Number(v1.busyWaitSeconds.toFixed(1)) : null,
      v1_relay2_cpu_pct: v1?.relay2Cpu ?? null,
      verify_listings_per_s_v2: round(verify.verify_listings_per_s_v2),
      verify_listings_per_s_v1: round(verify.verify_listings_per_s_v1),
      verify_per_s_openssl: round(verify.verify_per_s_openssl),
      verify_per_s_noble: round(verify.verify_per_s_noble),
      sign_listings_per_s_v2: round(signPerS.v2),
      sign_per_s_openssl: round(signPerS.v1),
    }) + '\n',
  )
} catch (err) {
  process.stdout.write(JSON.stringify({ bench: 'catalog-sync', error: String(err) }) + '\n')
  process.exitCode = 1
} finally {
  await cleanup()
}
