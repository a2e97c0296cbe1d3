import { isIPv6 } from 'node:net'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { SignalSink } from './swarm.ts'
import {
  Tracker,
  TrackerError,
  clientIp,
  compactPeer,
  normalizeIp,
  parseIPv4,
  parseIPv6,
  type Announce,
} from './tracker.ts'

const HASH = 'aa'.repeat(20)
const OTHER_HASH = 'bb'.repeat(20)
const pid = (n: number) => n.toString(16).padStart(40, '0')

function ann(n: number, over: Partial<Announce> = {}): Announce {
  return {
    kind: 'tcp',
    infoHash: HASH,
    peerId: pid(n),
    ip: `127.0.0.${(n % 250) + 1}`,
    port: 6000 + n,
    left: 100,
    event: '',
    numwant: 50,
    ...over,
  }
}

function sink(open = true): SignalSink & { open: boolean } {
  return { send: () => {}, bufferedAmount: 0, open }
}

describe('Tracker.announce', () => {
  it('counts seeders (left=0) and leechers and hands each the other peers', () => {
    const t = new Tracker()
    expect(t.announce(ann(1, { left: 0 }), 0)).toEqual({ complete: 1, incomplete: 0, peers: [] })
    const r = t.announce(ann(2), 0)
    expect(r.complete).toBe(1)
    expect(r.incomplete).toBe(1)
    expect(r.peers.map((p) => p.id)).toEqual([pid(1)])
    expect(r.peers[0].ip).toBe('127.0.0.2')
    expect(r.peers[0].port).toBe(6001)
    expect(t.peerCount).toBe(2)
  })

  it('gives seeders no seeders', () => {
    const t = new Tracker()
    t.announce(ann(1, { left: 0 }), 0)
    t.announce(ann(2, { left: 0 }), 0)
    t.announce(ann(3), 0)
    expect(t.announce(ann(1, { left: 0 }), 0).peers.map((p) => p.id)).toEqual([pid(3)])
    expect(
      t
        .announce(ann(3), 0)
        .peers.map((p) => p.id)
        .sort(),
    ).toEqual([pid(1), pid(2)])
  })

  it('moves a leecher that finishes to the seeders and counts the completion once', () => {
    const t = new Tracker()
    t.announce(ann(1, { event: 'started' }), 0)
    const r = t.announce(ann(1, { left: 0, event: 'completed' }), 1)
    expect([r.complete, r.incomplete]).toEqual([1, 0])
    t.announce(ann(1, { left: 0, event: 'completed' }), 2)
    t.announce(ann(1, { left: 0 }), 3)
    expect(t.scrape([HASH])).toEqual([
      { infoHash: HASH, complete: 1, incomplete: 0, downloaded: 1 },
    ])
  })

  it('removes a peer on event=stopped, and a stop for an unknown torrent creates nothing', () => {
    const t = new Tracker()
    t.announce(ann(1, { left: 0 }), 0)
    t.announce(ann(2), 0)
    const r = t.announce(ann(1, { event: 'stopped' }), 1)
    expect([r.complete, r.incomplete, r.peers]).toEqual([0, 1, []])
    expect(t.peerCount).toBe(1)
    expect(t.announce(ann(2), 2).peers).toEqual([])
    t.announce(ann(3, { infoHash: OTHER_HASH, event: 'stopped' }), 3)
    expect(t.swarms.has(OTHER_HASH)).toBe(false)
    expect(t.peerCount).toBe(1)
  })

  it('returns at most numwant distinct peers, never the asker', () => {
    const t = new Tracker()
    for (let i = 0; i < 40; i++) t.announce(ann(i), 0)
    for (const numwant of [0, 1, 5, 39, 100]) {
      const got = t.announce(ann(7, { numwant }), 1).peers.map((p) => p.id)
      expect(got).toHaveLength(Math.min(numwant, 39))
      expect(new Set(got).size).toBe(got.length)
      expect(got).not.toContain(pid(7))
    }
  })

  it('keeps TCP and WebRTC peers apart but counts both', () => {
    const t = new Tracker()
    t.announce(ann(1, { kind: 'rtc', port: 0, sink: sink() }), 0)
    const r = t.announce(ann(2), 0)
    expect(r.peers).toEqual([])
    expect(r.incomplete).toBe(2)
  })

  it('refuses new torrents beyond maxSwarms but keeps serving the known ones', () => {
    const t = new Tracker({ maxSwarms: 2 })
    t.announce(ann(1), 0)
    t.announce(ann(2, { infoHash: OTHER_HASH }), 0)
    expect(() => t.announce(ann(3, { infoHash: 'cc'.repeat(20) }), 0)).toThrow(
      new TrackerError('tracker is full: too many torrents'),
    )
    expect(t.announce(ann(4), 0).peers.map((p) => p.id)).toEqual([pid(1)])
    expect(t.swarms.size).toBe(2)
  })

  it('refuses new peers beyond maxPeers, still updates known ones, and frees room on stop', () => {
    const t = new Tracker({ maxPeers: 2 })
    t.announce(ann(1), 0)
    t.announce(ann(2), 0)
    expect(() => t.announce(ann(3), 0)).toThrow(new TrackerError('tracker is full: too many peers'))
    expect(t.announce(ann(1, { left: 0 }), 1).complete).toBe(1)
    t.announce(ann(2, { event: 'stopped' }), 2)
    expect(t.announce(ann(3), 3).peers.map((p) => p.id)).toEqual([pid(1)])
    expect(t.peerCount).toBe(2)
  })

  it('leaves no empty swarm behind when a full tracker refuses a new torrent', () => {
    const t = new Tracker({ maxPeers: 1 })
    t.announce(ann(1), 0)
    expect(() => t.announce(ann(2, { infoHash: 'ab'.repeat(20) }), 0)).toThrow(/too many peers/)
    expect(t.swarms.size).toBe(1)
  })

  it('refuses a peer_id held by another open WebSocket, and lets a closed one be taken over', () => {
    const t = new Tracker()
    const first = sink()
    t.announce(ann(1, { kind: 'rtc', sink: first }), 0)
    expect(() => t.announce(ann(1, { kind: 'rtc', sink: sink(), ip: '127.0.0.66' }), 1)).toThrow(
      /in use/,
    )
    first.open = false
    const second = sink()
    t.announce(ann(1, { kind: 'rtc', sink: second }), 2)
    expect(t.swarms.get(HASH)!.rtc.get(pid(1))!.sink).toBe(second)
    expect(t.peerCount).toBe(1)
  })

  it('keys classic peers by peer id and address: another address can neither stop nor move one', () => {
    const t = new Tracker()
    t.announce(ann(1, { ip: '127.0.0.1', port: 7000 }), 0)
    t.announce(ann(1, { ip: '127.0.0.9', event: 'stopped' }), 1)
    t.announce(ann(1, { ip: '127.0.0.9', port: 7000 }), 1)
    const swarm = t.swarms.get(HASH)!
    const entries = () => [...swarm.tcp.all()].map((p) => `${p.ip}:${p.port}`).sort()
    expect(entries()).toEqual(['127.0.0.1:7000', '127.0.0.9:7000'])
    // The same address on a new port moves its own entry, compact form and all.
    t.announce(ann(1, { ip: '127.0.0.1', port: 7001 }), 2)
    t.announce(ann(1, { ip: '127.0.0.9', port: 7002 }), 2)
    expect(entries()).toEqual(['127.0.0.1:7001', '127.0.0.9:7002'])
    const compact = [...swarm.tcp.all()].map((p) => [...p.compact!].join('.')).sort()
    expect(compact).toEqual(['127.0.0.1.27.89', '127.0.0.9.27.90'])
    t.announce(ann(1, { ip: '127.0.0.1', event: 'stopped' }), 3)
    expect(entries()).toEqual(['127.0.0.9:7002'])
    // With the first entry gone, the second is still found (no duplicate), and a third
    // address comes in beside it.
    t.announce(ann(1, { ip: '127.0.0.9', port: 7003 }), 4)
    t.announce(ann(1, { ip: '127.0.0.7', port: 7000 }), 4)
    expect(entries()).toEqual(['127.0.0.7:7000', '127.0.0.9:7003'])
    t.announce(ann(1, { ip: '127.0.0.9', event: 'stopped' }), 5)
    t.announce(ann(1, { ip: '127.0.0.7', event: 'stopped' }), 5)
    expect(t.peerCount).toBe(0)
  })
})

