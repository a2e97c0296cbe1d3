// abuse: honest announce p50/p99, success % and relay RSS while one address attacks (issue 20's families), beside the relay idle
// timeout: 480
//
// Each family gets a fresh relay (relay/bin.js, default flags and budgets: relay.js), so what one attack leaves
// behind (a full tracker keeps its peers for their TTL) does not count against the next.
// The reference is the first row: the same honest load against a relay nobody attacks, in
// the same run. Per family:
//   1. start the relay (three for fan-out; seed its catalog for slow readers);
//   2. honest.js: HONEST_RATE announces/s over HTTP, a new connection each, from eight
//      loopback aliases (shared.js), warm-up first so the honest swarms exist;
//   3. the attacker (attack.js, or sybil.js) from 127.0.0.66; once it says it is at full
//      speed (a filling attack: once it has made 100,000 announces, or after RAMP_MAX_S),
//      the honest load is measured for --duration seconds and the relay's CPU metered; its
//      RSS is sampled from /proc every 250 ms from the attack's start;
//   4. the attacker stopped (its own counts kept), the relay's refusals read from /metrics
//      (monsoon_refusals_total by reason), the relay stopped.
// Families: tracker-fill, websocket, slow-readers, held-bodies, conn-flood, fan-out (a
// 3-relay network, see networkArgs; `owners_seen` says it formed, and its honest figures
// on the same network unattacked are in `idle_on_network`), sybil (30 fake supernodes; the relay
// runs with --local-network, since the fakes live on loopback, as they would on public
// addresses on the internet; `hijacked_pct` is the share of honest announces answered by
// the fakes).
// Environment: MONSOON_BENCH_DURATION (s measured per family, default 10), MONSOON_BENCH_WARMUP
// (s of honest load before each attack, default 2), MONSOON_BENCH_ABUSE_RATE (honest
// announces/s, default 200), MONSOON_BENCH_ABUSE_FAMILIES (comma-separated: some only; the
// idle row always runs).

import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { CpuMeter } from '../lib/cpu.js'
import { note, runBenchmark, sleep } from '../lib/processes.js'
import { RELAY_BIN, startDefaultRelay } from './relay.js'
import { ATTACKER, HONEST } from './shared.js'
import { RssSampler, jsonLines, refusals, rssMb } from './watch.js'

const BENCH = 'abuse'
const DURATION_S = Number(process.env.MONSOON_BENCH_DURATION ?? 10)
const WARMUP_S = Number(process.env.MONSOON_BENCH_WARMUP ?? 2)
const HONEST_RATE = Number(process.env.MONSOON_BENCH_ABUSE_RATE ?? 200)
const ONLY = process.env.MONSOON_BENCH_ABUSE_FAMILIES?.split(',').filter(Boolean)
const script = (name) => fileURLToPath(new URL(`./${name}`, import.meta.url))
const STEP_TIMEOUT_MS = 30_000
const LOOKUPS = 20
const SETTLE_MS = 3000
/** Longest a filling attack (tracker-fill, websocket) runs before the window opens, if the
 * tracker has not taken its 100,000 announces by then (attack.js). */
const RAMP_MAX_S = Math.min(15, 1.5 * DURATION_S)

const FAMILIES = [
  { family: 'idle' },
  { family: 'tracker-fill' },
  { family: 'websocket' },
  { family: 'slow-readers', seed: true },
  { family: 'held-bodies' },
  { family: 'conn-flood' },
  { family: 'fan-out', relays: 3 },
  { family: 'sybil', attacker: 'sybil.js', relayArgs: ['--local-network'] },
]

/**
 * Flags for three relays on one machine to own hashes together within seconds: they talk on
 * loopback, exchange every second, and, where the relay has admission (issue 20), its seed
 * admits the others at once and three may share a prefix. Asked of the relay's --help, so
 * the bench runs against a relay with or without them.
 */
function networkArgs() {
  const help = spawnSync(process.execPath, [RELAY_BIN, '--help'], { encoding: 'utf8' }).stdout
  const args = ['--local-network', '--supernode-poll-interval', '1']
  if (help?.includes('--admission-probation')) args.push('--admission-probation', '0')
  if (help?.includes('--max-supernodes-per-prefix')) args.push('--max-supernodes-per-prefix', '3')
  return args
}

/** Distinct owners a relay names for LOOKUPS random hashes: with R = 2 owners a hash, a
 * network of three in use shows all three. */
