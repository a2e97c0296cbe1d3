// Hostile input over real sockets against one relay process: every request gets a clear
// refusal, and the relay is still up and answering afterwards.

import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { MAX_OFFERS, MAX_WS_MESSAGE_BYTES } from '../limits.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import {
  announcePath,
  binaryId,
  compactPeers,
  decodeDict,
  failureReason,
  scrapePath,
} from './tracker-wire.ts'

let relay: RelayProcess
beforeAll(async () => {
  relay = await startRelay()
})
afterAll(() => relay?.stop())

/** A WebSocket to the relay's tracker with a queue of the text messages it receives. */
async function openTracker(path = '/') {
  const ws = new WebSocket(relay.wsUrl + path)
  const inbox: Record<string, unknown>[] = []
  const waiters: (() => void)[] = []
  ws.on('message', (data) => {
    inbox.push(JSON.parse(String(data)) as Record<string, unknown>)
    waiters.splice(0).forEach((w) => w())
  })
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  const next = async () => {
    while (inbox.length === 0) await new Promise<void>((resolve) => waiters.push(resolve))
    return inbox.shift()!
  }
  return { ws, next, closed }
}

/** Writes raw bytes on a fresh TCP connection; resolves with all the relay wrote back. */
function rawExchange(bytes: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(relay.port, '127.0.0.1')
    let reply = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => (reply += chunk))
    socket.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNRESET' ? resolve(reply) : reject(err),
    )
    socket.on('close', () => resolve(reply))
    socket.write(bytes)
  })
}

const statusOf = (reply: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1])

async function expectRelayServing() {
  expect(relay.running()).toBe(true)
  const health = await fetch(`${relay.url}/health`)
  expect(health.status).toBe(200)
  expect(await health.json()).toMatchObject({ ok: true })
  const infoHash = binaryId(77)
  await fetch(relay.url + announcePath({ infoHash, peerId: binaryId(1), port: 7001, left: 0 }))
  const res = await fetch(relay.url + announcePath({ infoHash, peerId: binaryId(2), port: 7002 }))
  const body = decodeDict(new Uint8Array(await res.arrayBuffer()))
  expect(compactPeers(body.peers)).toContainEqual({ ip: '127.0.0.1', port: 7001 })
}

describe('hostile WebSocket input', () => {
  it('answers garbage text frames with a failure reason and keeps the socket usable', async () => {
    const t = await openTracker()
    for (const garbage of ['hello', '{"action":', '\u0000\u0001\u0002', '[]', '{"action":"x"}']) {
      t.ws.send(garbage)
      expect((await t.next())['failure reason']).toBeTypeOf('string')
    }
    t.ws.send(JSON.stringify({ action: 'scrape', info_hash: 'a'.repeat(20) }))
    expect(await t.next()).toEqual({
      action: 'scrape',
      files: { ['a'.repeat(20)]: { complete: 0, incomplete: 0, downloaded: 0 } },
    })
    t.ws.close()
  })

  it('refuses binary frames', async () => {
    const t = await openTracker('/announce')
    t.ws.send(randomBytes(64))
    expect(await t.next()).toEqual({ 'failure reason': 'binary frames are not supported' })
    t.ws.close()
  })

  it(`closes with 1009 a message over ${MAX_WS_MESSAGE_BYTES} bytes (a 1 MB SDP)`, async () => {
    const t = await openTracker()
    const sdp = 'a'.repeat(1 << 20)
    t.ws.send(
      JSON.stringify({
        action: 'announce',
        info_hash: 'a'.repeat(20),
        peer_id: 'b'.repeat(20),
        offers: [{ offer: { type: 'offer', sdp }, offer_id: 'c'.repeat(20) }],
      }),
    )
    expect(await t.closed).toBe(1009)
  })

  it('refuses 1,000 offers in one announce', async () => {
    const t = await openTracker()
    const offers = Array.from({ length: 1000 }, (_, i) => ({
      offer: { type: 'offer', sdp: 'v=0' },
      offer_id: String(i).padStart(20, '0'),
    }))
    const msg = JSON.stringify({
      action: 'announce',
      info_hash: 'a'.repeat(20),
      peer_id: 'b'.repeat(20),
      offers,
    })
    expect(msg.length).toBeLessThan(MAX_WS_MESSAGE_BYTES)
    t.ws.send(msg)
    expect((await t.next())['failure reason']).toBe(`too many offers: at most ${MAX_OFFERS}`)
    t.ws.close()
  })

  it('drops a connection that sends bytes which are not WebSocket frames', async () => {
    const key = randomBytes(16).toString('base64')
    const handshake =
      `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
    // An unmasked frame with a reserved opcode, then noise: a protocol error (RFC 6455 §5.1).
    const garbage = Buffer.concat([Buffer.from([0x83, 0x05]), randomBytes(4096)])
    const reply = await rawExchange(Buffer.concat([Buffer.from(handshake), garbage]))
    expect(statusOf(reply)).toBe(101)
    // The relay answers with a close frame, status 1002 (protocol error), and hangs up.
    const frame = Buffer.from(reply.slice(reply.indexOf('\r\n\r\n') + 4), 'latin1')
    expect(frame[0]).toBe(0x88)
    expect(frame.readUInt16BE(2)).toBe(1002)
  })

  it('refuses a WebSocket upgrade on any other path', async () => {
    const key = randomBytes(16).toString('base64')
    const reply = await rawExchange(
      `GET /admin HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    )
    expect(statusOf(reply)).toBe(404)
  })
})

describe('hostile HTTP input', () => {
  it('answers a 10 KB announce URL with a bencoded failure reason', async () => {
    const path = announcePath({
      infoHash: binaryId(1),
      peerId: binaryId(2),
      extra: `pad=${'x'.repeat(10_000)}`,
    })
    const res = await fetch(relay.url + path)
    expect(failureReason(new Uint8Array(await res.arrayBuffer()))).toBe('request too long')
  })

  it('refuses a request line or header block over the size limit with 4xx', async () => {
    const longUrl = await fetch(`${relay.url}/announce?pad=${'x'.repeat(20_000)}`)
    expect([400, 414, 431]).toContain(longUrl.status)
    const bigHeader = await fetch(`${relay.url}/health`, {
      headers: { 'X-Junk': 'y'.repeat(40_000) },
    })
    expect([400, 431]).toContain(bigHeader.status)
    // About 70 KB: four times the 16 KB header limit, yet all of it fits in loopback's socket
    // buffers. Ten times more once could not be written whole before the relay answered and
    // closed, and fetch failed on EPIPE instead of reading the 4xx.
    const scrape = await fetch(
      relay.url + scrapePath(Array.from({ length: 1_000 }, (_, i) => binaryId(i))),
    )
    expect([400, 414, 431]).toContain(scrape.status)
  })

  it('answers bytes that are not HTTP with 400', async () => {
    const reply = await rawExchange(Buffer.concat([randomBytes(512), Buffer.from('\r\n\r\n')]))
    expect(statusOf(reply)).toBe(400)
  })
})

describe('after all of that', () => {
  it('the relay is still up, answering health checks and announces', async () => {
    await expectRelayServing()
  })
})
