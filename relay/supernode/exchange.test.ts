// SupernodeExchange against real HTTP servers on 127.0.0.1: an honest relay's records are
// learned, and hostile ones (an oversized answer, one that never answers, bad JSON, a
// forged record) cost a bounded request each, then back off.

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../log.ts'
import { directTransport } from '../peering/peer-fetch.ts'
import { SupernodeDirectory } from './directory.ts'
import { SupernodeExchange } from './exchange.ts'
import { MAX_MISSED_CONTACTS, PEER_MAX_BACKOFF_MS } from '../limits.ts'
import { RecordSigner } from './test-support.ts'

type Handler = (path: string) => { status?: number; body: string } | 'hang'

const servers: Server[] = []
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    s.close()
  }
})

/** A loopback server answering by path, recording every request line. */
async function peer(handler: Handler): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = []
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`)
    req.resume()
    const answer = handler(req.url ?? '')
    if (answer === 'hang') return
    res.writeHead(answer.status ?? 200, { 'Content-Type': 'application/json' })
    res.end(answer.body)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits }
}

const now = () => Math.floor(Date.now() / 1000)

function setup(peers: string[], options: { mayContact?: boolean; maxBackoffMs?: number } = {}) {
  const me = new RecordSigner()
  const directory = new SupernodeDirectory({
    self: () => me.record({ seq: now(), ts: now(), url: 'http://127.0.0.1:9' }),
    // Every fake relay here is on 127.0.0.1: one prefix.
    maxPerPrefix: 16,
  })
  const contacts: [string, boolean][] = []
  const exchange = new SupernodeExchange(
    {
      directory,
      peers,
      log: createLogger('silent'),
      transport: directTransport,
      onContact: (url, ok) => contacts.push([url, ok]),
      mayContact: () => options.mayContact ?? false,
    },
    // The timeout is what a silent peer costs each round; short, but long enough that a busy
    // machine does not turn an answering peer into a failure.
    {
      intervalMs: 60_000,
      timeoutMs: 2000,
      random: () => 0.5,
      maxBackoffMs: options.maxBackoffMs ?? PEER_MAX_BACKOFF_MS,
    },
  )
  return { me, directory, exchange, contacts }
}

describe('SupernodeExchange', () => {
  it('learns an honest peer and the supernodes it knows, and pushes our record to it', async () => {
    const honest = new RecordSigner()
    const friend = new RecordSigner()
    const records = () => [
      honest.record({ seq: 1, ts: now(), url: 'http://127.0.0.1:9' }),
      friend.record({ seq: 1, ts: now(), url: 'http://127.0.0.1:9' }),
    ]
    const p = await peer((path) =>
      path === '/v1/hello'
        ? { body: JSON.stringify(records()[0]) }
        : { body: JSON.stringify({ supernodes: records(), accepted: 1 }) },
    )
    const { directory, exchange, contacts } = setup([p.url])
    await exchange.round()
    expect(
      directory
        .live(now())
        .map((r) => r.id)
        .slice(1)
        .sort(),
    ).toEqual([honest.id, friend.id].sort())
    expect(p.hits.sort()).toEqual(['GET /v1/hello', 'GET /v1/supernodes', 'POST /v1/supernodes'])
    expect(contacts).toEqual([
      [p.url, true],
      [p.url, true],
    ])
  })

  it('survives hostile peers, refuses their records, and backs off from them', async () => {
    const huge = await peer(() => ({ body: `{"supernodes":["${'x'.repeat(7 * 1024 * 1024)}"]}` }))
    const silent = await peer(() => 'hang')
    const garbage = await peer(() => ({ body: '{"supernodes": "nope"' }))
    const signer = new RecordSigner()
    const forged = await peer(() => ({
      body: JSON.stringify({
        supernodes: [{ ...signer.record({ seq: 1, ts: now() }), role: 'candidate' }],
      }),
    }))
    const error = await peer(() => ({ status: 500, body: '{"error":"boom"}' }))
    const all = [huge, silent, garbage, forged, error]
    const { directory, exchange } = setup(all.map((p) => p.url))
    await exchange.round()
    expect(directory.size).toBe(0)
    // The forged list was fetched fine (its hello too, refused): only the others failed.
    expect(exchange.stats.refused).toBeGreaterThanOrEqual(1)
    expect(exchange.stats.failures).toBe(4 * 2)
    const before = all.map((p) => p.hits.length)
    await exchange.round()
    // Failed peers wait out their backoff (no push, no pull); the one that answered is
    // pushed to and pulled again.
    expect(all.map((p, i) => p.hits.length - before[i])).toEqual([0, 0, 0, 3, 0])
  })

  it('leaves a supernode that stops answering out of the owners, and takes it back', async () => {
    const peerSigner = new RecordSigner()
    const learnedSigner = new RecordSigner()
    let learnedUp = true
    const learned = await peer((path) =>
      !learnedUp
        ? { status: 503, body: '{"error":"down"}' }
        : path === '/v1/hello'
          ? { body: JSON.stringify(learnedSigner.record({ seq: 1, ts: now(), url: learned.url })) }
          : { body: '{"supernodes":[]}' },
    )
    const p = await peer((path) =>
      path === '/v1/hello'
        ? {
            body: JSON.stringify(
              peerSigner.record({ seq: 1, ts: now(), url: 'http://127.0.0.1:9' }),
            ),
          }
        : {
            body: JSON.stringify({
              supernodes: [learnedSigner.record({ seq: 1, ts: now(), url: learned.url })],
              // The peer seeded the network and admitted the others.
              roots: [peerSigner.id],
              admissions: [
                peerSigner.admit(learnedSigner.id, now()),
                peerSigner.admit(meId, now()),
              ],
            }),
          },
    )
    // No backoff wait, so every round contacts both.
    const { me, directory, exchange } = setup([p.url], { mayContact: true, maxBackoffMs: 0 })
    const meId = me.id
    const owners = () => [...directory.owners(now()).ids]
    const all = [me.id, peerSigner.id, learnedSigner.id].sort()
    await exchange.round()
    await exchange.round()
    expect(learned.hits).toContain('GET /v1/hello')
    expect(owners()).toEqual(all)
    learnedUp = false
    for (let i = 1; i < MAX_MISSED_CONTACTS; i++) await exchange.round()
    expect(owners()).toEqual(all)
    await exchange.round()
    expect(owners()).toEqual([me.id, peerSigner.id].sort())
    expect(directory.unreachable(now()).map((r) => r.id)).toEqual([learnedSigner.id])
    // Still pulled while out; the first answer brings it back.
    learnedUp = true
    await exchange.round()
    expect(owners()).toEqual(all)
  })

  it('publish: pushes the given record to the peers and every supernode known, within budget', async () => {
    const learnedSigner = new RecordSigner()
    const learned = await peer((path) =>
      path === '/v1/hello'
        ? { body: JSON.stringify(learnedSigner.record({ seq: 1, ts: now(), url: learned.url })) }
        : { body: '{"supernodes":[]}' },
    )
    const silent = await peer(() => 'hang')
    const p = await peer((path) => ({
      body:
        path === '/v1/hello'
          ? JSON.stringify(new RecordSigner().record({ seq: 1, ts: now(), url: silent.url }))
          : JSON.stringify({
              supernodes: [learnedSigner.record({ seq: 1, ts: now(), url: learned.url })],
            }),
    }))
    const { me, exchange } = setup([p.url, silent.url], { mayContact: true })
    await exchange.round()
    await exchange.stop()
    const demoted = me.record({
      seq: now() + 1,
      ts: now(),
      role: 'candidate',
      url: 'http://127.0.0.1:9',
    })
    const before = [p, learned].map((x) => x.hits.length)
    // The silent peer never answers: publish still ends, with the two that took it.
    expect(await exchange.publish(demoted, 500)).toBe(2)
    for (const [i, x] of [p, learned].entries()) {
      expect(x.hits.slice(before[i])).toEqual(['POST /v1/supernodes'])
    }
  })

  it('takes roots from --peer relays only: a learned relay cannot make its sybils owners', async () => {
    const honest = new RecordSigner()
    const liar = new RecordSigner()
    const sybils = Array.from({ length: 5 }, () => new RecordSigner())
    const url = 'http://127.0.0.1:9'
    const liarRelay = await peer((path) =>
      path === '/v1/hello'
        ? { body: JSON.stringify(liar.record({ seq: 1, ts: now(), url: liarRelay.url })) }
        : {
            body: JSON.stringify({
              supernodes: sybils.map((s) => s.record({ seq: 1, ts: now(), url })),
              roots: [liar.id],
              admissions: sybils.map((s) => liar.admit(s.id, now())),
            }),
          },
    )
    const p = await peer((path) =>
      path === '/v1/hello'
        ? { body: JSON.stringify(honest.record({ seq: 1, ts: now(), url })) }
        : {
            body: JSON.stringify({
              supernodes: [liar.record({ seq: 1, ts: now(), url: liarRelay.url })],
              roots: [honest.id],
              admissions: [],
            }),
          },
    )
    const { me, directory, exchange } = setup([p.url], { mayContact: true, maxBackoffMs: 0 })
    await exchange.round()
    await exchange.round()
    expect(liarRelay.hits).toContain('GET /v1/supernodes')
    // Every sybil is known (a volunteer, like a candidate) and none owns anything.
    expect(directory.live(now())).toHaveLength(2 + sybils.length + 1)
    expect([...directory.roots]).toEqual([honest.id])
    expect([...directory.owners(now()).ids]).toEqual([honest.id])
    expect(directory.isAdmitted(me.id)).toBe(false)
  })
})
