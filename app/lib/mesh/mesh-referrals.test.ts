// Lookup answers' referrals, followed by the asker (issue 22, hash lookup), and "found via" kept
// true of the wire connected now: over in-memory networks of real meshes (test-network.ts).

import { describe, expect, it } from 'vitest'
import * as L from '../../../shared/mesh/limits.ts'
import type { MeshMessage } from '../../../shared/mesh/messages.ts'
import { hash, id, lookupAcrossSwarms, TestNetwork, type Browser } from './test-network.ts'

const G = hash('1')
const H = hash('2')
const K = hash('3')

type Has = Extract<MeshMessage, { t: 'has' }>

/** Hands `x` an answer as if `from` sent it on their wire in `infoHash` (before `from`'s own
 * answer, still queued, arrives). */
function answer(net: TestNetwork, x: Browser, from: Browser, infoHash: string, has: Has) {
  const neighbour = net.neighbour(x, from, infoHash)
  if (!neighbour) throw new Error('no such wire')
  x.mesh.message(neighbour, has)
}

/** An answer about H naming no peers, with `referral`. */
const referral = (query: number, referral: Has['referral']): Has => ({
  t: 'has',
  query,
  infoHash: H,
  peers: [],
  referral,
})
const referTo = (query: number, peer: string) => referral(query, { peer })

/** x asks its neighbours in G about H; returns the round's query id. */
function lookUp(net: TestNetwork, x: Browser): number {
  x.host.addTorrent(H)
  x.mesh.added(H)
  const who = net.sentOf('who', x).filter((m) => m.infoHash === H)
  return who[who.length - 1].query
}

describe('Mesh: a lookup answer’s referral to a peer', () => {
  it('asks the referred neighbour, and reaches the peers it names', async () => {
    const net = new TestNetwork()
    const x = net.add('8', G, K)
    const a = net.add('a', G)
    const d = net.add('d', K, H)
    const e = net.add('e', H)
    net.satisfied(H, d, e)
    net.satisfied(K, x, d)
    net.connect(x, a, G)
    net.connect(d, e, H)
    await net.flush()
    const query = lookUp(net, x)
    // d became x's neighbour (in another swarm) after the round asked a.
    net.connect(x, d, K)
    answer(net, x, a, G, referTo(query, id('d')))
    await net.flush()
    expect(net.sentOf('who', x, d)).toEqual([{ t: 'who', query, infoHash: H }])
    expect(net.sentOf('has', d, x)).toEqual([
      { t: 'has', query, infoHash: H, peers: [id('d'), id('e')] },
    ])
    expect(net.neighbour(x, d, H)).toBeDefined()
    expect(net.neighbour(x, e, H)).toBeDefined()
    expect(x.mesh.stats()).toMatchObject({ referralsFollowed: 1, lookupsSent: 2 })
    expect(x.mesh.foundVia(H, id('e'))).toBe('mesh')
  })

  it('ends a referral loop: a refers to d, d back to a, b to d again', async () => {
    const net = new TestNetwork()
    const x = net.add('8', G, K)
    const [a, b] = ['a', 'b'].map((c) => net.add(c, G))
    const d = net.add('d', K)
    net.connect(x, a, G)
    net.connect(x, b, G)
    await net.flush()
    const query = lookUp(net, x)
    net.connect(x, d, K)
    answer(net, x, a, G, referTo(query, id('d')))
    answer(net, x, d, K, referTo(query, id('a'))) // a referred answer: its referral is not followed
    answer(net, x, b, G, referTo(query, id('d'))) // d was asked this round already
    answer(net, x, b, G, referTo(query, id('b'))) // one answer each: dropped
    await net.flush() // the three meshes' own answers arrive too, and are dropped
    expect(net.sentOf('who', x, a)).toHaveLength(1)
    expect(net.sentOf('who', x, b)).toHaveLength(1)
    expect(net.sentOf('who', x, d)).toHaveLength(1)
    expect(x.mesh.stats().referralsFollowed).toBe(1)
    for (const peer of [a, b, d]) expect(x.mesh.isBanned(peer.host.peerId)).toBe(false)
  })

  it('follows one hop only: a referred neighbour’s referral is not followed', async () => {
    const net = new TestNetwork()
    const x = net.add('8', G, K)
    const a = net.add('a', G)
    const [d, e] = ['d', 'e'].map((c) => net.add(c, K))
    net.connect(x, a, G)
    await net.flush()
    const query = lookUp(net, x)
    net.connect(x, d, K)
    net.connect(x, e, K)
    answer(net, x, a, G, referTo(query, id('d')))
    answer(net, x, d, K, referTo(query, id('e')))
    await net.flush()
    expect(net.sentOf('who', x, d)).toHaveLength(1)
    expect(net.sentOf('who', x, e)).toHaveLength(0)
    expect(x.mesh.stats().referralsFollowed).toBe(1)
  })

  it('follows no referral to ourselves, to a stranger, or past the round’s budget', async () => {
    const net = new TestNetwork()
    const x = net.add('8', G, K)
    const askedFirst = Array.from({ length: L.REFERRALS_FOLLOWED_PER_LOOKUP + 3 }, (_, i) =>
      net.add(`a${i}`.padEnd(40, '0'), G),
    )
    for (const a of askedFirst) net.connect(x, a, G)
    await net.flush()
    const query = lookUp(net, x)
    const late = askedFirst.map((_, i) => net.add(`b${i}`.padEnd(40, '0'), K))
    for (const b of late) net.connect(x, b, K)
    const [self, stranger, ...rest] = askedFirst
    const refer = (from: Browser, peer: string) => answer(net, x, from, G, referTo(query, peer))
    refer(self, x.host.peerId)
    refer(stranger, id('f'))
    for (const [i, a] of rest.entries()) refer(a, late[i].host.peerId)
    await net.flush()
    const referredAsks = late.filter((b) => net.sentOf('who', x, b).length > 0)
    expect(referredAsks).toHaveLength(L.REFERRALS_FOLLOWED_PER_LOOKUP)
    expect(x.mesh.stats().referralsFollowed).toBe(L.REFERRALS_FOLLOWED_PER_LOOKUP)
    expect(net.sentOf('who', x).filter((m) => m.infoHash === H).length).toBe(
      askedFirst.length + L.REFERRALS_FOLLOWED_PER_LOOKUP,
    )
  })
})

