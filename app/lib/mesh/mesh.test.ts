import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as L from '../../../shared/mesh/limits.ts'
import {
  MAX_MESH_PEER_IDS,
  MAX_SIGNAL_HOPS,
  type MeshMessage,
} from '../../../shared/mesh/messages.ts'
import { Mesh } from './mesh.ts'
import {
  FakeHost,
  hash,
  id,
  lookupAcrossSwarms,
  TestNetwork,
  type Browser,
} from './test-network.ts'
import type { CatalogExchange, Neighbour, RecordPage } from './types.ts'

const H = hash('1')
const G = hash('2')

/** Sends `message` as `from` to `to` over their wire in `infoHash` (through the codec). */
function say(net: TestNetwork, from: Browser, to: Browser, infoHash: string, m: MeshMessage) {
  const neighbour = net.neighbour(from, to, infoHash)
  if (!neighbour) throw new Error('no such wire')
  return neighbour.send(m)
}

/** Two browsers, a and b, neighbours in swarm H. */
async function pair() {
  const net = new TestNetwork()
  const a = net.add('a', H)
  const b = net.add('b', H)
  net.connect(a, b, H)
  await net.flush()
  return { net, a, b }
}

const sig = (from: Browser, to: string, hops = 0): Extract<MeshMessage, { t: 'sig' }> => ({
  t: 'sig',
  to,
  from: from.host.peerId,
  infoHash: H,
  hops,
  kind: 'offer',
  sdp: 'v=0',
})

describe('Mesh: neighbours', () => {
  it('closes our own peer id, a banned one, and those past the neighbour cap', () => {
    const host = new FakeHost(id('a'), { ms: 0 })
    host.addTorrent(H)
    const mesh = new Mesh(host)
    const closed: string[] = []
    const wire = (peerId: string, infoHash = H): Neighbour => ({
      peerId,
      infoHash,
      version: 1,
      send: () => true,
      close: () => void closed.push(peerId),
    })
    mesh.open(wire(id('a')))
    expect(closed).toEqual([id('a')])
    const ids = Array.from({ length: L.MAX_MESH_NEIGHBOURS + 1 }, (_, i) =>
      (i + 1).toString(16).padStart(40, '0'),
    )
    for (const peerId of ids) mesh.open(wire(peerId))
    expect(closed).toEqual([id('a'), ids.at(-1)])
    expect(mesh.stats().neighbours).toHaveLength(L.MAX_MESH_NEIGHBOURS)
    mesh.refused(wire(ids[0]), new Error('bad bencode'))
    expect(mesh.isBanned(ids[0])).toBe(true)
    mesh.open(wire(ids[0], G))
    expect(closed.filter((c) => c === ids[0])).toHaveLength(2)
    expect(mesh.stats().banned[0]).toMatchObject({ peerId: ids[0], reason: /malformed/ })
  })

  it('keys neighbours by (peer id, swarm) and groups them by peer id in stats', async () => {
    const net = new TestNetwork()
    const a = net.add('a', H, G)
    const b = net.add('b', H, G)
    net.connect(a, b, H)
    net.connect(a, b, G)
    await net.flush()
    expect(a.mesh.stats().neighbours).toMatchObject([{ peerId: id('b'), swarms: [H, G] }])
    net.disconnect(a, b, H)
    expect(a.mesh.stats().neighbours).toMatchObject([{ peerId: id('b'), swarms: [G] }])
    net.disconnect(a, b, G)
    expect(a.mesh.stats().neighbours).toEqual([])
  })
})

