// Sealed tracker signalling against the real relay process (ARCHITECTURE.md, "Transport and
// encryption"): the app's sealing WebSocket (app/lib/sealed-websocket.ts, over `ws` here as a
// browser's WebSocket) and the stock bittorrent-tracker client, which asks for no
// subprotocol, trade a real WebRTC offer and answer through one relay and connect. Every
// frame the sealed client's socket carries is recorded off the wire: none is JSON or holds
// SDP. Control, so the test can fail: the same recorder on a plain socket does see the SDP.

import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import Client, { type TrackerPeer } from 'bittorrent-tracker'
import { RTCPeerConnection } from 'webrtc-polyfill'
import { WebSocket, type ClientOptions, type RawData } from 'ws'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { createIdentity } from '../../shared/identity.ts'
import { ephemeralSession } from '../../shared/sealed/envelope.ts'
import { SEALED_WS_PROTOCOL, SealedStream } from '../../shared/sealed/stream.ts'
import { RelayIds, sealingWebSocket } from '../../app/lib/sealed-websocket.ts'
import { LOOPBACK_RTC_CONFIG } from './loopback-rtc.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { trackerClient } from './tracker-client.ts'

let relay: RelayProcess
beforeAll(async () => {
  relay = await startRelay()
})
afterAll(() => relay?.stop())

const WEBRTC_TEST = { timeout: 90_000, retry: 2 }
const random = (n: number) => new Uint8Array(randomBytes(n))
const bin = (hex: string) => Buffer.from(hex, 'hex').toString('latin1')
const freshWsUrl = () => `${relay.wsUrl}/?attempt=${randomBytes(4).toString('hex')}`

interface Frame {
  way: 'in' | 'out'
  binary: boolean
  bytes: Buffer
}

/** `ws`'s WebSocket, recording every frame it sends and receives as it crosses the wire. */
function recordingWebSocket(frames: Frame[]): typeof globalThis.WebSocket {
  const Recording = class extends WebSocket {
    constructor(url: string, protocols?: string | string[], options?: ClientOptions) {
      super(url, protocols, options)
      this.on('message', (data: RawData, binary: boolean) => {
        frames.push({ way: 'in', binary, bytes: Buffer.from(data as Buffer) })
      })
    }

    override send(data: unknown, ...rest: unknown[]): void {
      const binary = typeof data !== 'string'
      frames.push({ way: 'out', binary, bytes: Buffer.from(data as string) })
      ;(super.send as (...args: unknown[]) => void)(data, ...rest)
    }
  }
  return Recording as unknown as typeof globalThis.WebSocket
}

/** A tracker socket as the app opens one (`new WebSocket(url)`), its messages parsed. */
async function trackerSocket(Socket: typeof globalThis.WebSocket, url: string) {
  const ws = new Socket(url)
  const inbox: Record<string, unknown>[] = []
  const waiters: (() => void)[] = []
  ws.onmessage = (ev) => {
    inbox.push(JSON.parse(ev.data as string) as Record<string, unknown>)
    for (const wake of waiters.splice(0)) wake()
  }
  await new Promise((resolve, reject) => {
    ws.onopen = resolve
    ws.onerror = () => reject(new Error('tracker socket failed'))
  })
  /** The first message received (or still to come) that `match` accepts. */
  const next = async (match: (m: Record<string, unknown>) => boolean) => {
    for (;;) {
      const found = inbox.findIndex(match)
      if (found >= 0) return inbox.splice(found, 1)[0]
      await new Promise<void>((resolve) => waiters.push(resolve))
    }
  }
  const send = (m: Record<string, unknown>) => ws.send(JSON.stringify(m))
  return { ws, next, send }
}

/** A local description with every candidate in it (trickle off, as WebTorrent sends). */
async function gathered(pc: RTCPeerConnection): Promise<string> {
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => {
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') resolve()
      })
    })
  }
  return pc.localDescription!.sdp
}

function connectedPeer(client: Client): Promise<TrackerPeer> {
  return new Promise((resolve) => {
    client.on('peer', (peer: TrackerPeer) => {
      // Ours closing at the end of a test errors the peer's channel: not a failure.
      peer.on('error', () => {})
      peer.once('connect', () => resolve(peer))
    })
  })
}

/** Text of a frame as an observer would search it. */
const visible = (f: Frame) => f.bytes.toString('latin1')

function looksLikeJson(f: Frame): boolean {
  try {
    JSON.parse(f.bytes.toString('utf8'))
    return true
  } catch {
    return false
  }
}

