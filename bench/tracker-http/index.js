// tracker-http: HTTP announces/s under wrk: our relay, our relay proxying to an owner (a
// candidate that owns no hash, so every announce goes on to the supernode that does, as a
// classic client announcing to a non-owner sees it), bittorrent-tracker, opentracker.
//
// wrk runs 2 threads and 64 connections of random peers over 1,000 info hashes (see
// announce.lua) against each server in the same run, one server under load at a time, in
// two modes: `Connection: close` on every request, a new connection each, as classic clients
// announce (the headline figures, `*_rps`), and keep-alive beside it (`keep_alive.*`).
// Both cores (issue 24): the same relay with `--workers 1` and `--workers 2` (socket workers,
// relay/transport/socket-workers.ts; CPU counted over the primary and its workers), and the
// floor under any Node tracker, a bare `net` server writing a fixed answer (node-floor.js).
//
// All servers are started first (an idle server costs nothing). Each gets one announce
// checked by hand (bencoded, peers present) and a warm-up in which the wrk script checks
// every response. Then the measured load goes to them in turn, in ROUNDS short slices, so
// that drift on a shared machine hits every server alike. Only 2xx answers count.
// Environment: MONSOON_BENCH_DURATION (s per server, default 10), MONSOON_BENCH_WARMUP
// (s, default 2), MONSOON_BENCH_ROUNDS (default 5), MONSOON_BENCH_PROFILE=DIR (run our
// relay under --cpu-prof, profile written to DIR when it stops; with the proxying pair too),
// MONSOON_BENCH_SERVERS (comma-separated keys, e.g. `ours,ours_proxied,opentracker`: only
// those are measured, for a short run while developing).

import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkHttpAnnounce } from '../lib/announce-check.js'
import { CpuMeter, processCpuSeconds } from '../lib/cpu.js'
import { note, runBenchmark, which, withDeadline } from '../lib/processes.js'
import {
  startBittorrentTracker,
  startOpentracker,
  startProxyingRelay,
  startRelay,
} from '../lib/servers.js'

const BENCH = 'tracker-http'
const DURATION_S = Number(process.env.MONSOON_BENCH_DURATION ?? 10)
const WARMUP_S = Number(process.env.MONSOON_BENCH_WARMUP ?? 2)
// wrk takes whole seconds: slices of SLICE_S, as many as make up DURATION_S.
const SLICE_S = Math.max(1, Math.floor(DURATION_S / Number(process.env.MONSOON_BENCH_ROUNDS ?? 5)))
const ROUNDS = Math.max(1, Math.round(DURATION_S / SLICE_S))
const PROFILE_DIR = process.env.MONSOON_BENCH_PROFILE
const THREADS = 2
const CONNECTIONS = 64
const HASHES = 1000
const SCRIPT = fileURLToPath(new URL('./announce.lua', import.meta.url))
const NODE_FLOOR = fileURLToPath(new URL('./node-floor.js', import.meta.url))
/** The issue's goal for 2 cores against the same relay held to one. */
const GOAL_WORKERS_RATIO = 1.6

/** Linux's USER_HZ, the unit of /proc/self/stat's times. */
const TICKS_PER_SECOND = 100
const round = (x, digits = 0) => (x === null ? null : Number(x.toFixed(digits)))

/** The two ways a client announces: a new connection each (classic clients), or one kept. */
const MODES = ['close', 'keep_alive']

async function runWrk(procs, wrk, port, seconds, hashesFile, verify, mode = 'keep_alive') {
  const args = [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '5s']
  args.push('-s', SCRIPT, `http://127.0.0.1:${port}`, '--', hashesFile)
  const child = procs.spawn('wrk', wrk, args, {
    env: {
      ...process.env,
      WRK_VERIFY: verify ? '1' : '0',
      WRK_CONNECTION_CLOSE: mode === 'close' ? '1' : '0',
    },
  })
  let out = ''
  child.stdout.on('data', (c) => (out += c))
  const { code, signal } = await withDeadline(child.finished, (seconds + 20) * 1000, 'wrk')
  const line = out.split('\n').find((l) => l.startsWith('WRK_RESULT '))
  if (code !== 0 || !line) throw new Error(`wrk failed (${signal ?? code}): ${out.slice(-300)}`)
  return JSON.parse(line.slice('WRK_RESULT '.length))
}

