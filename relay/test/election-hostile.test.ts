// Hostile relay-to-relay input on a real relay process (127.0.0.1): forged or tampered
// promotions and handoffs (from strangers, and from supernodes no one admitted), replays,
// oversized and malformed bodies, and proxied announces with a bad X-Monsoon-Announce header
// (bad MAC, unknown sender, stale, another target). Each gets a clear 4xx (or a bencoded
// failure reason on the tracker) and changes nothing; the real thing from an admitted
// supernode works.

import { createHmac } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pairKey } from '../../shared/pair-key.ts'
import { signNodeMessage } from '../supernode/node-message.ts'
import { RecordSigner } from '../supernode/test-support.ts'
import { getJson, removeTempDirs, waitFor } from './catalog-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { nodeIdOf } from './supernode-helpers.ts'
import { announcePath, compactPeers, decodeDict, failureReason } from './tracker-wire.ts'

let relay: RelayProcess
let relayId: string
/** A supernode the relay knows (its record pushed; its URL is never contacted). */
const known = new RecordSigner()
const stranger = new RecordSigner()
const HASH = 'ab'.repeat(20)
const now = () => Math.floor(Date.now() / 1000)

/** A self-declared supernode: its record pushed to the relay, admitted by no one. */
const selfDeclared = new RecordSigner()
let knownRelay: Server

beforeAll(async () => {
  // `known` is the relay's --peer and the network's root (shared/admission.ts), so it is an
  // admitted supernode; its URL serves only what the exchange reads.
  knownRelay = createServer((req, res) => {
    const at = Math.floor(Date.now() / 1000)
    const record = known.record({ seq: at, ts: at, url: knownUrl })
    const body = req.url === '/v1/hello' ? record : { supernodes: [record], roots: [known.id] }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => knownRelay.listen(0, '127.0.0.1', resolve))
  const knownUrl = `http://127.0.0.1:${(knownRelay.address() as AddressInfo).port}`
  relay = await startRelay({
    args: ['--role', 'candidate', '--peer', knownUrl, '--local-network'],
  })
  relayId = await nodeIdOf(relay)
  await waitFor('the relay taking its peer as root', async () => {
    const { body } = await getJson(`${relay.url}/v1/supernodes`)
    return (body.roots as string[]).includes(known.id)
  })
  const at = Math.floor(Date.now() / 1000)
  const pushed = selfDeclared.record({ seq: at, ts: at, url: 'https://self-declared.example' })
  const res = await fetch(`${relay.url}/v1/supernodes`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(pushed),
  })
  expect(res.status).toBe(200)
}, 60_000)

afterAll(async () => {
  await relay.stop()
  knownRelay.close()
  removeTempDirs()
})

