// Honest classic clients for bench/abuse, run as their own process:
//   node honest.js PORT [--rate R] [--warmup S] [--duration S] [--wait-for-measure]
// Announces over HTTP at a steady R per second (default 200), each on a new connection with
// `Connection: close` as classic clients do, from loopback aliases other than the
// attacker's (several honest users, round robin: shared.js), to a fixed set of real hashes;
// one announce a second is for a fresh hash (a new torrent being shared), so a full tracker
// shows. Prints {"phase":"warm"} when the warm-up ends (the caller starts the attack then),
// keeps the same load going, measures for --duration (from the line `measure` on stdin
// with --wait-for-measure: the attack is up), and prints one JSON line of results once
// every announce sent in the window has ended.
//
// An announce succeeds when the answer is HTTP 200 and a bencoded dictionary without a
// `failure reason`. Its latency runs from the request to the end of the answer, or to the
// error or the ANSWER_TIMEOUT_MS cut-off: what the client waited, whatever it got. An answer
// that names the Sybil fakes' marker peer (sybil.js) is counted as hijacked too.

import { randomBytes } from 'node:crypto'
import { get } from 'node:http'
import { parseArgs } from 'node:util'
import bencode from 'bencode'
import { percentEncode } from '../lib/announce-check.js'
import { FAKE_PEER, HONEST } from './shared.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rate: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '2' },
    duration: { type: 'string', default: '10' },
    addresses: { type: 'string', default: HONEST.join(',') },
    hashes: { type: 'string', default: '100' },
    'peers-per-address': { type: 'string', default: '25' },
    'wait-for-measure': { type: 'boolean', default: false },
  },
})
const PORT = Number(positionals[0])
if (!(PORT > 0)) {
  process.stderr.write('usage: node honest.js PORT [--rate R] [--warmup S] [--duration S]\n')
  process.exit(2)
}
const RATE = Number(values.rate)
const WARMUP_MS = Number(values.warmup) * 1000
const DURATION_MS = Number(values.duration) * 1000
const ADDRESSES = values.addresses.split(',')
/** An announce unanswered this long counts as failed (classic clients wait longer, but a
 * tracker this slow is down for them). */
const ANSWER_TIMEOUT_MS = 5000
/** Every RATE-th announce is for a fresh hash: one new torrent a second at 200/s. */
const FRESH_EVERY = Math.max(1, Math.round(RATE))

const hashes = Array.from({ length: Number(values.hashes) }, () => randomBytes(20))
const peers = ADDRESSES.map((address, a) =>
  Array.from({ length: Number(values['peers-per-address']) }, (_, i) => ({
    address,
    id: randomBytes(20),
    port: 20000 + a * 1000 + i,
    started: false,
  })),
)

const tally = { latencies: [], ok: 0, failed: 0, hijacked: 0, fresh: 0, freshOk: 0 }
const reasons = new Map()
let measuring = false
let sent = 0
let inFlight = 0

function fail(why) {
  reasons.set(why, (reasons.get(why) ?? 0) + 1)
}

