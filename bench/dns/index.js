// dns: DNS answers/s of our relay's zone over UDP and DoH, beside Debian's Knot DNS.
//
// Our relay serves a zone (--dns-zone, --dns-port) and Knot DNS (knotd, the reference: a
// fast authoritative server in C) serves the same records from a static zone file, written
// from our relay's own answers (dig +tcp), so both answer identical questions with
// identical records. UDP load comes from dnsperf (Debian's, the same tool and settings for
// both servers) cycling through TXT _supernodes, A seed, SOA, SRV and an NXDOMAIN name.
// DoH load (RFC 8484 GETs over HTTP/1.1 keep-alive, from wrk with doh.lua, or doh-load.js
// where wrk is missing) goes to our relay only:
// Debian's DoH servers need TLS or a proxy in front, so the DoH figure is set beside both
// UDP figures. Servers take turns in ROUNDS short slices so drift hits them alike; answers
// per CPU-second of each server are given too. Knot runs one UDP worker, as our relay has
// one thread. All load comes from 127.0.0.1, so our relay runs with a rate limit high
// enough not to drop it (--dns-rate).
// Environment: MONSOON_BENCH_DURATION (s per server, default 10), MONSOON_BENCH_WARMUP
// (s, default 2), MONSOON_BENCH_ROUNDS (default 5).

import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import dnsPacket from 'dns-packet'
import { CpuMeter } from '../lib/cpu.js'
import { freePort, note, runBenchmark, sleep, which, withDeadline } from '../lib/processes.js'

const BENCH = 'dns'
const ZONE = 'bench.test'
const DURATION_S = Number(process.env.MONSOON_BENCH_DURATION ?? 10)
const WARMUP_S = Number(process.env.MONSOON_BENCH_WARMUP ?? 2)
const ROUNDS = Math.max(1, Number(process.env.MONSOON_BENCH_ROUNDS ?? 5))
const SLICE_S = Math.max(1, Math.round(DURATION_S / ROUNDS))
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const LOAD = fileURLToPath(new URL('./doh-load.js', import.meta.url))
const WRK_SCRIPT = fileURLToPath(new URL('./doh.lua', import.meta.url))
/** dnsperf: one thread, CLIENTS sockets, OUTSTANDING queries in flight. */
const DNSPERF = { threads: 1, clients: 4, outstanding: 200 }
const DOH_CONNECTIONS = 32
const QUESTIONS = [
  [`_supernodes.${ZONE}`, 'TXT'],
  [`seed.${ZONE}`, 'A'],
  [ZONE, 'SOA'],
  [`_monsoon._tcp.${ZONE}`, 'SRV'],
  [`nowhere.${ZONE}`, 'A'],
]
const START_TIMEOUT_MS = 30_000

const round = (x, digits = 0) => (x == null ? null : Number(x.toFixed(digits)))

async function startOurs(procs, dir) {
  const [port, dnsPort] = [await freePort(), await freePort()]
  const args = ['relay/bin.js', '--port', String(port), '--host', '127.0.0.1']
  args.push('--public-url', `http://127.0.0.1:${port}`, '--data-dir', join(dir, 'relay'))
  args.push('--local-network', '--dns-zone', ZONE, '--dns-port', String(dnsPort))
  args.push('--dns-rate', '1000000000', '--log-level', 'info')
  const child = procs.spawn('relay', process.execPath, args, { cwd: ROOT })
  await procs.waitForLine(child, (v) => v?.msg === 'listening', START_TIMEOUT_MS)
  return { key: 'ours', child, port: dnsPort, httpPort: port }
}

/** The zone as our relay answers it, in zone-file lines (dig prints answers that way). */
function zoneLines(dnsPort) {
  const lines = []
  const names = [...QUESTIONS.slice(0, 4), [ZONE, 'NS']]
  for (const [name, type] of names) {
    const out = execFileSync('dig', [
      '@127.0.0.1',
      '-p',
      String(dnsPort),
      '+tcp',
      '+noall',
      '+answer',
      name,
      type,
    ])
    lines.push(...out.toString().trim().split('\n').filter(Boolean))
  }
  // The SRV targets' own A records.
  for (const line of lines.filter((l) => /\sSRV\s/.test(l))) {
    const target = line.trim().split(/\s+/).pop()
    const out = execFileSync('dig', [
      '@127.0.0.1',
      '-p',
      String(dnsPort),
      '+tcp',
      '+noall',
      '+answer',
      target,
      'A',
    ])
    lines.push(...out.toString().trim().split('\n').filter(Boolean))
  }
  return lines
}