async function ownersSeen(url) {
  const ids = new Set()
  for (let i = 0; i < LOOKUPS; i++) {
    const hash = randomBytes(20).toString('hex')
    const res = await fetch(`${url}/v1/lookup/${hash}`, { signal: AbortSignal.timeout(3000) })
    for (const owner of (await res.json()).owners ?? []) ids.add(owner.id)
  }
  return ids.size
}

/** Starts `count` relays; the others peer with the first, and all are waited for until the
 * first names them all as owners (or a deadline passes: `owners` says how far it got). */
async function startRelays(procs, count, relayArgs) {
  if (count === 1) return { relays: [await startDefaultRelay(procs, relayArgs)], owners: 1 }
  const args = networkArgs()
  const first = await startDefaultRelay(procs, args)
  const url = `http://127.0.0.1:${first.port}`
  const rest = []
  for (let i = 1; i < count; i++) {
    rest.push(await startDefaultRelay(procs, [...args, '--peer', url]))
  }
  const deadline = Date.now() + STEP_TIMEOUT_MS
  let owners = 0
  while (Date.now() < deadline) {
    try {
      owners = await ownersSeen(url)
      if (owners >= count) break
    } catch {
      // Not answering yet: ask again.
    }
    await sleep(250)
  }
  // Admissions are followed by handoffs of the hashes that moved: let those settle.
  await sleep(SETTLE_MS)
  return { relays: [first, ...rest], owners }
}

/** Runs honest.js against `port`; with `attack`, starts it at the end of the warm-up and
 * measures once it is at full speed. Resolves with the honest figures and the attacker's. */
async function measure(procs, port, { attack, cpu, rss } = {}) {
  const args = [script('honest.js'), String(port), '--rate', String(HONEST_RATE)]
  args.push('--warmup', String(WARMUP_S), '--duration', String(DURATION_S), '--wait-for-measure')
  const honest = procs.spawn('honest', process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  // Closed early only if honest.js died, which its exit reports: not an error of ours.
  honest.stdin.on('error', () => {})
  const honestOut = jsonLines(honest)
  let attacker = null
  try {
    await honestOut.next((v) => v.phase === 'warm', STEP_TIMEOUT_MS, 'honest warm-up')
    // From the attack's first second: what it takes may be held before the window opens.
    rss?.start()
    if (attack) {
      attacker = procs.spawn('attacker', process.execPath, attack)
      const attackerOut = jsonLines(attacker)
      attacker.out = attackerOut
      const ramp = RAMP_MAX_S * 1000 + STEP_TIMEOUT_MS
      attacker.ramp = await attackerOut.next((v) => v.phase === 'attacking', ramp, 'attack start')
    }
    // The load generators' own CPU: one starved of it would show as the relay's latency.
    const generators = [honest, attacker].filter(Boolean).map((c) => new CpuMeter(c.pid))
    for (const meter of [cpu, ...generators]) meter?.start()
    honest.stdin.end('measure\n')
    const windowMs = (DURATION_S + 15) * 1000
    const figures = await honestOut.next((v) => 'announces' in v, windowMs, 'honest figures')
    for (const meter of [cpu, ...generators]) meter?.stop()
    const [honestCpu, attackerCpu] = generators.map((m) => m.result().server_cpu_pct)
    figures.client_cpu_pct = honestCpu
    let attackFigures = null
    if (attacker) {
      await procs.stop(attacker)
      await attacker.finished
      const last = attacker.out.seen.findLast((v) => 'family' in v && !('phase' in v))
      attackFigures = last
        ? { ...last, cpu_pct: attackerCpu, at_window_start: attacker.ramp }
        : null
    }
    return { figures, attackFigures }
  } finally {
    rss?.stop()
    await procs.stop(honest)
    if (attacker) await procs.stop(attacker)
  }
}

/** One family on a fresh relay (or network): its row. */
async function runFamily(procs, spec) {
  const row = { family: spec.family }
  const { relays, owners } = await startRelays(procs, spec.relays ?? 1, spec.relayArgs)
  const target = relays[0]
  try {
    if (spec.relays > 1) {
      row.owners_seen = owners
      const { figures } = await measure(procs, target.port)
      row.idle_on_network = pick(figures, ['p50_ms', 'p99_ms', 'success_pct'])
    }
    if (spec.seed) {
      const seeder = procs.spawn('seed', process.execPath, [script('seed.js'), String(target.port)])
      const out = jsonLines(seeder)
      row.catalog = await out.next((v) => 'stored' in v, STEP_TIMEOUT_MS, 'catalog seeding')
    }
    const attack =
      spec.family === 'idle'
        ? null
        : spec.attacker
          ? [script(spec.attacker), String(target.port)]
          : [script('attack.js'), spec.family, String(target.port), String(RAMP_MAX_S)]
    const cpu = new CpuMeter(target.child.pid)
    const rss = new RssSampler(relays.map((r) => r.child.pid))
    const rssBefore = rssMb(target.child.pid)
    const { figures, attackFigures } = await measure(procs, target.port, { attack, cpu, rss })
    Object.assign(row, pick(figures, ['p50_ms', 'p99_ms', 'success_pct', 'hijacked_pct']))
    row.rss_before_mb = rssBefore
    row.rss_peak_mb = rss.peak(target.child.pid)
    if (relays.length > 1)
      row.rss_peak_mb_others = relays.slice(1).map((r) => rss.peak(r.child.pid))
    row.honest = figures
    row.relay = cpu.result()
    if (attackFigures) row.attacker = attackFigures
    if (target.child.exitCode !== null || target.child.signalCode !== null) {
      row.relay_exited = target.child.signalCode ?? target.child.exitCode
    } else row.refusals = await refusals(target.port)
  } finally {
    await Promise.all(relays.map((r) => procs.stop(r.child)))
  }
  return row
}

function pick(obj, keys) {
  return Object.fromEntries(keys.map((k) => [k, obj?.[k] ?? null]))
}

function table(rows) {
  const cols = ['family', 'p50 ms', 'p99 ms', 'success %', 'RSS peak MB', 'hijacked %']
  const cells = rows.map((r) =>
    r.error
      ? [r.family, `error: ${r.error}`]
      : [r.family, r.p50_ms, r.p99_ms, r.success_pct, r.rss_peak_mb, r.hijacked_pct].map(String),
  )
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)))
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
  return [cols, ...cells].map((r) => line(r).join('  ')).join('\n')
}

