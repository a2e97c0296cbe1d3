// tracker-ws: WebSocket announces/s (with offers): our relay, bittorrent-tracker.
//
// Load generator processes (load.js, the WebTorrent tracker protocol) against our relay and
// against bittorrent-tracker's ws server, in the same run.
// Both servers are started first; the generators then load them in turn, in ROUNDS short
// runs (fresh sockets each time), so drift on a shared machine hits both alike. Answers that
// fail the generator's checks, failure reasons and lost announces fail the benchmark.
// Reported per side: announces/s, the server's CPU per announce and announces per
// CPU-second, announce latency p50/p99 (sent → answered), and the generators' own CPU: a
// generator near one full core is the limit, not the server (`generator_saturated`; then
// raise MONSOON_BENCH_WS_GENERATORS); and the p99 delay of a generator's own event loop,
// which its latencies include whatever the server does. Then `paced`: one run per server at
// half our measured announces/s, for the latency a relay shows when it is not saturated
// (DURATION_S long, after PACED_WARMUP_S).
// Environment: MONSOON_BENCH_DURATION (s per server, default 10), MONSOON_BENCH_WARMUP
// (s per run, default 1), MONSOON_BENCH_ROUNDS (default 4), MONSOON_BENCH_WS_CONNECTIONS
// (default 1000, split between the generators), MONSOON_BENCH_WS_GENERATORS (processes,
// default 1), MONSOON_BENCH_RELAY_NODE_ARGS (Node flags for our relay only, space-separated:
// `--cpu-prof` to profile it, a V8 flag to measure one).

import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { CpuMeter } from '../lib/cpu.js'
import { note, runBenchmark, withDeadline } from '../lib/processes.js'
import { startBittorrentTracker, startRelay } from '../lib/servers.js'

const BENCH = 'tracker-ws'
const DURATION_S = Number(process.env.MONSOON_BENCH_DURATION ?? 10)
const WARMUP_S = Number(process.env.MONSOON_BENCH_WARMUP ?? 1)
const ROUNDS = Number(process.env.MONSOON_BENCH_ROUNDS ?? 4)
const CONNECTIONS = Number(process.env.MONSOON_BENCH_WS_CONNECTIONS ?? 1000)
const GENERATORS = Math.max(1, Number(process.env.MONSOON_BENCH_WS_GENERATORS ?? 1))
const RELAY_NODE_ARGS = (process.env.MONSOON_BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean)
const LOAD = fileURLToPath(new URL('./load.js', import.meta.url))
/** A generator using this much of a core (user + sys per second of wall) is the bottleneck. */
const GENERATOR_SATURATED = 0.9
/** Announces per second per socket at most (load.js --rate): under our relay's limit. */
const MAX_RATE = 40
/** The paced runs load each server at this share of our relay's measured capacity (issue
 * 24: p99 under 10 ms at half load). */
const PACED_SHARE = 0.5
/** A paced run lasts the whole DURATION_S after this many warm-up seconds, not one round's
 * share after WARMUP_S: its window opened right after 1,000 sockets connected, and in 2.5 s
 * one full GC (11-44 ms seen in the relay here, under load) could hold back some 1 % of the
 * answers on its own, so its p99 moved with where such a pause fell. */
const PACED_WARMUP_S = Math.max(WARMUP_S, 3)

/** One generator process against `m.server`; resolves with its result line. */
async function runGenerator(procs, m, seconds, connections, window, rate, warmup) {
  const args = [LOAD, `ws://127.0.0.1:${m.server.port}/`, '--connections', String(connections)]
  args.push('--warmup', String(warmup), '--duration', String(seconds), '--rate', String(rate))
  const child = procs.spawn('ws-load', process.execPath, args)
  let line = ''
  createInterface({ input: child.stdout }).on('line', (l) => {
    if (l.includes('"phase":"measuring"')) window.open()
    else if (l.includes('"phase":"measured"')) window.close()
    else line = l
  })
  const deadline = (warmup + seconds + 30) * 1000
  const { code, signal } = await withDeadline(child.finished, deadline, 'ws load generator')
  if (code !== 0 || !line) throw new Error(`ws load generator failed (${signal ?? code})`)
  return JSON.parse(line)
}

/** One run of every generator against `m.server`; adds their counts to `m`. The server's
 * CPU is sampled from the first generator's window opening to the last one's closing. */
async function runLoad(procs, m, seconds, rate = MAX_RATE, warmup = WARMUP_S) {
  let opened = 0
  const window = {
    open: () => opened++ === 0 && m.cpu.start(),
    close: () => --opened === 0 && m.cpu.stop(),
  }
  const share = Math.ceil(CONNECTIONS / GENERATORS)
  const results = await Promise.all(
    Array.from({ length: GENERATORS }, () =>
      runGenerator(procs, m, seconds, share, window, rate, warmup),
    ),
  )
  let aps = 0
  let cap = 0
  for (const r of results) {
    if (r.failures > 0 || r.lost > 0) {
      const sample = r.failure_sample ?? ''
      throw new Error(`${m.key}: ${r.failures} failures, ${r.lost} lost announces ${sample}`)
    }
    if (r.checked_answers === 0 || r.checked_offers === 0) {
      throw new Error(`${m.key}: no announce answer or relayed offer to check`)
    }
    m.answers += r.answers
    m.offers += Math.round(r.offers_relayed_per_s * r.seconds)
    m.generatorCpu.push(r.generator_cpu)
    m.generatorDelayP99.push(r.generator_loop_delay_p99_ms)
    for (const [bucket, n] of Object.entries(r.latency_ms)) {
      m.latency.set(Number(bucket), (m.latency.get(Number(bucket)) ?? 0) + n)
    }
    aps += r.aps
    cap += r.pacing_cap_aps
  }
  if (rate === MAX_RATE && aps > 0.9 * cap) {
    note(`${m.key}: near the generators' pacing cap; raise MONSOON_BENCH_WS_CONNECTIONS`)
  }
  m.seconds += Math.max(...results.map((r) => r.seconds))
  m.perRound.push(aps)
  m.pacingCap = cap
}