describe('Mesh: a lookup answer’s referral to a relay', () => {
  it('hands an honest neighbour’s relay to the torrent, as its WebSocket tracker', async () => {
    const net = new TestNetwork()
    const x = net.add('8', G)
    const a = net.add('a', G)
    a.host.relay = 'http://127.0.0.1:8000'
    net.connect(x, a, G)
    await net.flush()
    lookUp(net, x)
    await net.flush()
    expect(x.host.referred).toEqual([{ infoHash: H, tracker: 'ws://127.0.0.1:8000/' }])
    expect(x.mesh.stats().referralsFollowed).toBe(1)
  })

  it('follows no bogus URL and hands one torrent at most its budget of relays', async () => {
    const net = new TestNetwork()
    const x = net.add('8', G)
    const urls = [
      'javascript:alert(1)',
      'ftp://relay.monsoon.net/',
      'https://relay.monsoon.net/announce?x=1',
      'not a url',
      'https://one.monsoon.net',
      'https://one.monsoon.net/',
      'wss://two.monsoon.net/',
      'wss://three.monsoon.net/',
    ]
    const peers = urls.map((_, i) => net.add(`a${i}`.padEnd(40, '0'), G))
    for (const p of peers) net.connect(x, p, G)
    await net.flush()
    const query = lookUp(net, x)
    for (const [i, relay] of urls.entries()) {
      answer(net, x, peers[i], G, referral(query, { relay }))
    }
    await net.flush()
    expect(x.host.referred).toEqual([
      { infoHash: H, tracker: 'wss://one.monsoon.net/' },
      { infoHash: H, tracker: 'wss://two.monsoon.net/' },
    ])
    expect(L.MAX_REFERRED_RELAYS_PER_TORRENT).toBe(2)
    for (const p of peers) expect(x.mesh.isBanned(p.host.peerId)).toBe(false)
    expect(x.mesh.stats().referralsFollowed).toBe(2)
    // A window later the torrent has slots again, but the page refuses this relay (an address
    // it may not contact): not counted as followed.
    await net.tick(L.REFERRED_RELAYS_WINDOW_MS)
    x.host.refuseRelays = true
    const later = lookUp(net, x)
    answer(net, x, peers[0], G, referral(later, { relay: 'wss://four.monsoon.net/' }))
    expect(x.host.referred).toHaveLength(2)
    expect(x.mesh.stats().referralsFollowed).toBe(2)
  })
})

describe('Mesh: found via', () => {
  it('is the mesh only for the wire it made: not once that wire closed and the peer came back another way', async () => {
    const { net, a, c } = await lookupAcrossSwarms(G, H)
    expect(net.neighbour(a, c, H)).toBeDefined()
    expect(a.mesh.foundVia(H, id('c'))).toBe('mesh')
    expect(c.mesh.foundVia(H, id('a'))).toBe('mesh')
    net.disconnect(a, c, H)
    expect(a.mesh.foundVia(H, id('c'))).toBe(null)
    // The two meet again through a relay tracker (a wire the mesh did not make).
    net.connect(a, c, H)
    expect(a.mesh.foundVia(H, id('c'))).toBe(null)
    expect(c.mesh.foundVia(H, id('a'))).toBe(null)
    expect(a.mesh.held().found).toBe(1) // b, which a's mesh reached directly in H
  })
})