/** One announce; resolves once it ended, however. */
function announce(fresh) {
  const list = peers[sent % peers.length]
  const peer = list[Math.floor(sent / peers.length) % list.length]
  const hash = fresh ? randomBytes(20) : hashes[Math.floor(Math.random() * hashes.length)]
  let path =
    `/announce?info_hash=${percentEncode(hash)}&peer_id=${percentEncode(peer.id)}` +
    `&port=${peer.port}&uploaded=0&downloaded=0&left=${sent % 3 === 0 ? 0 : 1000}` +
    `&compact=1&numwant=50`
  if (!peer.started) path += '&event=started'
  peer.started = true
  const counted = measuring
  const t0 = performance.now()
  inFlight++
  return new Promise((resolve) => {
    let settled = false
    const done = (ok, why, hijacked = false) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      inFlight--
      if (counted) {
        tally.latencies.push(performance.now() - t0)
        if (ok) tally.ok++
        else {
          tally.failed++
          fail(why)
        }
        if (hijacked) tally.hijacked++
        if (fresh) {
          tally.fresh++
          if (ok) tally.freshOk++
        }
      }
      resolve()
    }
    const req = get(
      {
        host: '127.0.0.1',
        port: PORT,
        path,
        localAddress: peer.address,
        agent: false,
        headers: { Connection: 'close' },
      },
      (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('error', (err) => done(false, `read: ${err.code ?? err.message}`))
        res.on('end', () => {
          const body = Buffer.concat(chunks)
          if (res.statusCode !== 200) return done(false, `HTTP ${res.statusCode}`)
          let dict
          try {
            dict = bencode.decode(body)
          } catch {
            return done(false, 'not bencoded')
          }
          const reason = dict?.['failure reason']
          if (reason) return done(false, Buffer.from(reason).toString().slice(0, 80))
          const list = dict?.peers
          const hijacked = list instanceof Uint8Array && Buffer.from(list).includes(FAKE_PEER)
          done(true, '', hijacked)
        })
      },
    )
    const timer = setTimeout(() => {
      req.destroy()
      done(false, `no answer in ${ANSWER_TIMEOUT_MS} ms`)
    }, ANSWER_TIMEOUT_MS)
    req.on('error', (err) => done(false, `connect: ${err.code ?? err.message}`))
  })
}

/** Sends at RATE per second until `until` resolves, catching up on timer lateness; resolves
 * when every announce sent has ended. */
async function run(until) {
  const pending = []
  const start = performance.now()
  const startSent = sent
  let stop = false
  void until.then(() => (stop = true))
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      if (stop) {
        clearInterval(tick)
        return resolve()
      }
      const due = Math.floor(((performance.now() - start) / 1000) * RATE)
      while (sent - startSent < due) {
        pending.push(announce(sent % FRESH_EVERY === FRESH_EVERY - 1))
        sent++
      }
    }, 5)
  })
  await Promise.all(pending)
}

const after = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
/** With --wait-for-measure, resolves on the line `measure` on stdin (the caller's attack is
 * up) or when stdin ends; without, at once. */
const go = new Promise((resolve) => {
  if (!values['wait-for-measure']) return resolve()
  process.stdin.setEncoding('utf8')
  process.stdin.on('data', (text) => text.includes('measure') && resolve())
  process.stdin.on('end', resolve)
})

function percentile(sorted, p) {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

// Warm-up: the honest hashes get their swarms; then the caller starts the attack, and once
// it says `measure` the window opens (the load goes on without a pause in between).
const warm = after(WARMUP_MS).then(() => {
  process.stdout.write(JSON.stringify({ phase: 'warm' }) + '\n')
  return go
})
const measured = warm.then(() => {
  measuring = true
  return after(DURATION_MS)
})
let t0 = 0
let t1 = 0
void warm.then(() => (t0 = performance.now()))
void measured.then(() => (t1 = performance.now()))
await run(measured)
const seconds = (t1 - t0) / 1000
const sorted = tally.latencies.sort((a, b) => a - b)
const total = tally.ok + tally.failed
const round2 = (x) => (x === null ? null : Number(x.toFixed(2)))
process.stdout.write(
  JSON.stringify({
    announces: total,
    seconds: round2(seconds),
    ok: tally.ok,
    failed: tally.failed,
    success_pct: total ? round2((100 * tally.ok) / total) : null,
    p50_ms: round2(percentile(sorted, 50)),
    p99_ms: round2(percentile(sorted, 99)),
    max_ms: round2(sorted.at(-1) ?? null),
    hijacked: tally.hijacked,
    hijacked_pct: total ? round2((100 * tally.hijacked) / total) : null,
    new_torrents: tally.fresh,
    new_torrents_ok: tally.freshOk,
    failures: Object.fromEntries([...reasons].sort((a, b) => b[1] - a[1]).slice(0, 5)),
    in_flight_left: inFlight,
  }) + '\n',
)
