// catalog-sync: relay-to-relay sync of 100,000 signed listings (issue 3), beside the limit,
// the raw SQLite insert rate of the same rows measured in the same run.
//
//   npm run bench -- catalog-sync        (or: node bench/catalog-sync/index.js)
//   MONSOON_BENCH_LISTINGS=N             another count (default 100000)
//
// Setup (not timed): N listings from 20 publishers, signed with OpenSSL (noble signs ~800/s
// here) and cached in bench/out/; relay 1's data directory is filled through CatalogStore
// (its rate is reported as store_insert_per_s). Timed: relay 2 started with `--peer relay1`,
// from its "listening" line to its "catalog caught up" line: every page fetched over HTTP,
// every signature verified, every row stored. Prints one JSON line.

import { register } from 'tsx/esm/api'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { CpuMeter } from '../lib/cpu.js'
import { ProcessGroup, note, withDeadline } from '../lib/processes.js'

register()
const { CatalogStore } = await import('../../relay/catalog/store.ts')
const { FastSigner, sampleDraft } = await import('../../relay/catalog/test-support.ts')
const { createFastVerifier } = await import('../../relay/signatures/verify.ts')
const { verify: nobleVerify, hexToBytes } = await import('../../shared/identity.ts')
const { signingBytes } = await import('../../shared/listing.ts')

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const OUT = join(ROOT, 'bench', 'out')
const N = Number(process.env.MONSOON_BENCH_LISTINGS ?? 100_000)
const PUBLISHERS = 20
const BATCH = 1000
const SYNC_TIMEOUT_MS = 10 * 60_000

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

/** N listings, generated once and cached (one JSON line each). */
function loadListings() {
  const file = join(OUT, `catalog-sync-listings-${N}.jsonl`)
  if (existsSync(file)) {
    const lines = readFileSync(file, 'utf8').trim().split('\n')
    if (lines.length === N) return { listings: lines.map((l) => JSON.parse(l)), signPerS: null }
  }
  note(`catalog-sync: signing ${N} listings (cached in ${file})`)
  const signers = Array.from({ length: PUBLISHERS }, () => new FastSigner())
  const ts = Math.floor(Date.now() / 1000) - 3600
  const t0 = performance.now()
  const listings = Array.from({ length: N }, (_, i) =>
    signers[i % PUBLISHERS].listing(sampleDraft(i, 42), { seq: 1, ts }),
  )
  const signPerS = N / ((performance.now() - t0) / 1000)
  mkdirSync(OUT, { recursive: true })
  writeFileSync(file, listings.map((l) => JSON.stringify(l)).join('\n') + '\n')
  return { listings, signPerS }
}

/** The limit: plain prepared INSERTs of the same rows, same schema and pragmas, 1,000 a
 * transaction (the page size a puller stores at once). */