describe('sealed signalling with the stock client on one relay', () => {
  it(
    'a sealed client answers the stock client’s offer, they connect, and no SDP crosses the wire',
    WEBRTC_TEST,
    async () => {
      const infoHash = randomBytes(20).toString('hex')
      const peerId = randomBytes(20).toString('hex')
      const frames: Frame[] = []
      const Sealing = sealingWebSocket(recordingWebSocket(frames))
      const sealed = await trackerSocket(Sealing, freshWsUrl())
      const pc = new RTCPeerConnection(LOOPBACK_RTC_CONFIG)
      const stock = trackerClient(freshWsUrl(), infoHash)
      onTestFinished(() => {
        sealed.ws.close()
        stock.client.destroy()
        pc.close()
      })

      sealed.send({
        action: 'announce',
        info_hash: bin(infoHash),
        peer_id: bin(peerId),
        numwant: 0,
        left: 0,
        event: 'started',
        offers: [],
      })
      expect(await sealed.next((m) => m.interval !== undefined)).toMatchObject({ complete: 1 })

      const atStock = connectedPeer(stock.client)
      // One offer, not five: each is a WebRTC connection gathering candidates on a busy box.
      stock.client.start({ numwant: 1 } as { left?: number })
      const offer = await sealed.next((m) => m.offer !== undefined)
      expect(offer.peer_id).toBe(bin(stock.peerId))
      const offerSdp = (offer.offer as { sdp: string }).sdp
      expect(offerSdp).toContain('a=candidate')

      const channel = new Promise<RTCDataChannel>((resolve) => {
        pc.ondatachannel = (ev) => resolve(ev.channel)
      })
      await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp })
      await pc.setLocalDescription(await pc.createAnswer())
      const answerSdp = await gathered(pc)
      sealed.send({
        action: 'announce',
        info_hash: bin(infoHash),
        peer_id: bin(peerId),
        to_peer_id: offer.peer_id,
        offer_id: offer.offer_id,
        answer: { type: 'answer', sdp: answerSdp },
      })

      const peer = await atStock
      expect(peer.id).toBe(peerId)
      const dc = await channel
      dc.addEventListener('error', () => {})
      const got = new Promise<string>((resolve) => {
        dc.onmessage = (ev) => resolve(String(ev.data))
      })
      peer.send('hello over a sealed rendezvous')
      expect(await got).toBe('hello over a sealed rendezvous')
      expect(stock.warnings).toEqual([])

      // The wire: the sealed socket's every frame is binary, none is JSON, none shows SDP
      // (the offer it received, the answer it sent) or the ids.
      expect(frames.filter((f) => f.way === 'out').length).toBeGreaterThanOrEqual(2)
      expect(frames.filter((f) => f.way === 'in').length).toBeGreaterThanOrEqual(2)
      for (const f of frames) {
        expect(f.binary).toBe(true)
        expect(looksLikeJson(f)).toBe(false)
        for (const secret of ['sdp', 'a=candidate', 'fingerprint', 'offer', 'answer']) {
          expect(visible(f)).not.toContain(secret)
        }
        expect(visible(f)).not.toContain(bin(infoHash))
        expect(visible(f)).not.toContain(bin(stock.peerId))
      }
    },
  )

  it(
    'the stock client answers a sealed client’s offer, and they connect',
    WEBRTC_TEST,
    async () => {
      const infoHash = randomBytes(20).toString('hex')
      const peerId = randomBytes(20).toString('hex')
      const stock = trackerClient(freshWsUrl(), infoHash)
      const sealed = await trackerSocket(
        sealingWebSocket(WebSocket as unknown as typeof globalThis.WebSocket),
        freshWsUrl(),
      )
      const pc = new RTCPeerConnection(LOOPBACK_RTC_CONFIG)
      onTestFinished(() => {
        sealed.ws.close()
        stock.client.destroy()
        pc.close()
      })
      const announced = once(stock.client, 'update')
      stock.client.start({ left: 0, numwant: 1 } as { left?: number })
      await announced

      const dc = pc.createDataChannel('webtorrent')
      // Closing the connection at the end aborts the channel: not a failure of the test.
      dc.addEventListener('error', () => {})
      const opened = once(dc as unknown as EventTarget, 'open')
      await pc.setLocalDescription(await pc.createOffer())
      const offerId = randomBytes(20).toString('latin1')
      const atStock = connectedPeer(stock.client)
      sealed.send({
        action: 'announce',
        info_hash: bin(infoHash),
        peer_id: bin(peerId),
        numwant: 1,
        left: 100,
        event: 'started',
        offers: [{ offer: { type: 'offer', sdp: await gathered(pc) }, offer_id: offerId }],
      })
      const answer = await sealed.next((m) => m.answer !== undefined)
      expect(answer).toMatchObject({ offer_id: offerId, peer_id: bin(stock.peerId) })
      await pc.setRemoteDescription(answer.answer as RTCSessionDescriptionInit)
      const peer = await atStock
      expect(peer.id).toBe(peerId)
      await opened
      const got = new Promise<string>((resolve) =>
        peer.once('data', (d: Uint8Array) => resolve(new TextDecoder().decode(d))),
      )
      dc.send('hello stock client')
      expect(await got).toBe('hello stock client')
    },
  )

  it('control: the same recorder on a plain socket sees the SDP in clear', async () => {
    const infoHash = randomBytes(20).toString('hex')
    const frames: Frame[] = []
    const Plain = recordingWebSocket(frames)
    const a = await trackerSocket(Plain, freshWsUrl())
    const b = await trackerSocket(Plain, freshWsUrl())
    onTestFinished(() => {
      a.ws.close()
      b.ws.close()
    })
    const sdp = 'v=0\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n'
    a.send({ action: 'announce', info_hash: bin(infoHash), peer_id: bin('aa'.repeat(20)) })
    await a.next((m) => m.interval !== undefined)
    b.send({
      action: 'announce',
      info_hash: bin(infoHash),
      peer_id: bin('bb'.repeat(20)),
      numwant: 1,
      offers: [{ offer: { type: 'offer', sdp }, offer_id: 'o'.repeat(20) }],
    })
    await a.next((m) => m.offer !== undefined)
    expect(frames.some((f) => f.way === 'in' && visible(f).includes('a=candidate'))).toBe(true)
    expect(frames.every((f) => !f.binary && looksLikeJson(f))).toBe(true)
  })
})