async function startKnot(procs, dir, lines) {
  const knotd = which('knotd')
  if (!knotd) return null
  const port = await freePort()
  const zoneDir = join(dir, 'knot')
  execFileSync('mkdir', ['-p', zoneDir])
  writeFileSync(join(zoneDir, `${ZONE}.zone`), lines.join('\n') + '\n')
  const conf = join(zoneDir, 'knot.conf')
  writeFileSync(
    conf,
    [
      'server:',
      `    rundir: "${zoneDir}"`,
      `    listen: 127.0.0.1@${port}`,
      '    udp-workers: 1',
      '    tcp-workers: 1',
      '    background-workers: 1',
      'database:',
      `    storage: "${zoneDir}"`,
      'log:',
      '  - target: stderr',
      '    any: warning',
      'zone:',
      `  - domain: ${ZONE}`,
      `    storage: "${zoneDir}"`,
      `    file: "${ZONE}.zone"`,
      '',
    ].join('\n'),
  )
  const child = procs.spawn('knotd', knotd, ['-c', conf])
  const until = Date.now() + START_TIMEOUT_MS
  while (!(await answers(port))) {
    if (Date.now() > until || child.exitCode !== null) throw new Error('knotd did not answer')
    await sleep(100)
  }
  return { key: 'knot', child, port }
}

/** Whether a UDP server on `port` answers our zone's SOA with NOERROR. */
async function answers(port) {
  const { createSocket } = await import('node:dgram')
  return new Promise((resolve) => {
    const socket = createSocket('udp4')
    const timer = setTimeout(() => done(false), 300)
    function done(ok) {
      clearTimeout(timer)
      socket.close()
      resolve(ok)
    }
    socket.on('message', (m) => done(dnsPacket.decode(m).rcode === 'NOERROR'))
    socket.send(
      dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: ZONE, type: 'SOA' }] }),
      port,
      '127.0.0.1',
    )
  })
}

async function runDnsperf(procs, dnsperf, port, seconds, queriesFile) {
  const args = ['-s', '127.0.0.1', '-p', String(port), '-d', queriesFile, '-l', String(seconds)]
  args.push('-T', String(DNSPERF.threads), '-c', String(DNSPERF.clients))
  args.push('-q', String(DNSPERF.outstanding))
  const child = procs.spawn('dnsperf', dnsperf, args)
  let out = ''
  child.stdout.on('data', (c) => (out += c))
  const { code } = await withDeadline(child.finished, (seconds + 20) * 1000, 'dnsperf')
  const num = (re) => Number(out.match(re)?.[1] ?? NaN)
  const result = {
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    qps: num(/Queries per second:\s+([\d.]+)/),
    seconds: num(/Run time \(s\):\s+([\d.]+)/),
    codes: out.match(/Response codes:\s+(.*)/)?.[1] ?? '',
  }
  if (code !== 0 || Number.isNaN(result.qps)) throw new Error(`dnsperf failed: ${out.slice(-300)}`)
  return result
}

/** DoH load: wrk (C, as tracker-http uses) when installed, else doh-load.js (Node). */
async function runDoh(procs, httpPort, seconds) {
  const queries = QUESTIONS.map(([name, type]) =>
    dnsPacket.encode({ type: 'query', id: 0, questions: [{ name, type }] }).toString('base64url'),
  )
  const wrk = which('wrk')
  if (wrk) {
    const args = ['-t1', `-c${DOH_CONNECTIONS}`, `-d${seconds}s`, '-s', WRK_SCRIPT]
    const child = procs.spawn('wrk', wrk, [
      ...args,
      `http://127.0.0.1:${httpPort}`,
      '--',
      ...queries,
    ])
    let out = ''
    child.stdout.on('data', (c) => (out += c))
    await withDeadline(child.finished, (seconds + 20) * 1000, 'wrk')
    const line = out.split('\n').find((l) => l.startsWith('WRK_RESULT '))
    if (!line) throw new Error(`wrk failed: ${out.slice(-300)}`)
    const [requests, status, socket, us] = line.split(' ').slice(1).map(Number)
    return { ok: requests - status, bad: status + socket, seconds: us / 1e6 }
  }
  const url = `http://127.0.0.1:${httpPort}/dns-query`
  const child = procs.spawn('doh-load', process.execPath, [
    LOAD,
    url,
    String(DOH_CONNECTIONS),
    String(seconds),
    ...queries,
  ])
  let out = ''
  child.stdout.on('data', (c) => (out += c))
  await withDeadline(child.finished, (seconds + 20) * 1000, 'doh-load')
  return JSON.parse(out.trim().split('\n').pop())
}

