// WebSocket tracker load generator (the WebTorrent protocol), run as its own process:
//   node load.js URL [--connections N] [--warmup S] [--duration S] [--rate R]
// Opens N sockets, each one peer (a fixed random peer_id), and keeps one announce in flight
// per socket: a random hash of 1,000, `left` randomly 0 or not, two fake WebRTC offers (so
// the tracker relays offers to other sockets) and numwant 2. Each socket sends at most R
// announces a second, under our relay's per-socket limit (relay/limits.ts), and the same
// pacing applies to every server. Announce answers received during the measured window
// are counted, with their latency (announce sent → answer received, in a histogram of
// buckets LATENCY_STEP apart that the caller merges); relayed offers too. Prints
// {"phase":"measuring"} and {"phase":"measured"} at the edges of the measured window (so the
// caller can sample the server's CPU), then one JSON line of results, with this process's
// own CPU (a generator near one full core is the limit, not the server).

import { randomFillSync } from 'node:crypto'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import WebSocket from 'ws'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    connections: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '2' },
    duration: { type: 'string', default: '10' },
    rate: { type: 'string', default: '40' },
    hashes: { type: 'string', default: '1000' },
  },
})
const url = positionals[0]
if (!url) {
  process.stderr.write('usage: node load.js ws://HOST:PORT [--connections N] [--duration S]\n')
  process.exit(2)
}
const CONNECTIONS = Number(values.connections)
const WARMUP_MS = Number(values.warmup) * 1000
const DURATION_MS = Number(values.duration) * 1000
const MIN_GAP_MS = 1000 / Number(values.rate)
/** An announce unanswered this long is counted lost and the socket moves on. */
const ANSWER_TIMEOUT_MS = 5000
const CONNECT_TIMEOUT_MS = 15_000
/** Latency buckets: each upper bound LATENCY_STEP times the one before, from 10 µs (2 %
 * precision in some 660 buckets up to ANSWER_TIMEOUT_MS). */
const LATENCY_STEP = 1.02
const LATENCY_FIRST_MS = 0.01
/** The upper bound (ms, 3 significant digits: the key callers merge by) of `ms`'s bucket. */
function latencyBucket(ms) {
  const i = Math.max(0, Math.ceil(Math.log(ms / LATENCY_FIRST_MS) / Math.log(LATENCY_STEP)))
  return Number((LATENCY_FIRST_MS * LATENCY_STEP ** i).toPrecision(3))
}

/** Random bytes for ids, drawn 20 at a time and refilled when used up (one crypto call and
 * Buffer per 1,000 ids rather than one per id: the generator's own work is in the latency
 * it reports). */
const idPool = Buffer.alloc(20 * 1000)
let idAt = idPool.length
/** A 20-char "binary string": one char per byte, as WebTorrent sends ids. */
function binaryId() {
  if (idAt === idPool.length) {
    randomFillSync(idPool)
    idAt = 0
  }
  idAt += 20
  return idPool.latin1Slice(idAt - 20, idAt)
}
const hashes = Array.from({ length: Number(values.hashes) }, binaryId)
const hashesJson = hashes.map((h) => JSON.stringify(h))
// A plausible browser offer (~500 B); trackers relay it without looking inside.
const FAKE_SDP =
  'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' +
  'a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n' +
  'c=IN IP4 0.0.0.0\r\na=ice-ufrag:bEnc\r\na=ice-pwd:' +
  'x'.repeat(24) +
  '\r\na=ice-options:trickle\r\na=fingerprint:sha-256 ' +
  Array.from({ length: 32 }, () => 'AB').join(':') +
  '\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n'
/** One offer as announced, up to its id: the same for every offer, serialised once. */
const OFFER_HEAD = '{"offer":' + JSON.stringify({ type: 'offer', sdp: FAKE_SDP }) + ',"offer_id":'
/** Received frames are classified by these bytes without decoding them: decoding every
 * frame as text (UTF-8 with the ids' bytes over 0x7F, V8's slow path), with a JSON.stringify
 * and a crypto call per offer sent, was some 15 % of the generator's CPU, all of it in the
 * latency it reports. Inside a string value a quote is escaped, so neither key can appear
 * there as is. */
const OFFER_KEY = Buffer.from('"offer":')
const FAILURE_KEY = Buffer.from('"failure reason"')

const stats = {
  answers: 0,
  failures: 0,
  lost: 0,
  offersRelayed: 0,
  checkedAnswers: 0,
  checkedOffers: 0,
  failureSample: '',
  /** Bucket upper bound (ms) → answers. */
  latency: new Map(),
}
let measuring = false
let stopped = false

/** Throws unless an announce answer has the fields both trackers send. */
function checkAnswer(text, sentHash) {
  const m = JSON.parse(text)
  const ok =
    m.action === 'announce' &&
    m.info_hash === sentHash &&
    typeof m.complete === 'number' &&
    typeof m.incomplete === 'number' &&
    typeof m.interval === 'number'
  if (!ok) throw new Error(`bad announce answer: ${text.slice(0, 200)}`)
}

function checkOffer(text) {
  const m = JSON.parse(text)
  const ok =
    m.action === 'announce' &&
    m.offer?.sdp === FAKE_SDP &&
    m.offer?.type === 'offer' &&
    typeof m.offer_id === 'string' &&
    m.offer_id.length === 20 &&
    typeof m.peer_id === 'string' &&
    m.peer_id.length === 20
  if (!ok) throw new Error(`bad relayed offer: ${text.slice(0, 200)}`)
}

class Peer {
  peerId = binaryId()
  peerIdJson = JSON.stringify(this.peerId)
  started = false
  sentHash = ''
  sentAt = 0
  inFlight = false
  timer = null