function rawInsertRate(listings) {
  const dir = tempDir()
  const db = new Database(join(dir, 'raw.sqlite'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.exec(`CREATE TABLE listings (
    cursor INTEGER PRIMARY KEY AUTOINCREMENT, publisher TEXT NOT NULL, info_hash TEXT NOT NULL,
    seq INTEGER NOT NULL, ts INTEGER NOT NULL, json TEXT NOT NULL, UNIQUE (publisher, info_hash));
    CREATE INDEX listings_by_info_hash ON listings (info_hash);`)
  const insert = db.prepare(
    'INSERT INTO listings (publisher, info_hash, seq, ts, json) VALUES (?, ?, ?, ?, ?)',
  )
  const rows = listings.map((l) => [l.publisher, l.infoHash, l.seq, l.ts, JSON.stringify(l)])
  const many = db.transaction((batch) => {
    for (const r of batch) insert.run(...r)
  })
  const t0 = performance.now()
  for (let i = 0; i < rows.length; i += BATCH) many(rows.slice(i, i + BATCH))
  const seconds = (performance.now() - t0) / 1000
  db.close()
  return N / seconds
}

/** Fills relay 1's catalog through the store itself (dedupe, quotas, cursors). */
function seedStore(dataDir, listings) {
  const store = new CatalogStore(join(dataDir, 'catalog.sqlite'), {
    maxListingsPerPublisher: Math.ceil(N / PUBLISHERS),
  })
  const t0 = performance.now()
  for (let i = 0; i < listings.length; i += BATCH) store.putMany(listings.slice(i, i + BATCH))
  const seconds = (performance.now() - t0) / 1000
  const count = store.count()
  store.close()
  if (count !== N) throw new Error(`seeded ${count} listings, not ${N}`)
  return N / seconds
}

function verifyRates(listings) {
  const sample = listings.slice(0, 2000).map((l) => {
    const { sig, ...unsigned } = l
    return [hexToBytes(sig), signingBytes(unsigned), hexToBytes(l.publisher)]
  })
  const rate = (verify, count) => {
    const t0 = performance.now()
    for (let i = 0; i < count; i++) if (!verify(...sample[i])) throw new Error('bad signature')
    return count / ((performance.now() - t0) / 1000)
  }
  return { openssl: rate(createFastVerifier(), 2000), noble: rate(nobleVerify, 200) }
}

/** Starts a relay; resolves with its port and a function waiting for a log message. */
async function startRelay(name, args) {
  const child = procs.spawn(name, process.execPath, [
    join(ROOT, 'relay', 'bin.js'),
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    ...args,
  ])
  const waiters = []
  const lines = createInterface({ input: child.stdout })
  lines.on('line', (line) => {
    let entry
    try {
      entry = JSON.parse(line)
    } catch {
      return
    }
    entry.at = performance.now()
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
  return { child, port: listening.port, listeningAt: listening.at, waitFor }
}

try {
  const { listings, signPerS } = loadListings()
  note('catalog-sync: raw SQLite insert rate')
  const rawPerS = rawInsertRate(listings)
  const relay1Dir = tempDir()
  note('catalog-sync: seeding relay 1')
  const storePerS = seedStore(relay1Dir, listings)
  const verify = verifyRates(listings)

  const relay1 = await startRelay('relay1', ['--data-dir', relay1Dir])
  const url1 = `http://127.0.0.1:${relay1.port}`
  note(`catalog-sync: relay 2 pulling ${N} listings from ${url1}`)
  const relay2 = await startRelay('relay2', [
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
  ])
  // CPU from here (relay 2 has just started pulling) to caught up.
  const cpu2 = new CpuMeter(relay2.child.pid)
  const cpu1 = new CpuMeter(relay1.child.pid)
  cpu2.start()
  cpu1.start()
  const caughtUp = await relay2.waitFor('catalog caught up', SYNC_TIMEOUT_MS)
  cpu2.stop()
  cpu1.stop()
  const seconds = (caughtUp.at - relay2.listeningAt) / 1000
  if (caughtUp.stored !== N) throw new Error(`relay 2 stored ${caughtUp.stored} of ${N}`)
  const syncPerS = N / seconds
  const round = (x) => (x === null ? null : Math.round(x))
  process.stdout.write(
    JSON.stringify({
      bench: 'catalog-sync',
      listings: N,
      publishers: PUBLISHERS,
      sync_seconds: Number(seconds.toFixed(2)),
      sync_listings_per_s: round(syncPerS),
      raw_sqlite_insert_per_s: round(rawPerS),
      ratio: Number((syncPerS / rawPerS).toFixed(3)),
      store_insert_per_s: round(storePerS),
      verify_per_s_openssl: round(verify.openssl),
      verify_per_s_noble: round(verify.noble),
      sign_per_s_openssl: round(signPerS),
      // Percent of one core over the sync (relay 2 runs one verify worker per core).
      relay2_cpu_pct: cpu2.result().server_cpu_pct,
      relay1_cpu_pct: cpu1.result().server_cpu_pct,
      machine_busy_pct: cpu2.result().machine_busy_pct,
    }) + '\n',
  )
} catch (err) {
  process.stdout.write(JSON.stringify({ bench: 'catalog-sync', error: String(err) }) + '\n')
  process.exitCode = 1
} finally {
  await cleanup()
}