describe('Tracker classic peer keys', () => {
  it('holds exactly one entry per (peer id, address), as a plain map keyed by both does', () => {
    const step = fc.record({
      id: fc.nat(2),
      ip: fc.constantFrom('127.0.0.1', '127.0.0.2', '127.0.0.3', '::1'),
      port: fc.integer({ min: 1, max: 3 }),
      stop: fc.boolean(),
    })
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const t = new Tracker()
        const ref = new Map<string, number>()
        for (const { id, ip, port, stop } of steps) {
          t.announce(ann(id, { ip, port, event: stop ? 'stopped' : '' }), 0)
          if (stop) ref.delete(`${pid(id)} ${ip}`)
          else ref.set(`${pid(id)} ${ip}`, port)
        }
        const held = [...(t.swarms.get(HASH)?.tcp.all() ?? [])]
        const got = held.map((p) => `${p.id} ${p.ip} ${p.port}`).sort()
        expect(got).toEqual([...ref].map(([k, port]) => `${k} ${port}`).sort())
        expect(t.peerCount).toBe(ref.size)
      }),
    )
  })
})

describe('Tracker budgets per address', () => {
  const hash = (n: number) => n.toString(16).padStart(40, 'c')
  const from = (ip: string, n: number, over: Partial<Announce> = {}) =>
    ann(n, { ip, infoHash: hash(n), ...over })

  it('caps the torrents one address creates, and counts the refusal', () => {
    const t = new Tracker({ maxSwarmsPerAddress: 3 })
    for (let n = 0; n < 3; n++) t.announce(from('127.0.0.9', n), 0)
    expect(() => t.announce(from('127.0.0.9', 3), 0)).toThrow(/too many new torrents/)
    expect(t.refusals.count('torrents-per-address')).toBe(1)
    // Joining a torrent someone else created costs no creation, and other addresses create.
    t.announce(ann(1, { ip: '127.0.0.2', infoHash: hash(99) }), 0)
    t.announce(ann(2, { ip: '127.0.0.9', infoHash: hash(99) }), 0)
    t.announce(from('127.0.0.2', 4), 0)
    // Once its torrents go (here: its peers stop and the sweep drops the empty swarms), it
    // may create again.
    for (let n = 0; n < 3; n++) t.announce(from('127.0.0.9', n, { event: 'stopped' }), 1)
    t.sweep(1 + t.options.peerTtl * 1000 + 1)
    expect(t.swarms.size).toBe(0)
    t.announce(from('127.0.0.9', 3), 2)
  })

  it('caps the peers one address holds, an IPv6 address by its /64', () => {
    const t = new Tracker({ maxPeersPerAddress: 2 })
    t.announce(from('2001:db8::1', 1), 0)
    t.announce(from('2001:db8::2', 2), 0)
    expect(() => t.announce(from('2001:db8::ffff:3', 3), 0)).toThrow(/too many peers from your/)
    expect(t.refusals.count('peers-per-address')).toBe(1)
    t.announce(from('2001:db8:0:1::1', 3), 0)
    t.announce(from('2001:db8::1', 1), 1)
    t.announce(from('2001:db8::2', 2, { event: 'stopped' }), 1)
    t.announce(from('2001:db8::ffff:3', 3), 1)
  })

  it('when full, takes the oldest torrent of the address that created the most for another', () => {
    const t = new Tracker({ maxSwarms: 10, maxSwarmsPerAddress: 8 })
    for (let n = 0; n < 8; n++) t.announce(from('127.0.0.9', n), n)
    t.announce(from('127.0.0.2', 100), 10)
    t.announce(from('127.0.0.3', 101), 10)
    // Full: a newcomer gets in at the cost of the flooder's oldest torrent.
    t.announce(from('127.0.0.4', 102), 11)
    expect(t.swarms.has(hash(0))).toBe(false)
    expect(t.swarms.has(hash(102))).toBe(true)
    expect(t.swarms.size).toBe(10)
    expect(t.refusals.count('tracker-full')).toBe(1)
    // The flooder itself gets nothing more; nor does anyone once nobody holds more than
    // they would: 127.0.0.4 (with 1) cannot take from 127.0.0.2 (with 1).
    expect(() => t.announce(from('127.0.0.9', 50), 12)).toThrow(/tracker is full/)
    for (let n = 200; n < 206; n++) t.announce(from(`127.0.1.${n - 199}`, n), 12)
    expect(() => t.announce(from('127.0.0.4', 300), 13)).toThrow(/too many torrents/)
    expect(t.swarms.size).toBe(10)
    expect(t.peerCount).toBe(10)
  })

  it('when peers are full, takes the oldest peer of the address that holds the most', () => {
    const t = new Tracker({ maxPeers: 5 })
    for (let n = 0; n < 4; n++) t.announce(ann(n, { ip: '127.0.0.9' }), n)
    t.announce(ann(10, { ip: '127.0.0.2', infoHash: OTHER_HASH }), 5)
    const r = t.announce(ann(11, { ip: '127.0.0.3', infoHash: OTHER_HASH }), 6)
    expect(r.peers.map((p) => p.id)).toEqual([pid(10)])
    expect(t.swarms.get(HASH)!.tcp.get(pid(0))).toBeUndefined()
    expect(t.peerCount).toBe(5)
    expect(() => t.announce(ann(5, { ip: '127.0.0.9' }), 7)).toThrow(/too many peers/)
  })
})