/** CPU seconds of `pid` and of its children (our relay's socket workers), or null. */
function treeCpuSeconds(pid) {
  const own = processCpuSeconds(pid)
  if (own === null) return null
  let children = []
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean)
  } catch {
    // No children file (not Linux, or the process is gone): its own time only.
  }
  return children.reduce((sum, child) => sum + (treeCpuSeconds(Number(child)) ?? 0), own)
}

/** Of the HTTP announces a relay counted, the share its socket workers read (its /metrics). */
async function workerShare(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const value = (name) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1])
  const share =
    value('monsoon_socket_worker_requests_total') /
    value('monsoon_tracker_announces_total\\{transport="http"\\}')
  return Number.isFinite(share) ? round(share, 2) : null
}

/** CPU seconds of this process's children that have exited and been waited for (cutime +
 * cstime in /proc/self/stat), or null: across one wrk run, that run's own CPU. */
function reapedChildrenCpuSeconds() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND
  } catch {
    return null
  }
}

/** The bare-Node floor (node-floor.js): a fixed answer, no tracker. */
async function startNodeFloor(procs) {
  const child = procs.spawn('node-floor', process.execPath, [NODE_FLOOR])
  const line = await procs.waitForLine(child, (v) => v?.msg === 'listening', 20_000)
  return { name: 'node_floor', port: line.port, child }
}

/** Start, check by hand, warm up with every answer checked. Returns the measuring state. */
async function prepare(procs, wrk, key, start, hashes, hashesFile, checked = true) {
  const server = await start()
  if (!server) return null
  // The floor's fixed answer names no peer of ours: only the warm-up's checks apply.
  if (checked) {
    const check = await checkHttpAnnounce(server.port, hashes[0])
    note(`${key}: announce checked by hand (${check.peers} peers, ${check.bytes} B)`)
  }
  const warm = await runWrk(procs, wrk, server.port, WARMUP_S, hashesFile, true)
  if (warm.verified_ok === 0 || warm.verified_bad > 0) {
    const n = warm.verified_ok + warm.verified_bad
    throw new Error(`${warm.verified_bad} bad of ${n} warm-up answers, e.g. ${warm.bad_sample}`)
  }
  return { key, server, warmupVerified: warm.verified_ok }
}

/** What one server's slices in one mode add up to. */
function meter(prepared, mode) {
  return {
    ...prepared,
    mode,
    cpu: new CpuMeter(prepared.server.child.pid, treeCpuSeconds),
    // A proxied announce costs the owner too: its CPU, for the pair's CPU per announce.
    ownerCpu:
      prepared.server.owner && new CpuMeter(prepared.server.owner.child.pid, treeCpuSeconds),
    ok: 0,
    requests: 0,
    nonOk: 0,
    socketErrors: 0,
    seconds: 0,
    bytes: 0,
    p50: [],
    p99: [],
    perRound: [],
    generatorCpuSeconds: 0,
    generatorCpuKnown: true,
  }
}

async function slice(procs, wrk, m, seconds, hashesFile) {
  const generatorBefore = reapedChildrenCpuSeconds()
  m.cpu.start()
  m.ownerCpu?.start()
  const run = await runWrk(procs, wrk, m.server.port, seconds, hashesFile, false, m.mode)
  m.cpu.stop()
  m.ownerCpu?.stop()
  const generatorAfter = reapedChildrenCpuSeconds()
  if (generatorBefore === null || generatorAfter === null) m.generatorCpuKnown = false
  else m.generatorCpuSeconds += generatorAfter - generatorBefore
  const e = run.errors
  const s = run.duration_us / 1e6
  m.requests += run.requests
  m.nonOk += e.status
  m.ok += run.requests - e.status
  m.socketErrors += e.connect + e.read + e.write + e.timeout
  m.seconds += s
  m.bytes += run.bytes
  m.p50.push(run.latency_us.p50 / 1000)
  m.p99.push(run.latency_us.p99 / 1000)
  m.perRound.push((run.requests - e.status) / s)
}