describe('Mesh: WebRTC PEX', () => {
  it('names the swarm’s mesh peers on open, then deltas once a PEX interval', async () => {
    const net = new TestNetwork()
    const [a, b, c] = ['a', 'b', 'c'].map((x) => net.add(x, H))
    net.satisfied(H, b, c)
    net.connect(a, b, H)
    await net.flush()
    expect(net.sentOf('pex', a, b)).toEqual([{ t: 'pex', added: [], dropped: [] }])
    net.connect(a, c, H)
    await net.flush()
    expect(net.sentOf('pex', a, c)).toEqual([{ t: 'pex', added: [id('b')], dropped: [] }])
    await net.tick(L.PEX_INTERVAL_MS - 1)
    expect(net.sentOf('pex', a, b)).toHaveLength(1)
    await net.tick(1)
    expect(net.sentOf('pex', a, b)[1]).toEqual({ t: 'pex', added: [id('c')], dropped: [] })
    net.disconnect(a, c, H)
    await net.tick(L.PEX_INTERVAL_MS)
    expect(net.sentOf('pex', a, b)[2]).toEqual({ t: 'pex', added: [], dropped: [id('c')] })
    expect(b.mesh.stats().neighbours[0].pexPeers).toBe(1)
  })

  it('never names more than MAX_MESH_PEER_IDS, nor peers that do not speak the mesh', async () => {
    const net = new TestNetwork()
    const a = net.add('a', H)
    const torrent = a.host.torrentsByHash.get(H)!
    // WebRTC peers that do not speak the mesh: we could carry no signal to them.
    for (let i = 0; i < 10; i++) torrent.peers.add('e' + i.toString(16).padStart(39, '0'))
    const others = Array.from({ length: 60 }, (_, i) =>
      net.add('1' + i.toString(16).padStart(39, '0'), H),
    )
    net.satisfied(H, a, ...others)
    for (const x of others) net.connect(a, x, H)
    const last = net.add('f', H)
    net.connect(a, last, H)
    await net.flush()
    const [first] = net.sentOf('pex', a, last)
    expect(first.added).toHaveLength(MAX_MESH_PEER_IDS)
    expect(first.added.every((p) => p.startsWith('1'))).toBe(true)
  })

  it('introduces PEX-learnt peers with the lower id offering, through the neighbour', async () => {
    const net = new TestNetwork()
    const [a, b, c] = ['a', 'b', 'c'].map((x) => net.add(x, H))
    net.satisfied(H, a)
    net.connect(a, b, H)
    net.connect(a, c, H)
    await net.flush()
    // c, wanting peers, heard of b at once, but only b (the lower id) offers: it hears of c a
    // PEX interval later.
    expect(net.sentOf('pex', a, c)[0].added).toEqual([id('b')])
    expect(c.host.connections).toEqual([])
    expect(b.host.connections).toEqual([])
    net.satisfied(H, c)
    await net.tick(L.PEX_INTERVAL_MS)
    expect(b.host.connections).toMatchObject([{ peerId: id('c'), initiator: true }])
    expect(c.host.connections).toMatchObject([{ peerId: id('b'), initiator: false }])
    expect(net.sentOf('sig', b, a)).toMatchObject([{ to: id('c'), hops: 0, kind: 'offer' }])
    expect(net.sentOf('sig', a, c)).toMatchObject([{ from: id('b'), hops: 1, kind: 'offer' }])
    expect(net.sentOf('sig', a, b)).toMatchObject([{ to: id('b'), hops: 1, kind: 'answer' }])
    expect(net.neighbour(b, c, H)).toBeDefined()
    expect(b.mesh.foundVia(H, id('c'))).toBe('mesh')
    expect(c.mesh.foundVia(H, id('b'))).toBe('mesh')
    expect(b.mesh.foundVia(H, id('a'))).toBe(null)
    expect(a.mesh.stats().signalsForwarded).toBe(2)
    expect(b.mesh.stats()).toMatchObject({ introductionsReceived: 1 })
    // Connected now: no second offer, however long we wait.
    await net.tick(L.CANDIDATE_RETRY_MS)
    expect(b.host.connections).toHaveLength(1)
  })

  it('bans a neighbour that sends PEX more often than the budget allows', async () => {
    const { net, a, b } = await pair()
    // The one a sent on open counts too.
    for (let i = 1; i < L.PEX_BURST; i++) say(net, a, b, H, { t: 'pex', added: [], dropped: [] })
    await net.flush()
    expect(b.mesh.isBanned(id('a'))).toBe(false)
    say(net, a, b, H, { t: 'pex', added: [], dropped: [] })
    await net.flush()
    expect(b.mesh.isBanned(id('a'))).toBe(true)
    expect(net.neighbour(a, b, H)).toBeUndefined()
  })
})

