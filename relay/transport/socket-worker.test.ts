// A socket worker on real sockets, in this process: its primary is a fake channel that
// answers asks through a real TrackerFastPath (as socket-workers.ts does) or not at all.

import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { LISTEN_BACKLOG } from '../limits.ts'
import { createLogger } from '../log.ts'
import {
  MAX_PENDING_ASKS,
  SocketWorker,
  keepBacklog,
  type ForwardedRefusal,
  type PrimaryChannel,
  type SocketWorkerSettings,
} from './socket-worker.ts'
import { TrackerFastPath } from './tracker-fast-path.ts'
import {
  FrameReader,
  decodeAsks,
  encodeReplies,
  type ReplyOutcome,
  type TrackerReply,
} from './worker-wire.ts'

const SETTINGS: SocketWorkerSettings = {
  keepAliveTimeoutMs: 5000,
  sniffTimeoutMs: 10_000,
  maxConnectionsPerAddress: 100,
  maxConnections: 1000,
  logLevel: 'silent',
}

const peerId = (n: number) => String(n).padStart(20, '0')
/** The peer the fake primary answers 429. */
const TOO_MANY = 99_999_999
const announce = (n: number, connection = 'close') =>
  `GET /announce?info_hash=${'%01'.repeat(20)}&peer_id=${peerId(n)}&port=6881 ` +
  `HTTP/1.1\r\nHost: relay\r\nConnection: ${connection}\r\n\r\n`

interface Fake {
  worker: SocketWorker
  port: number
  asked: { remoteAddress: string; url: string }[]
  handedOff: { socket: Socket; bytes: Buffer }[]
  refusals: ForwardedRefusal[]
  /** Answers every ask held back so far. */
  release(): void
}

const servers: Server[] = []
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
})

/** A worker on a fresh server; `answering: false` holds every ask until release(). */
async function start(
  settings: Partial<SocketWorkerSettings> = {},
  answering = true,
  outcome: ReplyOutcome = 'answered',
) {
  const server = createServer()
  servers.push(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const fake = { asked: [], handedOff: [], refusals: [] } as unknown as Fake
  const fastPath = new TrackerFastPath({
    // The tracker's body: the request's target; 429 for peer TOO_MANY.
    front: {
      answer: (req) =>
        req.url.includes(`peer_id=${peerId(TOO_MANY)}`)
          ? null
          : Buffer.from(`d3:url${req.url.length}:${req.url}e`),
    },
    handOff: () => {},
    keepAliveTimeoutMs: SETTINGS.keepAliveTimeoutMs,
    now: () => 0,
  })
  const reader = new FrameReader()
  let held: Buffer[] = []
  const answer = (frame: Buffer) => {
    const replies: TrackerReply[] = []
    for (const batch of reader.push(frame)) {
      for (const ask of decodeAsks(batch)) {
        const url = Buffer.from(ask.bytes).toString('latin1').split(' ')[1]
        fake.asked.push({ remoteAddress: ask.remoteAddress, url })
        if (outcome !== 'answered') {
          replies.push({ id: ask.id, outcome, keepAlive: false, response: new Uint8Array() })
          continue
        }
        const a = fastPath.answer(ask.bytes, ask.remoteAddress)!
        replies.push({
          id: ask.id,
          outcome: 'answered',
          keepAlive: a.keepAlive,
          response: a.response as Uint8Array,
        })
      }
    }
    const out = encodeReplies(replies)
    setImmediate(() => fake.worker.onReplies(out.subarray(4)))
  }
  const channel: PrimaryChannel = {
    send(message, socket, sent) {
      if (message.kind === 'handOff') fake.handedOff.push({ socket: socket!, bytes: message.bytes })
      if (message.kind === 'refused') fake.refusals.push(...message.refusals)
      sent?.()
    },
    ask(frame) {
      if (answering) answer(frame)
      else held.push(frame)
    },
  }
  fake.release = () => {
    for (const frame of held) answer(frame)
    held = []
  }
  fake.worker = new SocketWorker(
    server,
    { ...SETTINGS, ...settings },
    channel,
    createLogger('silent'),
  )
  fake.port = (server.address() as AddressInfo).port
  return fake
}

/** Writes `request` on a new connection; resolves with all that came back before it closed. */
function exchange(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request))
    let reply = ''
    socket.setEncoding('latin1')
    socket.on('data', (c: string) => (reply += c))
    socket.on('error', () => {})
    socket.on('close', () => resolve(reply))
  })
}

/** A connection kept after one announce answered; `reply()` is all it got so far. */
async function keptConnection(port: number) {
  const socket = connect(port, '127.0.0.1')
  let data = ''
  socket.setEncoding('latin1').on('data', (c: string) => (data += c))
  socket.write(announce(1, 'keep-alive'))
  await until(() => data.includes('d3:url'))
  return { socket, reply: () => data }
}

const until = async (check: () => boolean) => {
  while (!check()) await new Promise((r) => setTimeout(r, 5))
}