function meter(key, child) {
  return { key, cpu: new CpuMeter(child.pid), ok: 0, lost: 0, bad: 0, seconds: 0, perRound: [] }
}

function add(m, ok, bad, seconds) {
  m.ok += ok
  m.bad += bad
  m.seconds += seconds
  m.perRound.push(Math.round(ok / seconds))
}

function summary(m) {
  return {
    answers: m.ok,
    lost_or_bad: m.bad,
    seconds: round(m.seconds, 2),
    qps_per_round: m.perRound,
    answers_per_cpu_s: m.cpu.cpuSeconds ? Math.round(m.ok / m.cpu.cpuSeconds) : null,
    ...m.cpu.result(),
  }
}

await runBenchmark(BENCH, async (procs) => {
  const result = {
    bench: BENCH,
    ours_udp_qps: null,
    knot_udp_qps: null,
    ratio_udp_to_knot: null,
    ours_doh_qps: null,
    ratio_doh_to_knot_udp: null,
    cpu_ratio_udp_to_knot: null,
    load: {
      udp: { tool: 'dnsperf', ...DNSPERF },
      doh: { tool: which('wrk') ? 'wrk' : 'doh-load.js', connections: DOH_CONNECTIONS },
    },
    seconds_per_server: SLICE_S * ROUNDS,
    rounds: ROUNDS,
    details: {},
    notes: [],
  }
  const dnsperf = which('dnsperf')
  if (!dnsperf || !which('dig')) {
    result.notes.push(
      'dnsperf or dig is not installed (apt-get install dnsperf dnsutils): nothing measured',
    )
    return result
  }
  const dir = mkdtempSync(join(tmpdir(), 'monsoon-bench-dns-'))
  try {
    const queriesFile = join(dir, 'queries.txt')
    writeFileSync(queriesFile, QUESTIONS.map((q) => q.join(' ')).join('\n') + '\n')
    const ours = await startOurs(procs, dir)
    const lines = zoneLines(ours.port)
    note(`zone from our relay: ${lines.length} records`)
    let knot = null
    try {
      knot = await startKnot(procs, dir, lines)
      if (!knot) result.notes.push('knotd is not installed (apt-get install knot): no reference')
    } catch (err) {
      result.notes.push(`knot: ${err.message}`)
    }
    const udp = [ours, knot].filter(Boolean)
    for (const s of udp) {
      const warm = await runDnsperf(procs, dnsperf, s.port, WARMUP_S, queriesFile)
      note(`${s.key}: warm-up ${Math.round(warm.qps)} q/s, codes ${warm.codes}`)
      if (!warm.completed) throw new Error(`${s.key} answered nothing in the warm-up`)
    }
    await runDoh(procs, ours.httpPort, WARMUP_S)
    const meters = udp.map((s) => ({ s, m: meter(`${s.key}_udp`, s.child) }))
    const doh = meter('ours_doh', ours.child)
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? meters : [...meters].reverse()
      for (const { s, m } of order) {
        m.cpu.start()
        const run = await runDnsperf(procs, dnsperf, s.port, SLICE_S, queriesFile)
        m.cpu.stop()
        add(m, run.completed, run.lost, run.seconds)
      }
      doh.cpu.start()
      const run = await runDoh(procs, ours.httpPort, SLICE_S)
      doh.cpu.stop()
      add(doh, run.ok, run.bad, run.seconds)
    }
    for (const m of [...meters.map((x) => x.m), doh]) {
      result[`${m.key}_qps`] = Math.round(m.ok / m.seconds)
      result.details[m.key] = summary(m)
      note(`${m.key}: ${result[`${m.key}_qps`]} answers/s`)
    }
  } finally {
    await procs.stopAll()
    rmSync(dir, { recursive: true, force: true })
  }
  const ratio = (a, b) => (a && b ? round(a / b, 2) : null)
  result.ratio_udp_to_knot = ratio(result.ours_udp_qps, result.knot_udp_qps)
  result.ratio_doh_to_knot_udp = ratio(result.ours_doh_qps, result.knot_udp_qps)
  result.cpu_ratio_udp_to_knot = ratio(
    result.details.ours_udp?.answers_per_cpu_s,
    result.details.knot_udp?.answers_per_cpu_s,
  )
  if (result.notes.length === 0) delete result.notes
  return result
})