await runBenchmark(BENCH, async (procs) => {
  const result = {
    bench: BENCH,
    honest: {
      announces_per_s: HONEST_RATE,
      addresses: HONEST.length,
      connection: 'close',
      new_torrents_per_s: 1,
    },
    attacker_address: ATTACKER,
    seconds_per_family: DURATION_S,
    warmup_s: WARMUP_S,
    idle: null,
    worst_p99_ratio_to_idle: null,
    worst_success_pct: null,
    families: [],
  }
  const specs = FAMILIES.filter((s) => s.family === 'idle' || !ONLY || ONLY.includes(s.family))
  for (const spec of specs) {
    note(`abuse: ${spec.family}`)
    const t0 = performance.now()
    let row
    try {
      row = await runFamily(procs, spec)
    } catch (err) {
      // One family's failure (a relay that would not start, an attacker that died) is its
      // row's error; the others still run.
      row = { family: spec.family, error: String(err?.message ?? err) }
    }
    result.families.push(row)
    const brief = pick(row, ['p50_ms', 'p99_ms', 'success_pct', 'rss_peak_mb'])
    const took = `${Math.round((performance.now() - t0) / 1000)} s`
    note(`abuse: ${spec.family}: ${row.error ?? JSON.stringify(brief)} (${took})`)
  }
  const idle = result.families[0]
  if (!idle.error) result.idle = pick(idle, ['p50_ms', 'p99_ms', 'success_pct', 'rss_peak_mb'])
  const ratios = []
  for (const row of result.families.slice(1)) {
    if (row.error || !result.idle?.p99_ms || row.p99_ms === null) continue
    row.p99_ratio_to_idle = Number((row.p99_ms / result.idle.p99_ms).toFixed(2))
    ratios.push(row.p99_ratio_to_idle)
  }
  const attacked = result.families.slice(1).filter((r) => !r.error && r.success_pct !== null)
  if (ratios.length > 0) result.worst_p99_ratio_to_idle = Math.max(...ratios)
  if (attacked.length > 0)
    result.worst_success_pct = Math.min(...attacked.map((r) => r.success_pct))
  process.stderr.write(`\n${table(result.families)}\n\n`)
  if (result.families.some((r) => r.error)) result.error = 'some families did not run: see families'
  return result
})
