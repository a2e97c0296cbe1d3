// One address against everyone, on the tracker of a real relay process (issue 20, findings 5
// and 6): a flood of new torrents and peers from one address, then from several; taking over
// a classic peer by its id from another address; WebSockets beyond the budget of an address;
// a WebSocket claiming a live peer id or answering where it is no member. Other source
// addresses are 127.0.0.0/8 aliases. After each attack an honest client from another
// address still announces and gets its peers, and /metrics counts the refusals.

import { randomBytes } from 'node:crypto'
import { Agent, request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { startRelay, type RelayProcess } from './relay-process.ts'
import {
  announcePath,
  compactPeers,
  decodeDict,
  failureReason,
  type AnnounceParams,
} from './tracker-wire.ts'
import { refusalsFor } from './relay-metrics.ts'

const MAX_TORRENTS = 40
const PER_ADDRESS_TORRENTS = 15
const PER_ADDRESS_PEERS = 30
const PER_ADDRESS_WEBSOCKETS = 4

const agents = new Map<string, Agent>()
/** GET `path` from the source address `from`, over a few kept-alive connections. */
function get(relay: RelayProcess, path: string, from: string): Promise<Uint8Array> {
  let agent = agents.get(from)
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: 4, localAddress: from })
    agents.set(from, agent)
  }
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: relay.port, path, agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

const id = () => new Uint8Array(randomBytes(20))
const announce = (relay: RelayProcess, from: string, p: Partial<AnnounceParams> = {}) =>
  get(relay, announcePath({ infoHash: id(), peerId: id(), port: 6881, numwant: 50, ...p }), from)

const refusals = refusalsFor

/** An honest seeder and leecher from two other addresses meet on a new torrent. */
async function honestSwarmWorks(relay: RelayProcess, seeder: string, leecher: string) {
  const infoHash = id()
  const seeded = decodeDict(await announce(relay, seeder, { infoHash, left: 0, port: 7001 }))
  expect(seeded['failure reason']).toBeUndefined()
  const got = decodeDict(await announce(relay, leecher, { infoHash, port: 7002 }))
  expect(got['failure reason']).toBeUndefined()
  expect(compactPeers(got.peers)).toEqual([{ ip: seeder, port: 7001 }])
}

function openWs(relay: RelayProcess, from: string): Promise<WebSocket> {
  const ws = new WebSocket(relay.wsUrl, { localAddress: from })
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (req, res) => {
      req.destroy()
      reject(new Error(`status ${res.statusCode}`))
    })
    ws.once('error', reject)
  })
}

/** Sends `msg` and resolves with the next message the socket receives. */
function ask(ws: WebSocket, msg: Record<string, unknown>): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    ws.once('message', (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>))
    ws.send(JSON.stringify(msg))
  })
}

