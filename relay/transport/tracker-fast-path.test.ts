// The tracker's fast path on real sockets, each case beside the same one through node's HTTP
// server (a one port without the fast path, answering as relay/server.ts onRequest does):
// the bytes on the wire must be the same but for Date.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { connect, type Socket } from 'node:net'
import { Duplex } from 'node:stream'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { MAX_FAST_HEAD_BYTES } from '../limits.ts'
import { quietRefusals } from '../refusals.ts'
import { announcePath, binaryId, scrapePath } from '../test/tracker-wire.ts'
import { handleHttpTracker } from '../tracker/http.ts'
import { TrackerFront, isTrackerPath } from '../tracker/http-front.ts'
import { Tracker } from '../tracker/tracker.ts'
import { OnePort } from './one-port.ts'
import { RequestRate } from './request-rate.ts'
import { TrackerFastPath, type HandOff } from './tracker-fast-path.ts'

const OPTIONS = { interval: 600, minInterval: 300, trustProxy: false }

/** A one port over its own tracker, with or without the fast path. */
async function relayLike(fast: boolean, burst = 1_000_000, keepAliveTimeoutMs?: number) {
  // Peers picked from the same offset on both sides, so their answers can be compared.
  const tracker = new Tracker({ random: () => 0 })
  const requestRate = new RequestRate({
    perSecond: 0.001,
    burst,
    penaltyMs: 0,
    maxAddresses: 100,
    refusals: quietRefusals(),
  })
  const local = (url: string, ip: string) =>
    handleHttpTracker(tracker, { url, remoteAddress: ip }, OPTIONS, 1_000)
  const front = new TrackerFront({
    trustProxy: false,
    requestRate,
    meter: { add: () => {} },
    onAnnounce: () => {},
    answer: local,
    localAnswer: local,
    forwardedIp: () => '192.0.2.99',
  })
  // As relay/server.ts onRequest answers the tracker; other paths get a 404.
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/'
    if (!isTrackerPath(url)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not here\n')
      return
    }
    const answer = front.answer({ url, remoteAddress: req.socket.remoteAddress ?? '' })
    if (answer === null) {
      res.shouldKeepAlive = false
      res.writeHead(429, { 'Content-Type': 'text/plain', 'Retry-After': '1', Connection: 'close' })
      res.end('too many requests from this address; slow down\n')
      return
    }
    void Promise.resolve(answer).then((body) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length })
      res.end(body)
    })
  })
  if (keepAliveTimeoutMs !== undefined) http.keepAliveTimeout = keepAliveTimeoutMs
  let handedOver = 0
  http.on('connection', () => handedOver++)
  const wss = new WebSocketServer({ noServer: true })
  http.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => ws.send('tracker socket')),
  )
  const port = new OnePort({ http, tracker: fast ? front : undefined })
  const { port: number } = await port.listen(0, '127.0.0.1')
  return { port: number, close: () => port.close(), handedOver: () => handedOver }
}

/** Whole responses at the start of `bytes` (Content-Length or chunked bodies). */
function wholeResponses(bytes: Buffer): number {
  let n = 0
  let at = 0
  for (;;) {
    const end = bytes.indexOf('\r\n\r\n', at)
    if (end === -1) return n
    const head = bytes.subarray(at, end).toString('latin1')
    const length = /\r\ncontent-length: (\d+)/i.exec(head)
    if (length) at = end + 4 + Number(length[1])
    else if (/\r\ntransfer-encoding: chunked/i.test(head)) {
      const last = bytes.indexOf('\r\n0\r\n\r\n', end)
      if (last === -1) return n
      at = last + 7
    } else return n // no length: the response runs to the close
    if (at > bytes.length) return n
    n++
  }
}

/** Writes `pieces` (each after the last was sent and a turn of the event loop) and collects
 * the answer bytes until the server closes or `responses` whole answers are in. */