/** Answers per CPU-second of the server: steadier than rps when other work shares the CPU. */
const perCpu = (n, cpu) => (cpu.cpuSeconds ? Math.round(n / cpu.cpuSeconds) : null)

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

function summary(m) {
  return {
    requests: m.requests,
    seconds: round(m.seconds, 2),
    non_2xx: m.nonOk,
    // opentracker closes the connection after every answer, keep-alive or not; wrk counts
    // each close here.
    socket_errors: m.socketErrors,
    p50_ms: round(median(m.p50), 2),
    p99_ms: round(median(m.p99), 2),
    bytes_per_answer: Math.round(m.bytes / Math.max(1, m.requests)),
    warmup_verified: m.warmupVerified,
    rps_per_round: m.perRound.map((x) => Math.round(x)),
    announces_per_cpu_s: perCpu(m.ok, m.cpu),
    server_cpu_us_per_announce: m.cpu.cpuSeconds ? round((m.cpu.cpuSeconds * 1e6) / m.ok) : null,
    ...(m.ownerCpu && {
      owner_cpu_us_per_announce: m.ownerCpu.cpuSeconds
        ? round((m.ownerCpu.cpuSeconds * 1e6) / m.ok)
        : null,
      owner_cpu_pct: m.ownerCpu.result().server_cpu_pct,
    }),
    ...m.cpu.result(),
    // wrk shares the 2 cores: its CPU (% of one core, both threads) and per request. Near
    // 200 % it, not the server, is the limit; with a new connection each it costs about as
    // much as a C server, which caps what any server here can reach.
    generator_cpu_percent: m.generatorCpuKnown
      ? round((100 * m.generatorCpuSeconds) / m.seconds)
      : null,
    generator_cpu_us_per_request: m.generatorCpuKnown
      ? round((m.generatorCpuSeconds * 1e6) / Math.max(1, m.requests))
      : null,
  }
}

/** Ours beside each reference, and proxied beside direct, in `r` (one mode's figures). */
function ratios(r) {
  const ratio = (a, b) => (a && b ? round(a / b, 2) : null)
  r.ratio_to_bittorrent_tracker = ratio(r.ours_rps, r.bittorrent_tracker_rps)
  r.ratio_to_opentracker = ratio(r.ours_rps, r.opentracker_rps)
  // What a classic client that announces to a non-owner gets, against asking the owner.
  r.proxied_ratio_to_direct = ratio(r.ours_proxied_rps, r.ours_rps)
  r.proxied_ratio_to_bittorrent_tracker = ratio(r.ours_proxied_rps, r.bittorrent_tracker_rps)
  const perCpuOf = (key) => r.details?.[key]?.announces_per_cpu_s
  r.cpu_ratio_to_bittorrent_tracker = ratio(perCpuOf('ours'), perCpuOf('bittorrent_tracker'))
  r.cpu_ratio_to_opentracker = ratio(perCpuOf('ours'), perCpuOf('opentracker'))
  // Both cores: --workers 2 beside --workers 1, and each beside the bare-Node floor.
  r.workers_2_ratio_to_1 = ratio(r.ours_workers_2_rps, r.ours_workers_1_rps)
  // What that ratio can be here: one process gets at most a core (1e6 / c announces/s for c
  // µs of server CPU each), two share the 2 cores with wrk (2e6 / (g + c), g: wrk's µs per
  // request). The cheaper the server, the lower the bound: 1.6 needs c ≥ 4 g.
  const w1 = r.details?.ours_workers_1
  const g = w1?.generator_cpu_us_per_request
  const c = w1?.server_cpu_us_per_announce
  r.workers_2_ratio_bound_on_2_cores = g && c ? round(Math.min(2, (2 * c) / (g + c)), 2) : null
  r.workers_2_ratio_to_opentracker = ratio(r.ours_workers_2_rps, r.opentracker_rps)
  r.workers_1_ratio_to_node_floor = ratio(r.ours_workers_1_rps, r.node_floor_rps)
  r.workers_2_ratio_to_node_floor = ratio(r.ours_workers_2_rps, r.node_floor_rps)
}