describe('Mesh: introductions', () => {
  it('resolves glare: the lower id’s offer goes on, the higher answers it', async () => {
    const net = new TestNetwork()
    const [a, b, c] = ['a', 'b', 'c'].map((x) => net.add(x, H))
    net.satisfied(H, b)
    net.connect(a, b, H)
    net.connect(c, b, H)
    await net.flush()
    // Both ask b, and both offer to each other through it (lookups: the asker offers).
    a.mesh.added(H)
    c.mesh.added(H)
    await net.flush()
    const offers = (x: Browser) => x.host.connections.filter((k) => k.initiator)
    expect(offers(a)).toMatchObject([{ peerId: id('c'), destroyed: false }])
    expect(offers(c)).toMatchObject([{ peerId: id('a'), destroyed: true }])
    expect(c.host.connections.filter((k) => !k.initiator)).toMatchObject([{ peerId: id('a') }])
    expect(a.host.connections.filter((k) => !k.initiator)).toEqual([])
    expect(net.neighbour(a, c, H)).toBeDefined()
  })

  it('caps offers in flight, and destroys them unanswered', async () => {
    const { net, a, b } = await pair()
    a.mesh.added(H)
    // b names 50 peers it cannot reach (a hostile or stale answer): a offers to at most the cap.
    const fakes = Array.from({ length: MAX_MESH_PEER_IDS }, (_, i) =>
      (i + 1).toString(16).padStart(40, 'f'),
    )
    const query = net.sentOf('who', a, b)[0].query
    net
      .neighbour(b, a, H)!
      .send({ t: 'has', query, infoHash: H, peers: [id('b'), ...fakes.slice(1)] })
    // Nothing answers: b knows none of them (and soon bans a for asking, its right).
    await net.flush()
    const offers = a.host.connections.filter((k) => k.initiator)
    expect(offers.length).toBeLessThanOrEqual(L.MAX_PENDING_INTRODUCTIONS)
    expect(a.mesh.held().introductions).toBeLessThanOrEqual(L.MAX_PENDING_INTRODUCTIONS)
    await net.tick(L.INTRODUCTION_TIMEOUT_MS)
    expect(a.mesh.held().introductions).toBeLessThanOrEqual(L.MAX_PENDING_INTRODUCTIONS)
    expect(offers.every((k) => k.destroyed)).toBe(true)
  })
})