describe('Tracker.scrape', () => {
  it('reports zeros for unknown torrents and live counts for known ones', () => {
    const t = new Tracker()
    t.announce(ann(1, { left: 0 }), 0)
    t.announce(ann(2), 0)
    t.announce(ann(3, { kind: 'rtc', sink: sink() }), 0)
    expect(t.scrape([HASH, OTHER_HASH])).toEqual([
      { infoHash: HASH, complete: 1, incomplete: 2, downloaded: 0 },
      { infoHash: OTHER_HASH, complete: 0, incomplete: 0, downloaded: 0 },
    ])
    expect(t.swarms.has(OTHER_HASH)).toBe(false)
  })
})

describe('Tracker.sweep', () => {
  it('drops peers silent past the TTL, then their empty swarm and its completed count', () => {
    const t = new Tracker({ peerTtl: 60 })
    t.announce(ann(1, { left: 0, event: 'completed' }), 0)
    t.announce(ann(2), 0)
    t.announce(ann(2), 50_000)
    expect(t.sweep(61_000)).toEqual({ peers: 1, swarms: 0 })
    expect(t.peerCount).toBe(1)
    expect(t.scrape([HASH])[0]).toMatchObject({ complete: 0, incomplete: 1, downloaded: 1 })
    expect(t.sweep(111_000)).toEqual({ peers: 1, swarms: 1 })
    expect(t.peerCount).toBe(0)
    expect(t.swarms.size).toBe(0)
    expect(t.scrape([HASH])[0]).toMatchObject({ complete: 0, incomplete: 0, downloaded: 0 })
  })

  it('keeps peers that announce within the TTL', () => {
    const t = new Tracker({ peerTtl: 60 })
    for (let now = 0; now <= 600_000; now += 30_000) {
      t.announce(ann(1), now)
      t.sweep(now)
    }
    expect(t.peerCount).toBe(1)
  })
})