function exchange(port: number, pieces: (string | Buffer)[], responses = Infinity) {
  return new Promise<string>((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1')
    socket.setNoDelay(true)
    const chunks: Buffer[] = []
    const done = () => {
      socket.destroy()
      resolve(Buffer.concat(chunks).toString('latin1'))
    }
    socket.on('data', (c: Buffer) => {
      chunks.push(c)
      if (wholeResponses(Buffer.concat(chunks)) >= responses) done()
    })
    socket.on('end', done)
    socket.on('close', done)
    socket.on('error', reject)
    socket.once('connect', async () => {
      for (const piece of pieces) {
        await new Promise<void>((r) => socket.write(piece, () => setTimeout(r, 5)))
      }
    })
  })
}

const dateless = (text: string) => text.replace(/\r\nDate: [^\r]*/g, '\r\nDate: -')
const get = (target: string, fields = 'Host: t\r\n', version = '1.1') =>
  `GET ${target} HTTP/${version}\r\n${fields}\r\n`
const announce = (n: number, extra: Partial<Parameters<typeof announcePath>[0]> = {}) =>
  announcePath({ infoHash: binaryId(1), peerId: binaryId(100 + n), port: 7000 + n, ...extra })

describe('tracker fast path on the one port', () => {
  let slow: Awaited<ReturnType<typeof relayLike>>
  let fast: Awaited<ReturnType<typeof relayLike>>
  beforeAll(async () => {
    ;[slow, fast] = await Promise.all([relayLike(false), relayLike(true)])
  })
  afterAll(async () => {
    await Promise.all([slow?.close(), fast?.close()])
  })

  /** The same exchange with both; the fast one's bytes, once checked equal. */
  async function both(pieces: (string | Buffer)[], responses = Infinity) {
    const [a, b] = [
      await exchange(slow.port, pieces, responses),
      await exchange(fast.port, pieces, responses),
    ]
    expect(dateless(b)).toBe(dateless(a))
    return b
  }

  it('answers plain announces and scrapes itself, byte for byte as node does but Date', async () => {
    const before = fast.handedOver()
    const close = 'Host: t\r\nUser-Agent: qBittorrent/4.6.5\r\nConnection: close\r\n'
    expect(await both([get(announce(1, { left: 0 }), close)])).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    const answer = await both([get(announce(2), close)])
    expect(answer).toContain('Connection: close\r\n\r\nd8:completei1e10:incompletei1e')
    await both([get(announce(3, { compact: 0 }), close)])
    await both([get(announce(4), '', '1.0')])
    await both([get(scrapePath([binaryId(1), binaryId(2)]), close)])
    await both([get('/announce?info_hash=short', close)])
    await both([get('/scrape?nothing', close)])
    // Kept (HTTP/1.1, and 1.0 with keep-alive), then closed by the last request.
    await both([
      get(announce(5)),
      get(announce(6), 'Connection: keep-alive\r\n', '1.0'),
      get(announce(5, { event: 'stopped' }), close),
    ])
    expect(fast.handedOver()).toBe(before)
  })

  it('hands anything else to the HTTP server, on a new connection or a kept one', async () => {
    const before = fast.handedOver()
    await both([get('/health', 'Host: t\r\nConnection: close\r\n')])
    await both([get(announce(7), 'Host: t\r\nContent-Length: 0\r\nConnection: close\r\n')])
    await both([`GET ${announce(7)} HTTP/1.1\r\nConnection: close\r\n\r\n`]) // no Host: 400
    await both([`GET ${announce(7)}\0 HTTP/1.1\r\nHost: t\r\n\r\n`])
    await both([
      get(announce(7), `Host: t\r\nX-Big: ${'b'.repeat(12_000)}\r\nConnection: close\r\n`),
    ])
    const many = Array.from({ length: 100 }, (_, i) => `X-${i}: v\r\n`).join('')
    await both([get(announce(7), `Host: t\r\n${many}Connection: close\r\n`)])
    expect(fast.handedOver()).toBe(before + 6)
    // Answered here, then the HTTP server's (404), then the HTTP server's announce.
    const mixed = await both(
      [get(announce(8)), get('/health'), get(announce(9), 'Host: t\r\nConnection: close\r\n')],
      3,
    )
    expect(mixed.match(/HTTP\/1\.1 (\d+)/g)).toEqual([
      'HTTP/1.1 200',
      'HTTP/1.1 404',
      'HTTP/1.1 200',
    ])
  })

  it('answers pipelined requests here, in order, a head cut between reads too', async () => {
    const first = get(announce(10, { infoHash: binaryId(2) }))
    const three =
      first +
      get(announce(11, { infoHash: binaryId(2) })) +
      get(announce(12, { infoHash: binaryId(2) }), 'Host: t\r\nConnection: close\r\n')
    const before = fast.handedOver()
    const cut = first.length + 20
    const answers = await both([three.slice(0, cut), three.slice(cut)], 3)
    expect(fast.handedOver()).toBe(before)
    expect(answers.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(3)
    const counts = answers.match(/incompletei(\d+)e/g)
    expect(counts).toEqual(['incompletei1e', 'incompletei2e', 'incompletei3e'])
  })

  it('leaves bytes after a request that closes the connection to the HTTP server', async () => {
    const before = fast.handedOver()
    const close = 'Host: t\r\nConnection: close\r\n'
    await both([get(announce(14), close) + get(announce(15))])
    expect(fast.handedOver()).toBe(before + 1)
  })

  it('answers a request split over many tiny packets through the HTTP server', async () => {
    const before = fast.handedOver()
    const whole = get(announce(13), 'Host: t\r\nConnection: close\r\n')
    const pieces = [...whole.slice(0, 40)].concat(whole.slice(40))
    expect(await both(pieces)).toMatch(/^HTTP\/1\.1 200 OK/)
    expect(fast.handedOver()).toBe(before + 1)
  })

  it('leaves the WebSocket tracker’s upgrade on /announce to the HTTP server', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${fast.port}/announce`)
    const message = await new Promise<string>((resolve, reject) => {
      ws.once('message', (data: Buffer) => resolve(data.toString()))
      ws.once('error', reject)
    })
    ws.close()
    expect(message).toBe('tracker socket')
  })

  it('answers as node does for any mix of plain and hostile heads', async () => {
    const field = fc.constantFrom(
      'User-Agent: Transmission/4.0.5',
      'Accept-Encoding: gzip',
      'accept: */*',
      'Connection: keep-alive',
      'Content-Length: 0',
      'Expect: 100-continue',
      'Upgrade: h2c',
      'X-Nul: a\0b',
      'X-High: caf\xe9',
      'Bad Field: 1',
      ' folded',
      'X-Empty:',
    )
    const version = fc.constantFrom('1.1', '1.0', '1.2')
    const target = fc.constantFrom(
      '/announce?info_hash=x',
      '/scrape?info_hash=x',
      '/announce',
      '/x',
    )
    await fc.assert(
      fc.asyncProperty(
        target,
        version,
        fc.array(field, { maxLength: 4 }),
        fc.boolean(),
        fc.constantFrom('', 'GET /x HTTP/1.1\r\nHost: t\r\n\r\n', '\0\r\n'),
        async (t, v, fields, host, after) => {
          const lines = [...(host ? ['Host: t'] : []), ...fields, 'Connection: close']
          const head = `GET ${t} HTTP/${v}\r\n${lines.join('\r\n')}\r\n\r\n`
          await both([Buffer.from(head + after, 'latin1')], 1)
        },
      ),
      { numRuns: 40 },
    )
  })

  it('closes a kept connection left idle, as node does', async () => {
    const [idleSlow, idleFast] = await Promise.all([
      relayLike(false, 100, 300),
      relayLike(true, 100, 300),
    ])
    try {
      const pieces = [get(announce(20)), get(announce(21))]
      const [a, b] = [await exchange(idleSlow.port, pieces), await exchange(idleFast.port, pieces)]
      expect(dateless(b)).toBe(dateless(a))
      expect(b.match(/Keep-Alive: timeout=0\r\n/g)).toHaveLength(2)
      expect(idleFast.handedOver()).toBe(0)
    } finally {
      await Promise.all([idleSlow.close(), idleFast.close()])
    }
  })

  it('answers an address over its request rate with the same 429, and closes', async () => {
    const [tightSlow, tightFast] = await Promise.all([relayLike(false, 2), relayLike(true, 2)])
    try {
      const answers: string[][] = [[], []]
      for (const [i, server] of [tightSlow, tightFast].entries()) {
        for (let n = 0; n < 3; n++)
          answers[i].push(dateless(await exchange(server.port, [get(announce(n))], 1)))
      }
      expect(answers[1]).toEqual(answers[0])
      expect(answers[1][2]).toMatch(/^HTTP\/1\.1 429 Too Many Requests\r\n/)
      expect(tightFast.handedOver()).toBe(0)
    } finally {
      await Promise.all([tightSlow.close(), tightFast.close()])
    }
  })
})

/** One turn of the event loop: what a read or a write set going has run. */
const turn = () => new Promise((r) => setImmediate(r))

/** A socket stand-in whose client never reads: writes are never taken by the "kernel". */
function unreadSocket() {
  const held: (() => void)[] = []
  const written: Buffer[] = []
  const duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      written.push(chunk)
      held.push(() => callback())
    },
    writableHighWaterMark: 1,
  })
  const socket = Object.assign(duplex, {
    remoteAddress: '192.0.2.1',
    setTimeout: () => socket,
    setNoDelay: () => socket,
  }) as unknown as Socket
  return { socket, written, duplex, release: () => held.splice(0).forEach((f) => f()) }
}

/** A socket stand-in whose client reads everything at once. */
function readSocket(writableHighWaterMark?: number) {
  const written: Buffer[] = []
  const duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      written.push(chunk)
      callback()
    },
    writableHighWaterMark,
  })
  const socket = Object.assign(duplex, {
    remoteAddress: '192.0.2.1',
    setTimeout: () => socket,
    setNoDelay: () => socket,
  }) as unknown as Socket
  return { socket, written }
}

describe('TrackerFastPath', () => {
  const front = (answers: (Uint8Array | Promise<Uint8Array>)[]) => ({
    answer: () => answers.shift() ?? Buffer.from('de'),
  })
  const path = (answers: (Uint8Array | Promise<Uint8Array>)[] = [], handOff: HandOff = () => {}) =>
    new TrackerFastPath({ front: front(answers), handOff, keepAliveTimeoutMs: 5000, now: () => 0 })
  const request = Buffer.from(get('/announce?x'))

  it('maps a request’s bytes to its whole answer, touching no socket', () => {
    const answer = path([Buffer.from('d1:ai1ee')]).answer(request, '192.0.2.1')
    expect(answer?.keepAlive).toBe(true)
    expect(answer?.consumed).toBe(request.length)
    expect(Buffer.from(answer!.response as Uint8Array).toString('latin1')).toBe(
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n' +
        'Date: Thu, 01 Jan 1970 00:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nd1:ai1ee',
    )
    expect(path().answer(Buffer.from(get('/health')), '192.0.2.1')).toBeUndefined()
  })

  it('reads nothing more from a client that does not read until its answer drains', async () => {
    const { socket, written, duplex, release } = unreadSocket()
    const fastPath = path()
    expect(fastPath.serve(socket, request)).toBe(true)
    expect(written).toHaveLength(1)
    // The client sends more announces; none is read, none answered, while one waits.
    duplex.push(request)
    duplex.push(request)
    await turn()
    expect(written).toHaveLength(1)
    release()
    await turn()
    expect(written.length).toBeGreaterThan(1)
  })

  it('writes an answer other relays give before reading the next request', async () => {
    let resolveFirst: (b: Uint8Array) => void = () => {}
    const first = new Promise<Uint8Array>((r) => (resolveFirst = r))
    const handed: Buffer[] = []
    const { socket, written, duplex, release } = unreadSocket()
    const fastPath = path([first, Buffer.from('d1:bi2ee')], (_s, rest) => void handed.push(rest))
    // Two pipelined: the first waits on other relays, the second must follow its answer.
    expect(fastPath.serve(socket, Buffer.concat([request, request]))).toBe(true)
    duplex.push(request)
    await turn()
    expect(written).toHaveLength(0)
    expect(handed).toHaveLength(0)
    resolveFirst(Buffer.from('d1:ai1ee'))
    await turn()
    // The second is answered here too, but only once the first's answer drained.
    expect(written).toHaveLength(1)
    release()
    await turn()
    expect(written.map((w) => w.toString('latin1').slice(-8))).toEqual(['d1:ai1ee', 'd1:bi2ee'])
    expect(handed).toEqual([])
  })

  it('answers a read of many pipelined requests, in order, without nesting them all', async () => {
    const { socket, written } = readSocket(1 << 30)
    const n = 5000
    const bodies = Array.from({ length: n }, (_, i) => Buffer.from(`i${i}e`))
    const fastPath = path([...bodies], () => expect.fail('nothing is handed over'))
    expect(fastPath.serve(socket, Buffer.concat(bodies.map(() => request)))).toBe(true)
    await vi.waitFor(() => expect(written).toHaveLength(n))
    expect(written.map((w) => w.toString('latin1').split('\r\n\r\n')[1])).toEqual(
      bodies.map(String),
    )
  })

  it('hands over the rest of a pipelined read only once the answers before it are uncorked', () => {
    const { socket, written } = readSocket()
    // A socket worker sends a socket's handle once its writes are done: a corked answer would
    // never drain, and the connection hang (workers.test.ts met that).
    const atHandOff: { corked: number; pending: number }[] = []
    const fastPath = path([Buffer.from('d1:ai1ee')], (s) =>
      atHandOff.push({ corked: s.writableCorked, pending: s.writableLength }),
    )
    expect(fastPath.serve(socket, Buffer.concat([request, Buffer.from(get('/health'))]))).toBe(true)
    expect(atHandOff).toEqual([{ corked: 0, pending: 0 }])
    expect(written.map((w) => w.toString('latin1').slice(-8))).toEqual(['d1:ai1ee'])
  })

  it('keeps a head a kept connection’s read cuts off, up to its cap, for the next read', async () => {
    const handed: Buffer[] = []
    const { socket, written, duplex, release } = unreadSocket()
    const fastPath = path([], (_s, rest) => void handed.push(rest))
    // A whole request and the first bytes of the next, then the rest of it in a later read.
    expect(fastPath.serve(socket, Buffer.concat([request, request.subarray(0, 9)]))).toBe(true)
    await turn()
    release()
    await turn()
    duplex.push(request.subarray(9))
    await turn()
    release()
    expect(written).toHaveLength(2)
    expect(handed).toEqual([])
    // A cut-off head that never ends goes to the HTTP server with its bytes, once over the cap.
    const endless = Buffer.from(`GET /announce?${'a'.repeat(MAX_FAST_HEAD_BYTES)}`)
    duplex.push(endless.subarray(0, 100))
    await turn()
    expect(handed).toEqual([])
    duplex.push(endless.subarray(100))
    await turn()
    expect(handed).toEqual([endless])
  })

  it('gives a head the next read does not finish to the HTTP server and its headers timeout', async () => {
    const handed: Buffer[] = []
    const { socket, duplex, release } = unreadSocket()
    const fastPath = path([], (_s, rest) => void handed.push(rest))
    expect(fastPath.serve(socket, Buffer.concat([request, request.subarray(0, 5)]))).toBe(true)
    await turn()
    release()
    await turn()
    // A byte at a time, under the idle timeout: kept for one read, not for ever.
    duplex.push(request.subarray(5, 6))
    await turn()
    expect(handed).toEqual([request.subarray(0, 6)])
  })
})