describe('Mesh: signal relay', () => {
  it('forwards up to the hop limit, and no further', async () => {
    const net = new TestNetwork()
    const [a, b, c] = ['a', 'b', 'c'].map((x) => net.add(x, H))
    net.connect(a, b, H)
    net.connect(b, c, H)
    await net.flush()
    net.sent.length = 0
    say(net, a, b, H, { ...sig(a, id('c')), from: id('d'), hops: 1 })
    say(net, a, b, H, { ...sig(a, id('c')), from: id('d'), hops: MAX_SIGNAL_HOPS })
    await net.flush()
    expect(net.sentOf('sig', b, c)).toMatchObject([{ from: id('d'), hops: 2 }])
    expect(b.mesh.dropped).toBeGreaterThan(0)
    // c has no pending offer to d and d is no neighbour: the answer goes back the way it came.
    expect(net.sentOf('sig', c, b)).toMatchObject([{ to: id('d'), from: id('c'), hops: 0 }])
  })

  it('bans a first hop that forges its sender', async () => {
    const net = new TestNetwork()
    const [a, b, c] = ['a', 'b', 'c'].map((x) => net.add(x, H))
    net.connect(a, b, H)
    net.connect(b, c, H)
    await net.flush()
    say(net, a, b, H, { ...sig(a, id('c')), from: id('c') })
    await net.flush()
    expect(b.mesh.isBanned(id('a'))).toBe(true)
    expect(b.mesh.isBanned(id('c'))).toBe(false)
  })

  it('rate-limits forwards per pair and in total, and tolerates few unknown peers', async () => {
    const net = new TestNetwork()
    const hub = net.add('0', H, G)
    const target = net.add('f', G) // it drops offers for H: it answers none
    net.connect(hub, target, G)
    const senders = ['1', '2', '3', '4', '5', '6', '7', '8'].map((x) => net.add(x, H))
    for (const s of senders) net.connect(s, hub, H)
    net.satisfied(H, hub, ...senders)
    net.satisfied(G, hub, target)
    await net.flush()
    for (const s of senders) {
      for (let i = 0; i < L.FORWARD_BURST_PER_PAIR + 3; i++) say(net, s, hub, H, sig(s, id('f')))
    }
    await net.flush()
    const forwarded = net.sentOf('sig', hub, target).length
    expect(forwarded).toBe(Math.min(L.FORWARD_BURST, senders.length * L.FORWARD_BURST_PER_PAIR))
    expect(senders.every((s) => !hub.mesh.isBanned(s.host.peerId))).toBe(true)
    // A second later the budgets have refilled a little.
    await net.tick(1000)
    say(net, senders[0], hub, H, sig(senders[0], id('f')))
    await net.flush()
    expect(net.sentOf('sig', hub, target).length).toBe(forwarded + 1)
    // Unknown peer ids: a few a minute are a neighbour that just left; more are hostile.
    const s = senders[1]
    for (let i = 0; i < L.UNKNOWN_PEERS_PER_MINUTE; i++) say(net, s, hub, H, sig(s, id('e')))
    await net.flush()
    expect(hub.mesh.isBanned(s.host.peerId)).toBe(false)
    say(net, s, hub, H, sig(s, id('e')))
    await net.flush()
    expect(hub.mesh.isBanned(s.host.peerId)).toBe(true)
    expect(hub.mesh.stats().banned[0].reason).toMatch(/unknown peers/)
  })

  it('destroys an offer unanswered after INTRODUCTION_TIMEOUT_MS, and forgets it was ours', async () => {
    const net = new TestNetwork()
    const [a, b, c] = ['a', 'b', 'c'].map((x) => net.add(x, H))
    net.satisfied(H, b, c)
    c.host.torrentsByHash.get(H)!.connecting.add(id('a')) // c will not answer a's offer
    net.connect(a, b, H)
    net.connect(b, c, H)
    await net.flush()
    await net.tick(L.PEX_INTERVAL_MS)
    const offer = a.host.connections.find((k) => k.peerId === id('c'))!
    expect(a.mesh.held().found).toBe(1)
    await net.tick(L.INTRODUCTION_TIMEOUT_MS - 1)
    expect(offer.destroyed).toBe(false)
    await net.tick(1)
    expect(offer.destroyed).toBe(true)
    expect(a.mesh.held().found).toBe(0)
    expect(a.mesh.foundVia(H, id('c'))).toBe(null)
    expect(a.mesh.held().introductions).toBe(0)
  })

  it('takes an answer only the way its offer went, or from the peer itself', async () => {
    const net = new TestNetwork()
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => net.add(x, H))
    net.satisfied(H, b, c, d)
    c.host.torrentsByHash.get(H)!.connecting.add(id('a')) // c will not answer a's offer
    net.connect(a, b, H)
    net.connect(b, c, H)
    net.connect(a, d, H)
    await net.flush()
    await net.tick(L.PEX_INTERVAL_MS)
    const offer = a.host.connections.find((k) => k.peerId === id('c'))!
    expect(offer).toMatchObject({ initiator: true, signals: [] })
    const answer = { t: 'sig', to: id('a'), from: id('c'), infoHash: H, hops: 1 } as const
    say(net, d, a, H, { ...answer, kind: 'answer', sdp: 'forged' })
    await net.flush()
    expect(offer.signals).toEqual([])
    say(net, b, a, H, { ...answer, kind: 'answer', sdp: 'real' })
    await net.flush()
    expect(offer.signals).toEqual([{ type: 'answer', sdp: 'real' }])
    expect(net.neighbour(a, c, H)).toBeDefined()
  })

  it('drops an answer nobody waits for and a signal for a swarm we do not have', async () => {
    const { net, a, b } = await pair()
    say(net, a, b, H, { ...sig(a, id('b')), kind: 'answer' })
    say(net, a, b, H, { ...sig(a, id('b')), infoHash: G })
    await net.flush()
    expect(b.mesh.dropped).toBe(2)
    expect(b.host.connections).toEqual([])
    expect(b.mesh.isBanned(id('a'))).toBe(false)
  })
})