describe('tracker budgets per address, on a relay process', () => {
  let relay: RelayProcess
  beforeAll(async () => {
    relay = await startRelay({
      args: [
        '--max-torrents',
        String(MAX_TORRENTS),
        '--max-torrents-per-address',
        String(PER_ADDRESS_TORRENTS),
        '--max-peers-per-address',
        String(PER_ADDRESS_PEERS),
        '--max-websockets-per-address',
        String(PER_ADDRESS_WEBSOCKETS),
      ],
    })
  })
  afterAll(async () => {
    for (const agent of agents.values()) agent.destroy()
    await relay?.stop()
  })

  it('holds one address flooding new torrents to its budget; others still announce', async () => {
    const reasons: (string | undefined)[] = []
    for (let i = 0; i < 200; i++) reasons.push(failureReason(await announce(relay, '127.0.0.9')))
    expect(reasons.filter((r) => r === undefined)).toHaveLength(PER_ADDRESS_TORRENTS)
    expect(new Set(reasons.filter(Boolean))).toEqual(
      new Set(['too many new torrents from your address']),
    )
    await honestSwarmWorks(relay, '127.0.0.2', '127.0.0.3')
    expect(await refusals(relay, 'torrents-per-address')).toBe(200 - PER_ADDRESS_TORRENTS)
    // Said once at warn, for that address, not once per refusal.
    const warned = relay.logs.filter(
      (l) => l.msg === 'refused' && l.reason === 'torrents-per-address' && l.level === 'warn',
    )
    expect(warned.map((l) => l.source)).toEqual(['127.0.0.9'])
  })

  it('holds one address to its peers budget, in torrents others created', async () => {
    const infoHash = id()
    await announce(relay, '127.0.0.2', { infoHash, left: 0, port: 7003 })
    // 127.0.0.9 holds one peer per torrent it created already.
    let refused = 0
    for (let i = 0; i < 40; i++) {
      if (failureReason(await announce(relay, '127.0.0.9', { infoHash }))) refused++
    }
    expect(refused).toBe(40 - (PER_ADDRESS_PEERS - PER_ADDRESS_TORRENTS))
    expect(await refusals(relay, 'peers-per-address')).toBe(refused)
    await honestSwarmWorks(relay, '127.0.0.4', '127.0.0.5')
  })

  it('when several addresses fill the tracker, a newcomer still gets a torrent in', async () => {
    // 127.0.0.9 holds 15 torrents and the honest tests 3; two more flooders fill the rest.
    for (const from of ['127.0.0.10', '127.0.0.11']) {
      for (let i = 0; i < PER_ADDRESS_TORRENTS; i++) await announce(relay, from)
    }
    const health = (await (await fetch(`${relay.url}/health`)).json()) as { torrents: number }
    expect(health.torrents).toBe(MAX_TORRENTS)
    await honestSwarmWorks(relay, '127.0.0.6', '127.0.0.7')
    await honestSwarmWorks(relay, '127.0.0.8', '127.0.0.7')
    expect(await refusals(relay, 'tracker-full')).toBeGreaterThanOrEqual(2)
  })

  it('keeps a classic peer from being stopped or moved by its id from another address', async () => {
    const infoHash = id()
    const victim = id()
    await announce(relay, '127.0.0.2', { infoHash, peerId: victim, left: 0, port: 7010 })
    const full = decodeDict(await announce(relay, '127.0.0.66', { infoHash, compact: 0 }))
    for (const peer of full.peers as Record<string, unknown>[])
      expect(peer['peer id']).toBeUndefined()
    await announce(relay, '127.0.0.66', { infoHash, peerId: victim, event: 'stopped' })
    await announce(relay, '127.0.0.66', { infoHash, peerId: victim, port: 1 })
    const got = decodeDict(await announce(relay, '127.0.0.3', { infoHash, port: 7011 }))
    expect(compactPeers(got.peers)).toContainEqual({ ip: '127.0.0.2', port: 7010 })
    expect(got.complete).toBe(1)
  })

  it(`refuses a ${PER_ADDRESS_WEBSOCKETS + 1}th WebSocket from one address, not from another`, async () => {
    const from = '127.0.0.20'
    const held = await Promise.all(
      Array.from({ length: PER_ADDRESS_WEBSOCKETS }, () => openWs(relay, from)),
    )
    await expect(openWs(relay, from)).rejects.toThrow('status 429')
    const other = await openWs(relay, '127.0.0.21')
    expect(await refusals(relay, 'websockets-per-address')).toBe(1)
    // That other address announces a new torrent on its socket, full tracker or not.
    const joined = await ask(other, {
      action: 'announce',
      info_hash: randomBytes(20).toString('latin1'),
      peer_id: randomBytes(20).toString('latin1'),
      numwant: 0,
      left: 0,
    })
    expect(joined).toMatchObject({ action: 'announce', complete: 1, incomplete: 0 })
    expect(joined['failure reason']).toBeUndefined()
    // A closed socket gives its place back (once the relay has seen it close).
    await new Promise((resolve) => {
      held[0].once('close', resolve)
      held[0].close()
    })
    for (let tries = 0; ; tries++) {
      try {
        held[0] = await openWs(relay, from)
        break
      } catch (err) {
        if (tries > 50) throw err
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    for (const ws of [...held, other]) ws.terminate()
  })

  it('binds a peer id to its socket and forwards answers only from members', async () => {
    const infoHash = randomBytes(20).toString('latin1')
    const peerA = randomBytes(20).toString('latin1')
    const a = await openWs(relay, '127.0.0.30')
    const b = await openWs(relay, '127.0.0.31')
    const joined = await ask(a, {
      action: 'announce',
      info_hash: infoHash,
      peer_id: peerA,
      numwant: 0,
    })
    expect(joined['failure reason']).toBeUndefined()
    const claim = await ask(b, {
      action: 'announce',
      info_hash: infoHash,
      peer_id: peerA,
      numwant: 0,
    })
    expect(claim['failure reason']).toBe('peer_id is in use by another connection')
    let toA = 0
    a.on('message', () => toA++)
    const answer = await ask(b, {
      action: 'announce',
      info_hash: infoHash,
      peer_id: randomBytes(20).toString('latin1'),
      to_peer_id: peerA,
      offer_id: randomBytes(20).toString('latin1'),
      answer: { type: 'answer', sdp: 'v=0\r\n' },
    })
    expect(answer['failure reason']).toMatch(/^answer refused/)
    // A still answers scrapes from its own socket, and got nothing from B.
    const scrape = await ask(a, { action: 'scrape', info_hash: infoHash })
    expect(Object.values(scrape.files as object)).toEqual([
      { complete: 0, incomplete: 1, downloaded: 0 },
    ])
    expect(toA).toBe(1)
    expect(await refusals(relay, 'peer-id-taken')).toBe(1)
    expect(await refusals(relay, 'signal-not-member')).toBe(1)
    a.terminate()
    b.terminate()
  })
})
