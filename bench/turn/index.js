// turn: MiB/s and CPU-s per GiB of a data channel relayed by our TURN server, beside coturn
// timeout: 600
//
// Two node-datachannel peers (client.js, a process of its own, so each server's CPU is its
// own) connect over one reliable data channel with iceTransportPolicy 'relay': both gather
// relay candidates only, so every byte goes sender → TURN server → its relay port → the
// other allocation's relay port → TURN server → receiver. The sender sends MIB MiB in
// MESSAGE_KIB messages, keeping up to BUFFER_KIB buffered (bufferedAmountLow refills it);
// the receiver checks their order and counts. Timed from the channel's open to the last byte.
// Offer and answer go through our relay's WebSocket tracker when ours is the relay (it relays
// only towards peers signalled there, as browsers are), for every server alike; else in memory.
//
// Servers, all on loopback, all checking TURN REST credentials made from one shared secret
// (username `${expiry}:bench`, password base64(HMAC-SHA1(secret, username))):
// - ours: the relay as users run it (`relay/bin.js --turn-secret-file`, STUN/TURN on the UDP
//   port of its HTTP port, --turn-max-bandwidth 0 so its default cap is not what is measured);
//   while the relay does not serve TURN, createTurnServer alone in a process (our-turn.ts),
//   said in `ours_process`;
// - coturn: Debian's `turnserver` (4.6), UDP only, loopback peers allowed, its defaults
//   otherwise (relay threads: one per core);
// - the raw ceiling: the same client and transfer with no TURN (host candidates on 127.0.0.1).
//
// The peers bind 127.0.0.2 and 127.0.0.3 under TURN, not 127.0.0.1: TURN permissions are per
// IP address, so with everything on 127.0.0.1 the permission a peer installs for the other's
// relayed address also admits the other's host socket, and ICE settles on a half-relayed pair
// (host → relay). Apart, only the relay ↔ relay pair works (client.js checks it is the one).
//
// All servers are started first; then ROUNDS rounds, each one transfer through each, the
// order alternating, so drift on a shared machine hits all alike; medians are reported (the
// mean of the middle two for an even count), each round in `each`. CPU is utime + stime from
// /proc/PID/stat of the server process (all its threads) before and after each transfer.
// Environment: MONSOON_BENCH_TURN_MIB (default 256), MONSOON_BENCH_TURN_ROUNDS (3),
// MONSOON_BENCH_TURN_MESSAGE_KIB (64), MONSOON_BENCH_TURN_BUFFER_KIB (1024),
// MONSOON_BENCH_TURN_CEILING (1; 0 skips it), MONSOON_BENCH_TURN_OURS (auto: the relay when
// it serves TURN, else standalone; relay; standalone; coturn: a second coturn as "ours", to
// check the harness, whose ratio should be near 1), MONSOON_BENCH_PROFILE=DIR (run.js
// --profile: ours under node --cpu-prof, its profile written to DIR when it stops).

import { randomBytes } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { machineTicks, processCpuSeconds } from '../lib/cpu.js'
import { note, runBenchmark, withDeadline } from '../lib/processes.js'
import { restCredentials, startCoturn, startOurRelay, startOurStandalone } from './servers.js'

const BENCH = 'turn'
const MIB = Number(process.env.MONSOON_BENCH_TURN_MIB ?? 256)
const ROUNDS = Math.max(1, Number(process.env.MONSOON_BENCH_TURN_ROUNDS ?? 3))
const MESSAGE_KIB = Number(process.env.MONSOON_BENCH_TURN_MESSAGE_KIB ?? 64)
const BUFFER_KIB = Number(process.env.MONSOON_BENCH_TURN_BUFFER_KIB ?? 1024)
const CEILING = process.env.MONSOON_BENCH_TURN_CEILING !== '0'
const OURS = process.env.MONSOON_BENCH_TURN_OURS ?? 'auto'
const WARMUP_MIB = 16
const GOAL_RATIO = 0.8
const CLIENT = fileURLToPath(new URL('./client.js', import.meta.url))

const round = (x, digits = 0) => (x == null || Number.isNaN(x) ? null : Number(x.toFixed(digits)))

/** The median; the mean of the middle two for an even count. */
function median(xs) {
  const s = xs.filter((x) => x != null).sort((a, b) => a - b)
  if (s.length === 0) return null
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** UDP datagrams the kernel dropped for full receive buffers so far (all sockets). */
function udpRcvbufErrors() {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'))
    const [names, values] = lines.map((l) => l.split(/\s+/))
    return Number(values[names.indexOf('RcvbufErrors')])
  } catch {
    return null
  }
}

const threadsOf = (pid) => {
  try {
    return readdirSync(`/proc/${pid}/task`).length
  } catch {
    return null
  }
}