describe('Mesh: hash lookups', () => {
  it('answers with itself and its mesh peers of the swarm, and the asker offers to them', async () => {
    const { net, a, b, c } = await lookupAcrossSwarms(G, H)
    const query = net.sentOf('who', a, b)[0].query
    expect(net.sentOf('has', b, a)).toEqual([
      { t: 'has', query, infoHash: H, peers: [id('b'), id('c')] },
    ])
    // a offers to both, whatever the ids: to b directly, to c through b.
    expect(net.neighbour(a, b, H)).toBeDefined()
    expect(net.neighbour(a, c, H)).toBeDefined()
    expect(a.mesh.stats()).toMatchObject({ lookupsSent: 1, introductionsReceived: 2 })
    expect(b.mesh.stats()).toMatchObject({ lookupsAnswered: 1 })
  })

  it('refers an asker on for a hash it does not have; drops unsolicited answers', async () => {
    const net = new TestNetwork()
    const a = net.add('a', G)
    const b = net.add('b', G)
    b.host.relay = 'https://relay.example'
    net.connect(a, b, G)
    await net.flush()
    a.host.addTorrent(H)
    a.mesh.added(H)
    await net.flush()
    expect(net.sentOf('has', b, a)).toMatchObject([
      { infoHash: H, peers: [], referral: { relay: 'https://relay.example' } },
    ])
    b.host.relay = null
    say(net, a, b, G, { t: 'who', query: 9, infoHash: H })
    say(net, b, a, G, { t: 'has', query: 12345, infoHash: H, peers: [id('c')] })
    await net.flush()
    expect(net.sentOf('has', b, a).filter((m) => m.query === 9)).toEqual([
      { t: 'has', query: 9, infoHash: H, peers: [] },
    ])
    // Neither answer was to a query of a's (it sent 9 by hand, not by asking).
    expect(a.mesh.dropped).toBe(2)
    expect(a.host.connections).toEqual([])
  })

  it('answers a thousand lookups up to the budget, then bans the asker; others keep working', async () => {
    const net = new TestNetwork()
    const [a, b, c] = ['a', 'b', 'c'].map((x) => net.add(x, G))
    net.connect(a, b, G)
    net.connect(c, b, G)
    await net.flush()
    for (let i = 0; i < 1000; i++) {
      say(net, a, b, G, { t: 'who', query: i, infoHash: i.toString(16).padStart(40, '0') })
    }
    await net.flush()
    expect(net.sentOf('has', b, a)).toHaveLength(L.LOOKUPS_ANSWERED_BURST)
    expect(b.mesh.isBanned(id('a'))).toBe(true)
    say(net, c, b, G, { t: 'who', query: 1, infoHash: G })
    await net.flush()
    expect(net.sentOf('has', b, c)).toMatchObject([{ peers: [id('b')] }])
  })

  it('asks at once when a torrent begins to want peers (its relay went), not a round later', async () => {
    const net = new TestNetwork()
    const a = net.add('a', G)
    const b = net.add('b', G)
    net.satisfied(G, a, b)
    net.connect(a, b, G)
    await net.flush()
    await net.tick(1)
    expect(net.sentOf('who', a, b)).toHaveLength(0)
    a.host.torrentsByHash.get(G)!.wants = true
    await net.tick(1)
    expect(net.sentOf('who', a, b)).toHaveLength(1)
    await net.tick(1)
    expect(net.sentOf('who', a, b)).toHaveLength(1)
  })

  it('asks again every lookup interval, and never faster than its own budget', async () => {
    const net = new TestNetwork()
    const a = net.add('a', G)
    const b = net.add('b', G)
    net.satisfied(G, b)
    net.connect(a, b, G)
    await net.flush()
    await net.tick(1)
    const first = net.sentOf('who', a, b).length
    expect(first).toBe(1)
    await net.tick(L.LOOKUP_INTERVAL_MS)
    expect(net.sentOf('who', a, b)).toHaveLength(2)
    for (let i = 0; i < 200; i++) a.host.addTorrent(i.toString(16).padStart(40, '0'))
    for (const t of a.host.torrents()) a.mesh.added(t.infoHash)
    await net.flush()
    expect(net.sentOf('who', a, b).length).toBeLessThanOrEqual(2 + L.LOOKUPS_SENT_PER_MINUTE)
    expect(a.mesh.isBanned(id('b'))).toBe(false)
    expect(b.mesh.isBanned(id('a'))).toBe(false)
  })
})

