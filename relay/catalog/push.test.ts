// The pusher against stand-in peers on real sockets: fan-out to distinct peers, a bounded
// queue, and listings a peer refused for quota (429) delivered after its Retry-After.

import { createServer, type Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import type { Listing } from '../../shared/listing.ts'
import { createLogger } from '../log.ts'
import { directTransport } from '../peering/peer-fetch.ts'
import { Gossip } from './push.ts'
import { FastSigner, sampleDraft } from './test-support.ts'

const log = createLogger('silent')
const servers: Server[] = []
const gossips: Gossip[] = []

afterEach(async () => {
  await Promise.all(gossips.splice(0).map((g) => g.stop()))
  for (const s of servers.splice(0)) s.close()
})

interface Peer {
  url: string
  received: Listing[]
}

/** A stand-in relay: `answer` decides each POST's status and per-listing results. */
async function peer(answer: (n: number, listings: Listing[]) => [number, number[]]): Promise<Peer> {
  const received: Listing[] = []
  let n = 0
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c))
    req.on('end', () => {
      const listings = (JSON.parse(body) as { listings: Listing[] }).listings
      const [status, statuses] = answer(n++, listings)
      const results = statuses.map((s) => ({ status: s }))
      listings.forEach((l, i) => status === 200 && statuses[i] === 200 && received.push(l))
      res.writeHead(status, { 'Content-Type': 'application/json', 'Retry-After': '1' })
      res.end(JSON.stringify({ stored: statuses.filter((s) => s === 200).length, results }))
    })
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, received }
}

const signer = new FastSigner()
const listings = (count: number) =>
  Array.from({ length: count }, (_, i) => signer.listing(sampleDraft(i, 5), { seq: 1, ts: 1 }))

async function until(check: () => boolean) {
  const deadline = Date.now() + 15_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error('gave up waiting')
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('Gossip', () => {
  it('pushes each batch to 3 distinct peers of 5', async () => {
    const peers = await Promise.all(
      Array.from({ length: 5 }, () => peer((_, l) => [200, l.map(() => 200)])),
    )
    const gossip = new Gossip(
      peers.map((p) => p.url),
      { log, transport: directTransport },
    )
    gossips.push(gossip)
    const batch = listings(10)
    gossip.push(batch)
    await until(() => peers.reduce((n, p) => n + p.received.length, 0) === 30)
    const reached = peers.filter((p) => p.received.length > 0)
    expect(reached.length).toBe(3)
    for (const p of reached) expect(p.received).toEqual(batch)
  })

  it('sends again what a peer refused for quota, after its Retry-After', async () => {
    // First a whole-request 429, then half the batch refused, then everything accepted.
    const p = await peer((n, l) => {
      if (n === 0) return [429, []]
      if (n === 1) return [200, l.map((_, i) => (i % 2 ? 429 : 200))]
      return [200, l.map(() => 200)]
    })
    const gossip = new Gossip([p.url], { log, transport: directTransport })
    gossips.push(gossip)
    const batch = listings(6)
    gossip.push(batch)
    await until(() => p.received.length === 6)
    expect(new Set(p.received.map((l) => l.sig))).toEqual(new Set(batch.map((l) => l.sig)))
    expect(gossip.stats.retried).toBe(9)
  })

  it('drops what does not fit its queue, and retries a peer that refuses', async () => {
    const p = await peer(() => [429, []])
    const gossip = new Gossip([p.url], { log, transport: directTransport }, { maxQueue: 2 })
    gossips.push(gossip)
    gossip.push(listings(5))
    expect(gossip.stats.dropped).toBe(3)
    await until(() => gossip.stats.failures >= 2)
    expect(p.received).toEqual([])
  })
})