  constructor(ws) {
    this.ws = ws
    ws.on('message', (data) => this.onMessage(data, performance.now()))
  }

  announce() {
    this.timer = null
    if (stopped || this.ws.readyState !== WebSocket.OPEN) return
    const i = Math.floor(Math.random() * hashes.length)
    this.sentHash = hashes[i]
    // JSON.stringify of { action, info_hash, peer_id, numwant: 2, uploaded: 0, downloaded: 0,
    // left, offers: [two offers], event? }, written from parts serialised once.
    const msg =
      '{"action":"announce","info_hash":' +
      hashesJson[i] +
      ',"peer_id":' +
      this.peerIdJson +
      ',"numwant":2,"uploaded":0,"downloaded":0,"left":' +
      (Math.random() < 0.5 ? '0' : '1000000') +
      ',"offers":[' +
      OFFER_HEAD +
      JSON.stringify(binaryId()) +
      '},' +
      OFFER_HEAD +
      JSON.stringify(binaryId()) +
      '}]' +
      (this.started ? '}' : ',"event":"started"}')
    this.started = true
    this.sentAt = performance.now()
    this.inFlight = true
    this.ws.send(msg)
  }

  /** Next announce as soon as the pacing allows. */
  next() {
    this.inFlight = false
    const wait = this.sentAt + MIN_GAP_MS - performance.now()
    if (wait > 0) this.timer = setTimeout(() => this.announce(), wait)
    else this.announce()
  }

  /** A frame's payload (a Buffer), received at `at` (performance.now()). */
  onMessage(data, at) {
    // Cheap classification: decoded and parsed only for the checked samples.
    if (data.includes(OFFER_KEY)) {
      if (measuring) stats.offersRelayed++
      if (stats.checkedOffers < 20) {
        checkOffer(data.toString())
        stats.checkedOffers++
      }
      return
    }
    if (!this.inFlight) return
    if (data.includes(FAILURE_KEY)) {
      stats.failures++
      if (!stats.failureSample) stats.failureSample = data.toString().slice(0, 200)
    } else {
      if (measuring) {
        stats.answers++
        const bucket = latencyBucket(at - this.sentAt)
        stats.latency.set(bucket, (stats.latency.get(bucket) ?? 0) + 1)
      }
      if (stats.checkedAnswers < 200) {
        checkAnswer(data.toString(), this.sentHash)
        stats.checkedAnswers++
      }
    }
    this.next()
  }
}

function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    ws.once('open', () => resolve(new Peer(ws)))
    ws.once('error', reject)
  })
}

async function openAll() {
  const peers = []
  // In batches, so the servers' accept queues are not the thing measured.
  for (let i = 0; i < CONNECTIONS; i += 100) {
    const batch = Math.min(100, CONNECTIONS - i)
    peers.push(...(await Promise.all(Array.from({ length: batch }, open))))
  }
  return peers
}

const deadline = setTimeout(() => {
  process.stderr.write('connecting took too long\n')
  process.exit(1)
}, CONNECT_TIMEOUT_MS)
const peers = await openAll()
clearTimeout(deadline)

const lostTimer = setInterval(() => {
  const now = performance.now()
  for (const p of peers) {
    if (p.inFlight && now - p.sentAt > ANSWER_TIMEOUT_MS) {
      stats.lost++
      p.next()
    }
  }
}, 500)
// Each socket starts at a random point of its first gap, so a paced load arrives spread
// out, not as one burst of every socket per gap.
for (const p of peers) p.timer = setTimeout(() => p.announce(), Math.random() * MIN_GAP_MS)

// How late this process's own event loop ran in the measured window: a stall here (its GC, a
// burst of frames to handle) is in the latency it reports, whichever server it loads.
const loopDelay = monitorEventLoopDelay({ resolution: 1 })
setTimeout(() => {
  measuring = true
  loopDelay.enable()
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  process.stdout.write(JSON.stringify({ phase: 'measuring' }) + '\n')
  setTimeout(() => {
    measuring = false
    stopped = true
    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    loopDelay.disable()
    process.stdout.write(JSON.stringify({ phase: 'measured' }) + '\n')
    clearInterval(lostTimer)
    for (const p of peers) {
      if (p.timer) clearTimeout(p.timer)
      p.ws.terminate()
    }
    const result = {
      connections: CONNECTIONS,
      seconds: Number(seconds.toFixed(3)),
      answers: stats.answers,
      aps: Math.round(stats.answers / seconds),
      offers_relayed_per_s: Math.round(stats.offersRelayed / seconds),
      failures: stats.failures,
      lost: stats.lost,
      checked_answers: stats.checkedAnswers,
      checked_offers: stats.checkedOffers,
      pacing_cap_aps: Math.round(CONNECTIONS * (1000 / MIN_GAP_MS)),
      // User + system CPU per second of wall: 1.0 is one full core.
      generator_cpu: Number(((cpu.user + cpu.system) / 1e6 / seconds).toFixed(3)),
      // Its event loop's delay (ms) beyond the 1 ms sampling timer, p99 and most.
      generator_loop_delay_p99_ms: Number((loopDelay.percentile(99) / 1e6 - 1).toFixed(2)),
      generator_loop_delay_max_ms: Number((loopDelay.max / 1e6 - 1).toFixed(2)),
      // Answers by latency: bucket upper bound in ms → count.
      latency_ms: Object.fromEntries(stats.latency),
    }
    if (stats.failureSample) result.failure_sample = stats.failureSample
    process.stdout.write(JSON.stringify(result) + '\n')
    process.exit(0)
  }, DURATION_MS)
}, WARMUP_MS)