/** A catalog of `kind` records: record i is `good i` (or whatever the test puts there). */
class FakeCatalog implements CatalogExchange {
  readonly records: Record<string, string[]> = { listings: [], supernodes: [], hosts: [] }
  readonly stored: string[] = []
  pages = 0
  async page(kind: string, cursor: number, limit: number): Promise<RecordPage> {
    this.pages++
    const all = this.records[kind]
    const records = all.slice(cursor, cursor + limit)
    return { records, next: cursor + records.length, more: cursor + records.length < all.length }
  }
  async accept(_kind: string, records: string[]) {
    const good = records.filter((r) => r.startsWith('good'))
    this.stored.push(...good)
    return { stored: good.length, refused: records.length - good.length }
  }
}

function withCatalog(browser: Browser): FakeCatalog {
  const catalog = new FakeCatalog()
  browser.host.catalog = catalog
  return catalog
}

describe('Mesh: catalog and host exchange', () => {
  it('pulls every kind by cursor, again at once while more, then each pull interval', async () => {
    const { net, a, b } = await pair()
    const [mine, theirs] = [a, b].map(withCatalog)
    theirs.records.listings = Array.from({ length: 100 }, (_, i) => `good listing ${i}`)
    theirs.records.hosts = ['good host']
    await net.tick(1)
    expect(mine.stored).toHaveLength(101)
    expect(net.sentOf('pull', a, b)).toMatchObject([
      { kind: 'listings', cursor: 0 },
      { kind: 'supernodes', cursor: 0 },
      { kind: 'hosts', cursor: 0 },
      { kind: 'listings', cursor: 64 },
    ])
    expect(a.mesh.stats()).toMatchObject({ recordsStored: 101 })
    expect(a.mesh.stats().neighbours[0].recordsStored).toBe(101)
    theirs.records.listings.push('good new listing')
    await net.tick(L.CATALOG_PULL_INTERVAL_MS - 1)
    expect(net.sentOf('pull', a, b)).toHaveLength(4)
    await net.tick(1)
    expect(net.sentOf('pull', a, b).at(-3)).toEqual(expect.objectContaining({ cursor: 100 }))
    expect(mine.stored.at(-1)).toBe('good new listing')
  })

  it('sends fewer records when a page would not fit one message', async () => {
    const { net, a, b } = await pair()
    const [mine, theirs] = [a, b].map(withCatalog)
    theirs.records.listings = Array.from({ length: 20 }, (_, i) => `good ${i} ${'x'.repeat(7000)}`)
    for (let i = 0; i < 5; i++) await net.tick(1)
    expect(mine.stored).toHaveLength(20)
  })

  it('bans a neighbour that sends forged records, and one whose cursor goes back', async () => {
    const net = new TestNetwork()
    const [a, b, c] = ['a', 'b', 'c'].map((x) => net.add(x, H))
    for (const x of [a, b, c]) x.host.catalog = new FakeCatalog()
    ;(b.host.catalog as FakeCatalog).records.listings = ['good 1', 'forged 2']
    net.connect(a, b, H)
    net.connect(a, c, H)
    await net.flush()
    await net.tick(1)
    expect(a.mesh.isBanned(id('b'))).toBe(true)
    expect(a.mesh.stats().banned[0].reason).toMatch(/forged/)
    expect((a.host.catalog as FakeCatalog).stored).toEqual(['good 1'])
    expect(a.mesh.isBanned(id('c'))).toBe(false)
  })

  it('drops pages it did not ask for, ignores pulls with no catalog, caps pages served', async () => {
    const net = new TestNetwork()
    const a = net.add('a', H)
    const b = net.add('b', H)
    const theirs = new FakeCatalog()
    b.host.catalog = theirs
    net.connect(a, b, H)
    await net.flush()
    say(net, b, a, H, {
      t: 'page',
      query: 9999,
      kind: 'hosts',
      next: 1,
      more: false,
      records: ['good'],
    })
    await net.flush()
    expect(a.mesh.dropped).toBe(1)
    for (let i = 0; i < L.PAGES_SERVED_BURST + 10; i++) {
      say(net, a, b, H, { t: 'pull', query: i, kind: 'hosts', cursor: 0 })
    }
    await net.flush()
    expect(theirs.pages).toBe(L.PAGES_SERVED_BURST)
    expect(net.sentOf('page', b, a).filter((m) => m.query !== 9999)).toHaveLength(
      L.PAGES_SERVED_BURST,
    )
    expect(net.sentOf('page', a, b)).toEqual([])
    expect(b.mesh.isBanned(id('a'))).toBe(false)
  })
})