/** The `q` quantile (0..1), in ms, of a histogram (bucket upper bound in ms → count). */
function histogramQuantile(histogram, q) {
  const buckets = [...histogram].sort((a, b) => a[0] - b[0])
  const total = buckets.reduce((n, [, count]) => n + count, 0)
  if (total === 0) return null
  let seen = 0
  for (const [bucket, count] of buckets) {
    seen += count
    // The bucket's upper bound: the quantile is at most this.
    if (seen >= q * total) return bucket
  }
  return null
}

await runBenchmark(BENCH, async (procs) => {
  const result = {
    bench: BENCH,
    ours_aps: null,
    bittorrent_tracker_aps: null,
    ratio: null,
    // The same ratio per CPU-second of each server (see details.*.announces_per_cpu_s).
    cpu_ratio: null,
    ours_p99_ms: null,
    bittorrent_tracker_p99_ms: null,
    // True when a generator used GENERATOR_SATURATED of a core or more on either side.
    generator_saturated: false,
    load: {
      connections: CONNECTIONS,
      generators: GENERATORS,
      offers_per_announce: 2,
      hashes: 1000,
    },
    seconds_per_server: DURATION_S,
    relay_node_args: RELAY_NODE_ARGS,
    rounds: ROUNDS,
    details: {},
  }
  const measured = []
  for (const [key, start] of [
    ['ours', () => startRelay(procs, { nodeArgs: RELAY_NODE_ARGS })],
    ['bittorrent_tracker', () => startBittorrentTracker(procs)],
  ]) {
    measured.push(tally(key, await start()))
  }
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? measured : [...measured].reverse()
    for (const m of order) await runLoad(procs, m, DURATION_S / ROUNDS)
  }
  for (const m of measured) {
    const aps = Math.round(m.answers / m.seconds)
    result[`${m.key}_aps`] = aps
    const cpuSeconds = m.cpu.cpuSeconds
    const generatorCpu = Math.max(...m.generatorCpu)
    if (generatorCpu >= GENERATOR_SATURATED) {
      result.generator_saturated = true
      note(`${m.key}: a generator used ${generatorCpu} of a core: it, not the server, may limit`)
    }
    const p99 = histogramQuantile(m.latency, 0.99)
    result[`${m.key}_p99_ms`] = p99
    note(`${m.key}: ${aps} announces/s, ${Math.round(m.offers / m.seconds)} offers relayed/s`)
    result.details[m.key] = {
      answers: m.answers,
      seconds: Number(m.seconds.toFixed(2)),
      offers_relayed_per_s: Math.round(m.offers / m.seconds),
      aps_per_round: m.perRound,
      pacing_cap_aps: m.pacingCap,
      announces_per_cpu_s: cpuSeconds ? Math.round(m.answers / cpuSeconds) : null,
      server_cpu_us_per_announce: cpuSeconds ? Math.round((cpuSeconds * 1e6) / m.answers) : null,
      ...m.cpu.result(),
      // The busiest generator process of any round, in cores (1.0 = one full core).
      generator_cpu_max: generatorCpu,
      // The worst p99 delay (ms) of a generator's event loop in any round: its own stalls,
      // which its latencies include.
      generator_loop_delay_p99_ms: Math.max(...m.generatorDelayP99),
      latency_p50_ms: histogramQuantile(m.latency, 0.5),
      latency_p99_ms: p99,
    }
  }
  if (result.ours_aps && result.bittorrent_tracker_aps) {
    result.ratio = Number((result.ours_aps / result.bittorrent_tracker_aps).toFixed(2))
  }
  const ours = result.details.ours?.announces_per_cpu_s
  const ref = result.details.bittorrent_tracker?.announces_per_cpu_s
  if (ours && ref) result.cpu_ratio = Number((ours / ref).toFixed(2))

  // Latency at half our capacity, the same paced load on each server (one run each).
  const target = Math.round(PACED_SHARE * (result.ours_aps ?? 0))
  if (target > 0) {
    result.paced = { aps_target: target, seconds: DURATION_S, warmup_s: PACED_WARMUP_S }
    for (const m of measured) {
      const paced = tally(m.key, m.server)
      await runLoad(procs, paced, DURATION_S, target / CONNECTIONS, PACED_WARMUP_S)
      result.paced[m.key] = {
        aps: Math.round(paced.answers / paced.seconds),
        latency_p50_ms: histogramQuantile(paced.latency, 0.5),
        latency_p99_ms: histogramQuantile(paced.latency, 0.99),
        server_cpu_pct: paced.cpu.result().server_cpu_pct,
        generator_loop_delay_p99_ms: Math.max(...paced.generatorDelayP99),
      }
    }
  }
  return result
})

/** What the runs against one server add up. */
function tally(key, server) {
  return {
    key,
    server,
    cpu: new CpuMeter(server.child.pid),
    answers: 0,
    offers: 0,
    seconds: 0,
    generatorCpu: [],
    generatorDelayP99: [],
    perRound: [],
    pacingCap: 0,
    latency: new Map(),
  }
}