describe('addresses', () => {
  it('packs IPv4 peers into 6 bytes and IPv6 peers into 18 (BEP 23, BEP 7)', () => {
    expect([...compactPeer('127.0.0.1', 6881)!]).toEqual([127, 0, 0, 1, 0x1a, 0xe1])
    const six = compactPeer('::1', 443)!
    expect(six).toHaveLength(18)
    expect([...six.subarray(0, 16)]).toEqual([...new Array(15).fill(0), 1])
    expect([...six.subarray(16)]).toEqual([1, 187])
    expect(compactPeer('not an address', 1)).toBeNull()
    expect(compactPeer('', 1)).toBeNull()
  })

  it('rejects malformed IPv4 text', () => {
    for (const bad of ['1.2.3', '1.2.3.4.5', '256.0.0.1', '1.2.3.-4', '1.2.3.4 ', 'a.b.c.d', '']) {
      expect(parseIPv4(bad)).toBeNull()
    }
  })

  it('reads the IPv6 forms Node gives for socket addresses, and rejects malformed ones', () => {
    expect([...parseIPv6('::')!]).toEqual(new Array(16).fill(0))
    expect([...parseIPv6('1::')!]).toEqual([0, 1, ...new Array(14).fill(0)])
    expect([...parseIPv6('fe80::1:2')!].slice(12)).toEqual([0, 1, 0, 2])
    const bad = ['1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', 'fe80::1%eth0', '12345::', 'g::1']
    bad.push('1:2:3:4:5:6:7:8::', ':', '', '127.0.0.1')
    for (const s of bad) expect(parseIPv6(s), s).toBeNull()
  })

  const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
  const port = fc.integer({ min: 1, max: 65535 })

  it('round-trips any IPv4 address and port through compactPeer', () => {
    fc.assert(
      fc.property(bytes(4), port, (ip, p) => {
        const out = compactPeer(ip.join('.'), p)!
        expect([...out]).toEqual([...ip, p >> 8, p & 0xff])
      }),
    )
  })

  it('round-trips any IPv6 address, written in full or compressed, through compactPeer', () => {
    fc.assert(
      fc.property(bytes(16), port, fc.boolean(), (ip, p, upper) => {
        const groups: string[] = []
        for (let i = 0; i < 16; i += 2) groups.push(((ip[i] << 8) | ip[i + 1]).toString(16))
        const full = groups.join(':')
        // WHATWG URL writes the canonical RFC 5952 form (longest zero run as `::`).
        const canonical = new URL(`http://[${full}]/`).hostname.slice(1, -1)
        for (let text of [full, canonical]) {
          if (upper) text = text.toUpperCase()
          const out = compactPeer(text, p)!
          expect(out, text).not.toBeNull()
          expect([...out]).toEqual([...ip, p >> 8, p & 0xff])
        }
      }),
    )
  })

  it('never accepts text that is not an IPv6 address', () => {
    const text = fc
      .array(fc.constantFrom('0', '1', 'a', 'F', 'g', ':', ':', '::', '.', '%', ' '), {
        maxLength: 24,
      })
      .map((a) => a.join(''))
    fc.assert(
      fc.property(text, (s) => {
        if (parseIPv6(s) !== null) expect(isIPv6(s), s).toBe(true)
      }),
    )
  })

  it('uses the socket address unless a trusted proxy forwards one', () => {
    expect(clientIp('127.0.0.1', '127.0.0.66', false)).toBe('127.0.0.1')
    expect(clientIp('::ffff:127.0.0.1', undefined, false)).toBe('127.0.0.1')
    expect(clientIp('127.0.0.1', '127.0.0.66, 127.0.0.77', true)).toBe('127.0.0.77')
    expect(clientIp('127.0.0.1', ' ::ffff:127.0.0.5 ', true)).toBe('127.0.0.5')
    expect(clientIp('127.0.0.1', '127.0.0.66, ', true)).toBe('127.0.0.1')
    expect(clientIp('127.0.0.1', ['127.0.0.66'], true)).toBe('127.0.0.1')
    expect(normalizeIp('::ffff:7f00:1')).toBe('::ffff:7f00:1')
  })
})