async function post(path: string, body: unknown) {
  const res = await fetch(`${relay.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as { error?: string; code?: string } }
}

const handoff = (from: RecordSigner, swarms: unknown, to = relayId) =>
  signNodeMessage(from, 'handoff', to, { swarms })
const swarm = (peers: unknown[]) => [{ infoHash: HASH, downloaded: 3, peers }]
const peer = { id: 'cd'.repeat(20), ip: '10.1.2.3', port: 6881, seeder: true }

describe('hostile relay-to-relay input', () => {
  it('refuses forged, tampered, misaddressed and malformed promotions; the candidate stays one', async () => {
    const cases: [unknown, number, string][] = [
      ['not json', 400, 'malformed'],
      [signNodeMessage(stranger, 'promotion', relayId, {}), 403, 'unknown-sender'],
      [signNodeMessage(known, 'promotion', known.id, {}), 400, 'wrong-receiver'],
      [
        { ...signNodeMessage(known, 'promotion', relayId, {}), body: '{"x":1}' },
        400,
        'bad-signature',
      ],
      [signNodeMessage(known, 'handoff', relayId, {}), 400, 'malformed'],
      [{ ...signNodeMessage(known, 'promotion', relayId, {}), ts: 1 }, 400, 'stale'],
    ]
    for (const [body, status, code] of cases) {
      const res = await post('/v1/promote', body)
      expect([res.status, res.body.code], JSON.stringify(body).slice(0, 60)).toEqual([status, code])
      expect(res.body.error).toBeTruthy()
    }
    const huge = await post('/v1/promote', 'x'.repeat(6 * 1024 * 1024))
    expect(huge.status).toBe(413)
    expect((await getJson(`${relay.url}/v1/hello`)).body.role).toBe('candidate')
  })

  it('refuses handoffs from strangers and with bad fields; takes a good one once', async () => {
    const bad: [unknown, number, string][] = [
      [handoff(stranger, swarm([peer])), 403, 'unknown-sender'],
      [handoff(selfDeclared, swarm([peer])), 403, 'unknown-sender'],
      [handoff(known, 'x'), 400, 'malformed'],
      [handoff(known, [{ infoHash: 'zz', downloaded: 0, peers: [] }]), 400, 'malformed'],
      [handoff(known, swarm([{ ...peer, ip: 'not an ip' }])), 400, 'malformed'],
      [handoff(known, swarm([{ ...peer, port: 70000 }])), 400, 'malformed'],
      [handoff(known, swarm(new Array(401).fill(peer))), 400, 'malformed'],
      [handoff(known, new Array(501).fill(swarm([])[0])), 400, 'malformed'],
    ]
    for (const [body, status, code] of bad) {
      const res = await post('/v1/handoff', body)
      expect([res.status, res.body.code]).toEqual([status, code])
    }
    const good = handoff(known, swarm([peer]))
    const first = await post('/v1/handoff', good)
    expect(first).toEqual({ status: 200, body: { swarms: 1, adopted: 1 } })
    const again = await post('/v1/handoff', good)
    expect([again.status, again.body.code]).toEqual([409, 'replayed'])
  })

  it('refuses a proxied announce whose header is not a good one from a known supernode', async () => {
    const path = announcePath({
      infoHash: new Uint8Array(20).fill(7),
      peerId: new TextEncoder().encode('-AZ2060-hostile00001'),
      port: 6881,
    })
    // `<from> <ts> <ip> <HMAC-SHA256(pair key, "monsoon-announce\nfrom\nto\nts\nip\ntarget")>`
    const sign = (from: RecordSigner, target: string, ip = '10.9.9.9', ts = now()) => {
      const key = pairKey(from.secretKey, from.id, relayId, 'announce')
      const mac = createHmac('sha256', key)
        .update(`monsoon-announce\n${from.id}\n${relayId}\n${ts}\n${ip}\n${target}`)
        .digest('hex')
      return `${from.id} ${ts} ${ip} ${mac}`
    }
    const headers = [
      'garbage',
      `${known.id} 1 2 3`,
      sign(stranger, path),
      sign(known, '/announce?other'),
      sign(known, path, 'x'.repeat(100)),
      sign(known, path, '10.9.9.9', now() - 120),
      sign(known, path).replace('10.9.9.9', '10.9.9.8'),
    ]
    for (const header of headers) {
      const res = await fetch(relay.url + path, { headers: { 'X-Monsoon-Announce': header } })
      const reason = failureReason(new Uint8Array(await res.arrayBuffer()))
      expect(reason, header.slice(0, 40)).toMatch(/^proxied request refused: /)
    }
    // The genuine article: the owner records the client address the proxy vouches for.
    const ok = await fetch(relay.url + path, {
      headers: { 'X-Monsoon-Announce': sign(known, path) },
    })
    const body = new Uint8Array(await ok.arrayBuffer())
    expect(failureReason(body)).toBeUndefined()
    const probe = announcePath({
      infoHash: new Uint8Array(20).fill(7),
      peerId: new TextEncoder().encode('-AZ2060-hostile00002'),
      port: 6882,
    })
    const seen = await fetch(relay.url + probe, {
      headers: { 'X-Monsoon-Announce': sign(known, probe) },
    })
    const peers = compactPeers(decodeDict(new Uint8Array(await seen.arrayBuffer())).peers)
    expect(peers).toContainEqual({ ip: '10.9.9.9', port: 6881 })
  })
})