describe('Mesh: hostile neighbours', () => {
  it('a flood from one neighbour gets it banned; PEX and signal relay go on for the others', async () => {
    const net = new TestNetwork()
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => net.add(x, H))
    net.satisfied(H, a)
    net.connect(b, a, H)
    net.connect(c, a, H)
    net.connect(d, a, H)
    await net.flush()
    for (let i = 0; i < L.MESSAGES_BURST_PER_NEIGHBOUR + 1; i++) {
      say(net, d, a, H, { t: 'pull', query: i, kind: 'hosts', cursor: 0 })
    }
    await net.flush()
    expect(a.mesh.isBanned(id('d'))).toBe(true)
    expect(net.neighbour(a, d, H)).toBeUndefined()
    // b and c still meet through a, and d is never named nor introduced.
    await net.tick(L.PEX_INTERVAL_MS)
    expect(net.neighbour(b, c, H)).toBeDefined()
    expect(net.sentOf('pex', a).flatMap((p) => p.added)).not.toContain(id('d'))
    net.connect(d, a, H)
    await net.flush()
    expect(net.neighbour(a, d, H)).toBeUndefined()
  })

  it('never connects to a banned peer, however it is named', async () => {
    const net = new TestNetwork()
    const [a, b, c] = ['a', 'b', 'c'].map((x) => net.add(x, H))
    net.connect(a, b, H)
    net.connect(a, c, H)
    await net.flush()
    a.mesh.refused(net.neighbour(a, c, H)!, new Error('bad'))
    await net.flush()
    say(net, b, a, H, { t: 'pex', added: [id('c')], dropped: [] })
    await net.tick(L.PEX_INTERVAL_MS)
    expect(a.host.connections.map((k) => k.peerId)).not.toContain(id('c'))
    say(net, b, a, H, { ...sig(b, id('a')), from: id('c'), hops: 1 })
    await net.flush()
    expect(a.host.connections.map((k) => k.peerId)).not.toContain(id('c'))
  })
})

