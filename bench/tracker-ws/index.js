// tracker-ws: WebSocket announces/s (with offers): our relay, bittorrent-tracker.
//
// One load generator process (load.js, the WebTorrent tracker protocol) against our relay
// and against bittorrent-tracker's ws server, in the same run.
// Both servers are started first; the generator then loads them in turn, in ROUNDS short
// runs (fresh sockets each time), so drift on a shared machine hits both alike. Answers that
// fail the generator's checks, failure reasons and lost announces fail the benchmark.
// Environment: MONSOON_BENCH_DURATION (s per server, default 10), MONSOON_BENCH_WARMUP
// (s per run, default 1), MONSOON_BENCH_ROUNDS (default 4), MONSOON_BENCH_WS_CONNECTIONS
// (default 1000).

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
const LOAD = fileURLToPath(new URL('./load.js', import.meta.url))

/** One generator run against `m.server`; adds its counts to `m`. */
async function runLoad(procs, m, seconds) {
  const args = [LOAD, `ws://127.0.0.1:${m.server.port}/`, '--connections', String(CONNECTIONS)]
  args.push('--warmup', String(WARMUP_S), '--duration', String(seconds))
  const child = procs.spawn('ws-load', process.execPath, args)
  let line = ''
  createInterface({ input: child.stdout }).on('line', (l) => {
    if (l.includes('"phase":"measuring"')) m.cpu.start()
    else if (l.includes('"phase":"measured"')) m.cpu.stop()
    else line = l
  })
  const deadline = (WARMUP_S + seconds + 30) * 1000
  const { code, signal } = await withDeadline(child.finished, deadline, 'ws load generator')
  if (code !== 0 || !line) throw new Error(`ws load generator failed (${signal ?? code})`)
  const r = JSON.parse(line)
  if (r.failures > 0 || r.lost > 0) {
    const sample = r.failure_sample ?? ''
    throw new Error(`${m.key}: ${r.failures} failures, ${r.lost} lost announces ${sample}`)
  }
  if (r.checked_answers === 0 || r.checked_offers === 0) {
    throw new Error(`${m.key}: no announce answer or relayed offer to check`)
  }
  if (r.aps > 0.9 * r.pacing_cap_aps) {
    note(`${m.key}: near the generator's pacing cap; raise MONSOON_BENCH_WS_CONNECTIONS`)
  }
  m.answers += r.answers
  m.offers += Math.round(r.offers_relayed_per_s * r.seconds)
  m.seconds += r.seconds
  m.generatorCpu.push(r.generator_cpu_pct)
  m.perRound.push(r.aps)
  m.pacingCap = r.pacing_cap_aps
}

await runBenchmark(BENCH, async (procs) => {
  const result = {
    bench: BENCH,
    ours_aps: null,
    bittorrent_tracker_aps: null,
    ratio: null,
    // The same ratio per CPU-second of each server (see details.*.announces_per_cpu_s).
    cpu_ratio: null,
    load: { connections: CONNECTIONS, offers_per_announce: 2, hashes: 1000 },
    seconds_per_server: DURATION_S,
    rounds: ROUNDS,
    details: {},
  }
  const measured = []
  for (const [key, start] of [
    ['ours', () => startRelay(procs)],
    ['bittorrent_tracker', () => startBittorrentTracker(procs)],
  ]) {
    const server = await start()
    const cpu = new CpuMeter(server.child.pid)
    measured.push({ key, server, cpu, answers: 0, offers: 0, seconds: 0 })
    Object.assign(measured.at(-1), { generatorCpu: [], perRound: [], pacingCap: 0 })
  }
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? measured : [...measured].reverse()
    for (const m of order) await runLoad(procs, m, DURATION_S / ROUNDS)
  }
  for (const m of measured) {
    const aps = Math.round(m.answers / m.seconds)
    result[`${m.key}_aps`] = aps
    note(`${m.key}: ${aps} announces/s, ${Math.round(m.offers / m.seconds)} offers relayed/s`)
    const mean = (xs) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length)
    result.details[m.key] = {
      answers: m.answers,
      seconds: Number(m.seconds.toFixed(2)),
      offers_relayed_per_s: Math.round(m.offers / m.seconds),
      aps_per_round: m.perRound,
      pacing_cap_aps: m.pacingCap,
      generator_cpu_pct: mean(m.generatorCpu),
      announces_per_cpu_s: m.cpu.cpuSeconds ? Math.round(m.answers / m.cpu.cpuSeconds) : null,
      ...m.cpu.result(),
    }
  }
  if (result.ours_aps && result.bittorrent_tracker_aps) {
    result.ratio = Number((result.ours_aps / result.bittorrent_tracker_aps).toFixed(2))
  }
  const ours = result.details.ours?.announces_per_cpu_s
  const ref = result.details.bittorrent_tracker?.announces_per_cpu_s
  if (ours && ref) result.cpu_ratio = Number((ours / ref).toFixed(2))
  return result
})