/** One transfer of `mib` MiB through `server` (null: no TURN, the ceiling). */
async function transfer(procs, server, secret, mib, signal) {
  const cfg = {
    turn: server ? { host: '127.0.0.1', port: server.port, ...restCredentials(secret) } : null,
    signal,
    mib,
    messageKiB: MESSAGE_KIB,
    bufferKiB: BUFFER_KIB,
    // A floor of 4 MiB/s, beyond which the round has failed rather than run slowly.
    timeoutMs: 30_000 + mib * 250,
  }
  const child = procs.spawn(`client-${server?.key ?? 'ceiling'}`, process.execPath, [
    CLIENT,
    JSON.stringify(cfg),
  ])
  let out = ''
  child.stdout.on('data', (c) => (out += c))
  const pid = server?.child.pid
  const cpu0 = pid ? processCpuSeconds(pid) : null
  const machine0 = machineTicks()
  const drops0 = udpRcvbufErrors()
  await withDeadline(child.finished, cfg.timeoutMs + 10_000, 'client')
  const cpu1 = pid ? processCpuSeconds(pid) : null
  const machine1 = machineTicks()
  const drops1 = udpRcvbufErrors()
  let r
  try {
    r = JSON.parse(out.trim().split('\n').pop())
  } catch {
    r = { error: `client printed no result: ${out.slice(-200)}` }
  }
  if (r.error) return { error: r.error }
  const busy =
    machine0 && machine1
      ? ((machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total)) * 100
      : null
  const serverCpu = cpu0 != null && cpu1 != null ? cpu1 - cpu0 : null
  return {
    mib_s: round(r.bytes / 1048576 / r.seconds, 2),
    seconds: round(r.seconds, 2),
    server_cpu_s: round(serverCpu, 2),
    server_cpu_s_per_gib: serverCpu != null ? round(serverCpu / (r.bytes / 2 ** 30), 2) : null,
    server_cpu_pct: serverCpu != null ? Math.round((serverCpu / r.seconds) * 100) : null,
    client_cpu_s: round(r.client_cpu_s, 2),
    machine_busy_pct: round(busy),
    udp_rcvbuf_errors: drops0 != null && drops1 != null ? drops1 - drops0 : null,
    connect_ms: r.connect_ms,
    pair: `${r.local}/${r.remote}`,
  }
}

/** The relay's TURN refusals so far, from its /metrics (e.g. " (refused: not-signalled 10)"). */
async function turnRefusals(port) {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    const found = [...text.matchAll(/^monsoon_turn_refusals_total\{reason="([^"]+)"\} (\d+)/gm)]
      .filter((m) => Number(m[2]) > 0)
      .map((m) => `${m[1]} ${m[2]}`)
    return found.length ? ` (the relay refused: ${found.join(', ')})` : ''
  } catch {
    return ''
  }
}

/** Bytes the relay's TURN server relayed so far, both directions (its /metrics), or null. */
async function relayedBytes(port) {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    const found = [...text.matchAll(/^monsoon_turn_relayed_bytes_total\{[^}]*\} (\d+)/gm)]
    return found.length ? found.reduce((sum, m) => sum + Number(m[1]), 0) : null
  } catch {
    return null
  }
}

/** Ours as asked: the relay when it serves TURN (auto falls back to our-turn.ts alone). */
async function startOurs(procs, secret, notes) {
  if (OURS === 'coturn') return { ...(await startCoturn(procs, secret, 'ours')), process: 'coturn' }
  if (OURS === 'standalone') return startOurStandalone(procs, secret)
  try {
    return await startOurRelay(procs, secret)
  } catch (err) {
    if (OURS === 'relay') throw err
    notes.push(`the relay does not serve TURN yet (${err.message}); ours is our-turn.ts alone`)
    return startOurStandalone(procs, secret)
  }
}