describe('sealed sockets the relay refuses', () => {
  /** A raw socket speaking the sealed subprotocol; resolves with how the relay closed it. */
  async function rawSealed(send: (ws: WebSocket, id: string) => void) {
    const { id } = (await (await fetch(`${relay.url}/v1/hello`)).json()) as { id: string }
    const ws = new WebSocket(relay.wsUrl, SEALED_WS_PROTOCOL)
    await once(ws, 'open')
    expect(ws.protocol).toBe(SEALED_WS_PROTOCOL)
    const closed = once(ws, 'close') as Promise<[number, Buffer]>
    send(ws, id)
    const [code, reason] = await closed
    return { code, reason: reason.toString() }
  }

  const opening = (id: string) =>
    SealedStream.open(
      ephemeralSession(id, random),
      Buffer.from('{"action":"scrape","info_hash":"' + 'x'.repeat(20) + '"}'),
      Math.floor(Date.now() / 1000),
      random,
    )

  it('closes on a text frame, on garbage, on a tampered frame, and stays up', async () => {
    expect(await rawSealed((ws) => ws.send('{"action":"announce"}'))).toEqual({
      code: 1008,
      reason: 'sealed: malformed',
    })
    expect((await rawSealed((ws) => ws.send(random(500)))).code).toBe(1008)
    const tampered = await rawSealed((ws, id) => {
      const { frame } = opening(id)
      frame[frame.length - 3] ^= 1
      ws.send(frame)
    })
    expect(tampered).toEqual({ code: 1008, reason: 'sealed: unauthentic' })
    expect((await fetch(`${relay.url}/health`)).status).toBe(200)
  })

  it('closes a socket that replays another socket’s opening', async () => {
    const { id } = (await (await fetch(`${relay.url}/v1/hello`)).json()) as { id: string }
    const { frame, stream } = opening(id)
    const first = new WebSocket(relay.wsUrl, SEALED_WS_PROTOCOL)
    await once(first, 'open')
    const answered = once(first, 'message') as Promise<[Buffer, boolean]>
    first.send(frame)
    const [answer, binary] = await answered
    expect(binary).toBe(true)
    const scrape = JSON.parse(Buffer.from(stream.open(answer).plaintext).toString()) as unknown
    expect(scrape).toMatchObject({ action: 'scrape' })
    first.close()
    expect(await rawSealed((ws) => ws.send(frame))).toEqual({
      code: 1008,
      reason: 'sealed: replayed',
    })
  })

  it('tells a client that sealed to another node id to ask again (4421)', async () => {
    const other = createIdentity()
    expect(await rawSealed((ws) => ws.send(opening(other.id).frame))).toEqual({
      code: 4421,
      reason: 'sealed: wrong-receiver',
    })
  })

  it('passes a socket to a server with no node id through in clear', async () => {
    const ids = new RelayIds(async () => new Response('not a relay', { status: 404 }))
    const Sealing = sealingWebSocket(WebSocket as unknown as typeof globalThis.WebSocket, {
      relayIds: ids,
    })
    const plain = await trackerSocket(Sealing, freshWsUrl())
    onTestFinished(() => plain.ws.close())
    plain.send({ action: 'scrape', info_hash: 'x'.repeat(20) })
    expect(await plain.next((m) => m.action === 'scrape')).toMatchObject({ files: {} })
  })
})