// Messages a hostile neighbour might send: ids from a small set (so some name us, the
// neighbour, other neighbours), every type, any field the codec lets through.
const ids = fc.constantFrom(id('a'), id('b'), id('c'), id('d'), id('e'), hash('1'), hash('2'))
const arbitraryMessage: fc.Arbitrary<MeshMessage> = fc.oneof(
  fc.record({
    t: fc.constant('pex' as const),
    added: fc.array(ids, { maxLength: 50 }),
    dropped: fc.array(ids, { maxLength: 50 }),
  }),
  fc.record({
    t: fc.constant('sig' as const),
    to: ids,
    from: ids,
    infoHash: ids,
    hops: fc.integer({ min: 0, max: 2 }),
    kind: fc.constantFrom('offer' as const, 'answer' as const),
    sdp: fc.string({ maxLength: 20 }),
  }),
  fc.record({ t: fc.constant('who' as const), query: fc.nat(20), infoHash: ids }),
  fc.record(
    {
      t: fc.constant('has' as const),
      query: fc.nat(20),
      infoHash: ids,
      peers: fc.array(ids, { maxLength: 50 }),
      referral: fc.record(
        {
          peer: ids,
          relay: fc.oneof(fc.webUrl(), fc.string({ maxLength: 40 }), fc.constant('ws://r/')),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ['t', 'query', 'infoHash', 'peers'] },
  ),
  fc.record({
    t: fc.constant('pull' as const),
    query: fc.nat(20),
    kind: fc.constantFrom('listings' as const, 'supernodes' as const, 'hosts' as const),
    cursor: fc.nat(),
  }),
  fc.record({
    t: fc.constant('page' as const),
    query: fc.nat(20),
    kind: fc.constantFrom('listings' as const, 'supernodes' as const, 'hosts' as const),
    next: fc.nat(),
    more: fc.boolean(),
    records: fc.array(fc.constantFrom('good', 'forged'), { maxLength: 3 }),
  }),
)

describe('Mesh: any message sequence', () => {
  it('never throws out of message() and never holds past its limits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(arbitraryMessage, fc.nat(70_000)), { maxLength: 60 }),
        async (steps) => {
          const net = new TestNetwork()
          const [a, b, c] = ['a', 'b', 'c'].map((x) => net.add(x, hash('1'), hash('2')))
          a.host.catalog = new FakeCatalog()
          net.connect(a, b, hash('1'))
          net.connect(a, c, hash('1'))
          net.connect(a, c, hash('2'))
          await net.flush()
          for (const [m, ms] of steps) {
            const neighbour = net.neighbour(a, b, hash('1'))
            if (!neighbour) break
            expect(() => a.mesh.message(neighbour, m)).not.toThrow()
            if (ms > 60_000) await net.tick(ms - 60_000)
          }
          await net.flush()
          const held = a.mesh.held()
          expect(held.neighbours).toBeLessThanOrEqual(L.MAX_MESH_NEIGHBOURS)
          expect(held.candidates).toBeLessThanOrEqual(L.MAX_MESH_CANDIDATES)
          expect(held.introductions).toBeLessThanOrEqual(L.MAX_PENDING_INTRODUCTIONS)
          expect(held.lookups).toBeLessThanOrEqual(L.MAX_PENDING_LOOKUPS)
          expect(held.forwardPairs).toBeLessThanOrEqual(L.MAX_FORWARD_PAIRS)
          expect(held.found).toBeLessThanOrEqual(L.MAX_MESH_FOUND)
          expect(held.referredTorrents).toBeLessThanOrEqual(L.MAX_REFERRED_TORRENTS)
          // c, whatever b did, is still a's neighbour.
          expect(net.neighbour(a, c, hash('1'))).toBeDefined()
        },
      ),
      { numRuns: 60 },
    )
  })
})