await runBenchmark(BENCH, async (procs) => {
  const result = {
    bench: BENCH,
    ours_rps: null,
    ours_proxied_rps: null,
    bittorrent_tracker_rps: null,
    opentracker_rps: null,
    ratio_to_bittorrent_tracker: null,
    ratio_to_opentracker: null,
    // The same ratios per CPU-second of each server (see details.*.announces_per_cpu_s).
    cpu_ratio_to_bittorrent_tracker: null,
    cpu_ratio_to_opentracker: null,
    goal_ratio_to_opentracker: 0.75,
    goal_proxied_ratio_to_direct: 0.5,
    goal_workers_2_ratio_to_1: GOAL_WORKERS_RATIO,
    load: {
      tool: 'wrk',
      threads: THREADS,
      connections: CONNECTIONS,
      hashes: HASHES,
      connection: 'close',
    },
    // The same servers, same run, one connection kept for many announces.
    keep_alive: { goal_ratio_to_opentracker: 1 },
    seconds_per_server_and_mode: SLICE_S * ROUNDS,
    rounds: ROUNDS,
    details: {},
    notes: [],
  }
  const wrk = which('wrk')
  if (!wrk) {
    result.notes.push('wrk is not installed (apt-get install wrk): nothing measured')
    return result
  }

  const hashes = Array.from({ length: HASHES }, () => randomBytes(20).toString('hex'))
  const dir = mkdtempSync(join(tmpdir(), 'monsoon-bench-http-'))
  const hashesFile = join(dir, 'hashes.txt')
  writeFileSync(hashesFile, hashes.join('\n') + '\n')
  const relayArgs = PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', resolve(PROFILE_DIR)] : []
  const servers = [
    { key: 'ours', start: () => startRelay(procs, { nodeArgs: relayArgs }) },
    // Through a relay that owns no hash: proxied to the owner, answered byte for byte.
    { key: 'ours_proxied', start: () => startProxyingRelay(procs, { nodeArgs: relayArgs }) },
    { key: 'bittorrent_tracker', start: () => startBittorrentTracker(procs) },
    { key: 'opentracker', start: () => startOpentracker(procs, hashes) },
    { key: 'ours_workers_1', start: () => startRelay(procs, { relayArgs: ['--workers', '1'] }) },
    { key: 'ours_workers_2', start: () => startRelay(procs, { relayArgs: ['--workers', '2'] }) },
    { key: 'node_floor', start: () => startNodeFloor(procs), checked: false },
  ]
  const only = process.env.MONSOON_BENCH_SERVERS?.split(',')

  try {
    const prepared = []
    for (const { key, start, checked } of servers) {
      if (only && !only.includes(key)) continue
      try {
        const p = await prepare(procs, wrk, key, start, hashes, hashesFile, checked)
        if (p) prepared.push(p)
        else result.notes.push(`${key}: not installed (apt-get install ${key}): not measured`)
      } catch (err) {
        // Our figure is the point of the benchmark; a reference that fails is a note.
        if (key === 'ours') throw err
        result.notes.push(`${key}: ${err.message}`)
      }
    }
    const measured = MODES.flatMap((mode) => prepared.map((p) => meter(p, mode)))
    // Alternate the order each round so no server or mode always runs first or last.
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? measured : [...measured].reverse()
      for (const m of order) await slice(procs, wrk, m, SLICE_S, hashesFile)
    }
    for (const m of measured) {
      const into = m.mode === 'close' ? result : result.keep_alive
      into[`${m.key}_rps`] = Math.round(m.ok / m.seconds)
      into.details ??= {}
      into.details[m.key] = summary(m)
      // Latency beside the rate, in every mode.
      into[`${m.key}_p99_ms`] = into.details[m.key].p99_ms
      note(`${m.key} (${m.mode}): ${into[`${m.key}_rps`]} announces/s`)
    }
    // How the work spread: requests the socket worker read, of all the relay answered (both
    // modes and the warm-up together).
    const workers2 = prepared.find((p) => p.key === 'ours_workers_2')
    if (workers2) result.workers_2_share_read_by_worker = await workerShare(workers2.server.port)
    // SIGTERM lets our relay exit cleanly, which is when --cpu-prof writes its profile.
    for (const p of prepared) await procs.stop(p.server.child, PROFILE_DIR ? 15_000 : 3000)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }

  ratios(result)
  ratios(result.keep_alive)
  if (result.notes.length === 0) delete result.notes
  return result
})