describe('SocketWorker', () => {
  it('answers whole tracker requests with the primary answer, and closes', async () => {
    const fake = await start()
    const replies = await Promise.all([1, 2, 3].map((n) => exchange(fake.port, announce(n))))
    for (const [i, reply] of replies.entries()) {
      expect(reply).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
      expect(reply).toContain('Connection: close\r\n')
      expect(reply).toContain(`peer_id=${peerId(i + 1)}`)
    }
    expect(fake.asked.map((a) => a.remoteAddress)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1'])
    expect(fake.handedOff).toEqual([])
    await until(() => fake.worker.connections === 0)
  })

  it('keeps a kept connection, and closes it after a 429 whatever the client asked', async () => {
    const fake = await start()
    const { socket, reply } = await keptConnection(fake.port)
    expect(reply()).toContain('Connection: keep-alive\r\n')
    socket.write(announce(TOO_MANY, 'keep-alive'))
    await once(socket, 'close')
    expect(reply()).toContain('HTTP/1.1 429 Too Many Requests')
    expect(fake.asked).toHaveLength(2)
  })

  it('hands the primary every other connection, with the bytes it read', async () => {
    const fake = await start()
    const requests = [
      'GET / HTTP/1.1\r\nHost: relay\r\n\r\n',
      'GET /announce?info_hash=x HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\n\r\n',
      'GET /announce?info_hash=x HTTP/1.1\r\nHost: relay\r\nX-Monsoon-Announce: a\r\n\r\n',
      'GET /announce?info_hash=',
      '\x16\x03\x01\x00\x05hello',
    ]
    const sockets = requests.map((r) => {
      const s = connect(fake.port, '127.0.0.1', () => s.write(r))
      s.on('error', () => {})
      return s
    })
    await until(() => fake.handedOff.length === requests.length)
    expect(fake.handedOff.map((h) => h.bytes.toString('latin1')).sort()).toEqual(
      [...requests].sort(),
    )
    expect(fake.asked).toEqual([])
    await until(() => fake.worker.connections === 0)
    sockets.forEach((s) => s.destroy())
  })

  it('hands over a kept connection that asks for something else, after its answer', async () => {
    const fake = await start()
    const { socket } = await keptConnection(fake.port)
    socket.write('GET /health HTTP/1.1\r\nHost: relay\r\n\r\n')
    await until(() => fake.handedOff.length === 1)
    expect(fake.handedOff[0].bytes.toString('latin1')).toBe(
      'GET /health HTTP/1.1\r\nHost: relay\r\n\r\n',
    )
    socket.destroy()
  })

  it('closes connections over the per-address cap at accept, and says so to the primary', async () => {
    const fake = await start({ maxConnectionsPerAddress: 2 })
    const sockets = Array.from({ length: 5 }, () =>
      connect(fake.port, '127.0.0.1').on('error', () => {}),
    )
    const closed = Promise.all(sockets.slice(2).map((s) => once(s, 'close')))
    await closed
    await until(() => fake.refusals.length === 3)
    expect(fake.refusals.map(([reason, source]) => [reason, source])).toEqual(
      Array(3).fill(['connections-per-address', '127.0.0.1']),
    )
    expect(fake.worker.connections).toBe(2)
    sockets.forEach((s) => s.destroy())
  })

  it('closes a connection that sends nothing (slow loris) after the sniff timeout', async () => {
    const fake = await start({ sniffTimeoutMs: 20 })
    const socket = connect(fake.port, '127.0.0.1')
    await once(socket, 'close')
    expect(fake.handedOff).toEqual([])
    await until(() => fake.worker.connections === 0)
  })

  it('hands a request the primary declined to the primary, with its bytes', async () => {
    const fake = await start({}, true, 'declined')
    const request = announce(1)
    const socket = connect(fake.port, '127.0.0.1', () => socket.write(request))
    socket.on('error', () => {})
    await until(() => fake.handedOff.length === 1)
    expect(fake.handedOff[0].bytes.toString('latin1')).toBe(request)
    fake.handedOff[0].socket.destroy()
    socket.destroy()
  })

  it('closes a connection whose answer the primary failed to make', async () => {
    const fake = await start({}, true, 'failed')
    expect(await exchange(fake.port, announce(1))).toBe('')
    expect(fake.handedOff).toEqual([])
    await until(() => fake.worker.connections === 0)
  })

  it(`answers 503 past ${MAX_PENDING_ASKS} unanswered asks, and still answers the rest later`, async () => {
    const fake = await start({ maxConnectionsPerAddress: 4096, maxConnections: 4096 }, false)
    const first = Array.from({ length: MAX_PENDING_ASKS }, (_, n) =>
      exchange(fake.port, announce(n)),
    )
    await until(() => fake.worker.pending === MAX_PENDING_ASKS)
    const shed = await exchange(fake.port, announce(99_999))
    expect(shed).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/)
    await until(() => fake.refusals.length === 1)
    expect(fake.refusals[0][0]).toBe('socket-worker-busy')
    fake.release()
    const replies = await Promise.all(first)
    expect(replies.every((r) => r.startsWith('HTTP/1.1 200 OK'))).toBe(true)
    expect(fake.worker.pending).toBe(0)
  }, 60_000)
})

describe('keepBacklog', () => {
  it(`listens again with LISTEN_BACKLOG (${LISTEN_BACKLOG}), not node's 511`, async () => {
    const server = createServer()
    servers.push(server)
    server.listen({ port: 0, host: '127.0.0.1', backlog: 511 })
    await once(server, 'listening')
    const handle = (server as unknown as { _handle: { listen(backlog: number): number } })._handle
    const listen = vi.spyOn(handle, 'listen')
    keepBacklog(server)
    expect(listen).toHaveBeenCalledWith(LISTEN_BACKLOG)
    expect(listen).toHaveReturnedWith(0)
    // Still listening.
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1')
    await once(socket, 'connect')
    socket.destroy()
  })
})
