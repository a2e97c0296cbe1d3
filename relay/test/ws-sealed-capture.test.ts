// What an observer on the wire sees of WebSocket tracker signalling on a plain-HTTP relay
// (ARCHITECTURE.md, "Transport and encryption"): tcpdump on the loopback interface records
// two browsers' sockets (the app's sealing WebSocket, `ws` underneath) trading an offer and
// an answer through the relay; neither SDP's canary fingerprint nor its candidate line may
// appear in any TCP stream. Control, so the test can fail: the same exchange over plain
// sockets, in the same kind of capture, shows both.
//
// tcpdump needs root or CAP_NET_RAW (CI runs as root). Loopback only.

import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WebSocket } from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sealingWebSocket } from '../../app/lib/sealed-websocket.ts'
import { TCPDUMP, captureLoopback } from './capture-pcap.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'

const dir = mkdtempSync(join(tmpdir(), 'monsoon-ws-capture-'))
let relay: RelayProcess
beforeAll(async () => {
  relay = await startRelay()
})
afterAll(async () => {
  await relay?.stop()
  rmSync(dir, { recursive: true, force: true })
})

if (!TCPDUMP) console.warn('capture tests skipped: tcpdump is missing (apt-get install tcpdump)')

const Native = WebSocket as unknown as typeof globalThis.WebSocket
const bin = () => randomBytes(20).toString('latin1')

/** A tracker socket, open, with its messages as parsed JSON. */
async function socket(Socket: typeof globalThis.WebSocket) {
  const ws = new Socket(relay.wsUrl)
  const inbox: Record<string, unknown>[] = []
  let wake = () => {}
  ws.onmessage = (ev) => {
    inbox.push(JSON.parse(String(ev.data)) as Record<string, unknown>)
    wake()
  }
  await new Promise((resolve, reject) => {
    ws.onopen = resolve
    ws.onerror = () => reject(new Error('socket failed'))
  })
  const next = async (key: string) => {
    for (;;) {
      const found = inbox.findIndex((m) => m[key] !== undefined)
      if (found >= 0) return inbox.splice(found, 1)[0]
      await new Promise<void>((resolve) => (wake = resolve))
    }
  }
  return { ws, next, send: (m: unknown) => ws.send(JSON.stringify(m)) }
}

/** A offers to B through the relay, B answers; both SDPs carry `canary`. */
async function exchange(Socket: typeof globalThis.WebSocket, canary: string) {
  const infoHash = bin()
  const [idA, idB] = [bin(), bin()]
  const sdp = (role: string) =>
    `v=0\r\na=fingerprint:sha-256 ${canary}:${role}\r\n` +
    `a=candidate:1 1 udp 2122260223 127.0.0.${role === 'offer' ? 2 : 3} 50000 typ host\r\n`
  const a = await socket(Socket)
  const b = await socket(Socket)
  try {
    b.send({ action: 'announce', info_hash: infoHash, peer_id: idB, numwant: 0, left: 0 })
    await b.next('interval')
    const offerId = bin()
    a.send({
      action: 'announce',
      info_hash: infoHash,
      peer_id: idA,
      numwant: 1,
      offers: [{ offer: { type: 'offer', sdp: sdp('offer') }, offer_id: offerId }],
    })
    const offer = await b.next('offer')
    expect((offer.offer as { sdp: string }).sdp).toContain(canary)
    b.send({
      action: 'announce',
      info_hash: infoHash,
      peer_id: idB,
      to_peer_id: idA,
      offer_id: offerId,
      answer: { type: 'answer', sdp: sdp('answer') },
    })
    const answer = await a.next('answer')
    expect((answer.answer as { sdp: string }).sdp).toContain(canary)
  } finally {
    a.ws.close()
    b.ws.close()
  }
}

describe.skipIf(!TCPDUMP)('a capture of WebSocket signalling on plain HTTP', () => {
  it('shows no SDP of sealed sockets; plain sockets show it (control)', async () => {
    const sealedCanary = `SEALED${randomBytes(6).toString('hex')}`
    const sealed = await captureLoopback(join(dir, 'sealed.pcap'), [relay.port])
    await exchange(sealingWebSocket(Native), sealedCanary)
    const sealedStreams = await sealed.stop()
    const all = Buffer.concat(sealedStreams)
    expect(all.includes('monsoon-sealed.1')).toBe(true)
    for (const needle of [sealedCanary, 'a=candidate', 'a=fingerprint', '"offer"', 'sdp']) {
      expect([needle, all.includes(needle)]).toEqual([needle, false])
    }

    const clearCanary = `CLEAR${randomBytes(6).toString('hex')}`
    const clear = await captureLoopback(join(dir, 'clear.pcap'), [relay.port])
    await exchange(Native, clearCanary)
    const clearAll = Buffer.concat(await clear.stop())
    expect(clearAll.includes(clearCanary)).toBe(true)
    expect(clearAll.includes('a=candidate')).toBe(true)
  })
})