await runBenchmark(BENCH, async (procs) => {
  const result = {
    bench: BENCH,
    ours_mib_s: null,
    coturn_mib_s: null,
    ratio_to_coturn: null,
    goal_ratio_to_coturn: GOAL_RATIO,
    ours_cpu_s_per_gib: null,
    coturn_cpu_s_per_gib: null,
    // Ours / coturn of the CPU-seconds per GiB: lower is better.
    cpu_per_gib_ratio_to_coturn: null,
    ceiling_mib_s: null,
    ratio_to_ceiling: null,
    coturn_ratio_to_ceiling: null,
    ours_process: null,
    coturn_version: null,
    load: {
      client:
        'node-datachannel (two peers in one process), iceTransportPolicy relay, TURN over UDP',
      mib: MIB,
      message_kib: MESSAGE_KIB,
      buffer_kib: BUFFER_KIB,
    },
    rounds: ROUNDS,
    details: {},
    each: [],
    notes: [],
  }
  const secret = randomBytes(24).toString('base64url')
  let ours = await startOurs(procs, secret, result.notes)
  // Every transfer signals alike: through our relay's WebSocket tracker when ours is the relay.
  let signal = ours.signal ?? null
  // Warm-up: one short transfer through each (checks the relayed path; JIT for ours).
  let warm = await transfer(procs, ours, secret, WARMUP_MIB, signal)
  if (warm.error && ours.process === 'relay') {
    const why = `${warm.error}${await turnRefusals(ours.port)}`
    if (OURS !== 'auto') throw new Error(`ours: warm-up transfer failed: ${why}`)
    result.notes.push(
      `the relay serves TURN but a transfer through it failed (${why}); ours is our-turn.ts alone`,
    )
    await procs.stop(ours.child)
    ours = await startOurStandalone(procs, secret)
    signal = null
    warm = await transfer(procs, ours, secret, WARMUP_MIB, signal)
  }
  if (warm.error) throw new Error(`ours: warm-up transfer failed: ${warm.error}`)
  note(`ours: warm-up ${warm.mib_s} MiB/s over ${warm.pair}`)
  result.ours_process = ours.process
  result.load.signalling = signal ? "our relay's WebSocket tracker" : 'in memory'
  const servers = [ours]
  const coturn = await startCoturn(procs, secret)
  if (coturn) {
    const w = await transfer(procs, coturn, secret, WARMUP_MIB, signal)
    if (w.error) throw new Error(`coturn: warm-up transfer failed: ${w.error}`)
    note(`coturn: warm-up ${w.mib_s} MiB/s over ${w.pair}`)
    servers.push(coturn)
    result.coturn_version = coturn.version
  } else {
    result.notes.push('coturn is not installed (apt-get install coturn): not measured')
  }
  const kinds = [...servers]
  if (CEILING) kinds.push(null)

  const byKey = new Map(kinds.map((s) => [s?.key ?? 'ceiling', []]))
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? kinds : [...kinds].reverse()
    for (const server of order) {
      const key = server?.key ?? 'ceiling'
      const t = await transfer(procs, server, secret, MIB, signal)
      note(`round ${r + 1} ${key}: ${t.error ?? `${t.mib_s} MiB/s, ${t.server_cpu_s} CPU-s`}`)
      byKey.get(key).push(t)
      result.each.push({ round: r + 1, server: key, ...t })
    }
  }

  for (const [key, runs] of byKey) {
    const ok = runs.filter((t) => !t.error)
    const failed = runs.length - ok.length
    if (failed) result.notes.push(`${key}: ${failed} of ${runs.length} transfers failed`)
    const mibS = median(ok.map((t) => t.mib_s))
    const cpuPerGib = median(ok.map((t) => t.server_cpu_s_per_gib))
    result[`${key}_mib_s`] = round(mibS, 2)
    if (key !== 'ceiling') result[`${key}_cpu_s_per_gib`] = round(cpuPerGib, 2)
    result.details[key] = {
      mib_s_per_round: runs.map((t) => t.mib_s ?? null),
      server_cpu_pct: median(ok.map((t) => t.server_cpu_pct)),
      client_cpu_s: round(median(ok.map((t) => t.client_cpu_s)), 2),
      machine_busy_pct: median(ok.map((t) => t.machine_busy_pct)),
      udp_rcvbuf_errors: median(ok.map((t) => t.udp_rcvbuf_errors)),
      connect_ms: median(ok.map((t) => t.connect_ms)),
    }
  }
  // The relay's own count of what it relayed: each payload byte passes it twice (to the peer
  // relay port, then to the receiving client), plus SCTP acks, DTLS and TURN headers.
  if (ours.process === 'relay') {
    const relayed = await relayedBytes(ours.port)
    result.details.ours.relayed_gib_by_its_metrics =
      relayed == null ? null : round(relayed / 2 ** 30, 3)
  }
  for (const server of servers) {
    result.details[server.key].threads = threadsOf(server.child.pid)
    result.details[server.key].port = server.port
  }
  if (result.ours_mib_s == null) throw new Error(`every transfer through ours failed`)

  const ratio = (a, b) => (a && b ? round(a / b, 2) : null)
  result.ratio_to_coturn = ratio(result.ours_mib_s, result.coturn_mib_s)
  result.cpu_per_gib_ratio_to_coturn = ratio(result.ours_cpu_s_per_gib, result.coturn_cpu_s_per_gib)
  result.ratio_to_ceiling = ratio(result.ours_mib_s, result.ceiling_mib_s)
  result.coturn_ratio_to_ceiling = ratio(result.coturn_mib_s, result.ceiling_mib_s)
  // SIGTERM lets ours exit cleanly, which is when --cpu-prof writes its profile.
  const grace = process.env.MONSOON_BENCH_PROFILE ? 15_000 : 3000
  for (const server of servers) await procs.stop(server.child, grace)
  if (result.notes.length === 0) delete result.notes
  return result
})