describe('Tracker handoff (handoffState, adopt, release)', () => {
  it('moves classic peers and the completed count to another tracker; WebRTC peers stay', () => {
    const from = new Tracker()
    for (let n = 1; n <= 5; n++) from.announce(ann(n, { left: n === 1 ? 0 : 100 }), n)
    from.announce(ann(6, { event: 'completed', left: 0 }), 6)
    from.announce(ann(7, { kind: 'rtc', sink: sink(), port: 0 }), 7)
    const state = from.handoffState(HASH, 3)!
    // The most recently seen first, capped.
    expect(state.peers.map((p) => p.id)).toEqual([pid(6), pid(5), pid(4)])
    expect(state.downloaded).toBe(1)

    const to = new Tracker()
    expect(to.adopt(from.handoffState(HASH, 100)!, 10)).toBe(6)
    expect(to.adopt(from.handoffState(HASH, 100)!, 11)).toBe(0)
    expect(to.scrape([HASH])).toEqual([
      { infoHash: HASH, complete: 2, incomplete: 4, downloaded: 1 },
    ])
    expect(to.peerCount).toBe(6)

    from.release(HASH)
    expect(from.peerCount).toBe(1)
    expect(from.swarms.get(HASH)!.rtc.size).toBe(1)
    expect(from.scrape([HASH])[0]).toMatchObject({ complete: 0, incomplete: 1, downloaded: 0 })
    from.leave(HASH, 'rtc', pid(7))
    from.release(HASH)
    expect(from.swarms.has(HASH)).toBe(false)
  })

  it('keeps its caps when adopting, and skips addresses it cannot encode', () => {
    const t = new Tracker({ maxPeers: 2, maxSwarms: 1 })
    const peers = [1, 2, 3].map((n) => ({ id: pid(n), ip: '10.0.0.1', port: n, seeder: false }))
    expect(t.adopt({ infoHash: HASH, downloaded: 0, peers }, 0)).toBe(2)
    expect(t.adopt({ infoHash: OTHER_HASH, downloaded: 0, peers }, 0)).toBe(0)
    const u = new Tracker()
    const odd = [{ id: pid(9), ip: 'nowhere', port: 1, seeder: true }]
    expect(u.adopt({ infoHash: HASH, downloaded: 0, peers: odd }, 0)).toBe(0)
  })
})
