import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_SDP_BYTES, MAX_SIGNALLED_IPS_PER_SDP } from '../limits.ts'
import { FakeSocket } from '../test/fake-socket.ts'
import { SignalledPeers, canonicalIp, sdpAddresses } from './signalled-peers.ts'
import { Tracker } from './tracker.ts'
import { WsTrackerConnection } from './websocket.ts'

/** An offer as Chromium writes one with trickle off (the shape WebTorrent sends). */
const CHROME_OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'm=application 54400 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 203.0.113.7',
  'a=candidate:1467250027 1 udp 2122260223 2d5c8a1e-6b9f-4c37-9a3f-0e1f2a3b4c5d.local 54400 typ host generation 0 network-id 1',
  'a=candidate:842163049 1 udp 1677729535 203.0.113.7 54400 typ srflx raddr 0.0.0.0 rport 0 generation 0 network-cost 999',
  'a=candidate:3 1 udp 1686052607 198.51.100.9 61000 typ srflx raddr 192.168.1.20 rport 54400 generation 0',
  'a=candidate:4 1 udp 41885439 192.0.2.44 50001 typ relay raddr 198.51.100.9 rport 61000 generation 0',
  'a=candidate:5 1 udp 2122129151 2001:DB8:0:0:0:0:0:1 54401 typ host generation 0',
  'a=ice-ufrag:abcd',
  'a=fingerprint:sha-256 AA:BB:CC',
  '',
].join('\r\n')

describe('sdpAddresses', () => {
  it('takes candidate addresses, raddr and c= lines; skips mDNS names and 0.0.0.0', () => {
    expect(sdpAddresses(CHROME_OFFER)).toEqual([
      '203.0.113.7',
      '198.51.100.9',
      '192.168.1.20',
      '192.0.2.44',
      '2001:db8::1',
    ])
  })

  it('reads lines ending in \\n alone, and the last line without one', () => {
    expect(
      sdpAddresses('c=IN IP6 ::ffff:10.0.0.1\na=candidate:1 1 tcp 1 10.0.0.2 9 typ host'),
    ).toEqual(['10.0.0.1', '10.0.0.2'])
  })

  it('reads a c= line trimmed at its end as String.prototype.trimEnd trims it', () => {
    const ends = ['\u00a0', '\t', '\u3000', '\u2028', '\ufeff', '\u200a', ' \r']
    for (const end of ends) {
      expect(sdpAddresses(`v=0\r\nc=IN IP4 192.0.2.7${end}\nc=IN IP4 0.0.0.0${end}`)).toEqual([
        '192.0.2.7',
      ])
    }
    expect(sdpAddresses('c=IN IP4 192.0.2.7\u200b\nc=IN IP4 192.0.2.8/127 2')).toEqual([
      '192.0.2.8',
    ])
  })

  it('reads raddr only where an extension name stands, not a foundation or address', () => {
    const sdp = 'a=candidate:raddr 1 udp 1 10.0.0.3 9 typ host x raddr 10.0.0.4\r\n'
    expect(sdpAddresses(sdp)).toEqual(['10.0.0.3'])
  })

  it('skips what is not an address: names, zones, garbage, ::, short lines', () => {
    const sdp = [
      'c=IN IP4 example.com',
      'c=IN IP6 fe80::1%eth0',
      'c=IN IP6 ::',
      'c=',
      'a=candidate:',
      'a=candidate:1 1 udp 1 1.2.3.04 9 typ host',
      'a=candidate:1 1 udp 1 <script> 9 typ host',
      'c=IN IP4 224.2.1.1/127/3',
    ].join('\r\n')
    expect(sdpAddresses(sdp)).toEqual(['224.2.1.1'])
  })

  it('takes at most the cap from an SDP of 10,000 candidate lines', () => {
    const lines = Array.from(
      { length: 10_000 },
      (_, i) => `a=candidate:${i} 1 udp 1 10.${(i >> 8) & 0xff}.${i & 0xff}.1 9 typ host`,
    )
    const found = sdpAddresses(lines.join('\r\n'))
    expect(found).toHaveLength(MAX_SIGNALLED_IPS_PER_SDP)
    expect(found[0]).toBe('10.0.0.1')
  })

  it('never throws and never returns more than the cap, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), fc.integer({ min: 1, max: 8 }), (s, max) => {
        const found = sdpAddresses(s, max)
        expect(found.length).toBeLessThanOrEqual(max)
        for (const ip of found) expect(canonicalIp(ip)).toBe(ip)
      }),
    )
  })

  it('finds what a plain reading of every trimmed line finds', () => {
    // The reference: each line copied, trimmed and then tested (the fast path skips lines
    // without copying them).
    const reference = (sdp: string, max: number): string[] => {
      const found: string[] = []
      const add = (raw: string | undefined) => {
        const ip = raw === undefined ? null : canonicalIp(raw)
        if (ip === null || ip === '0.0.0.0' || ip === '::' || found.includes(ip)) return
        if (found.length < max) found.push(ip)
      }
      for (const line of sdp.split('\n').map((l) => l.trim())) {
        if (line.startsWith('a=candidate:')) {
          const fields = line.slice('a=candidate:'.length).split(' ')
          add(fields[4])
          for (let i = 8; i + 1 < fields.length; i += 2)
            if (fields[i] === 'raddr') add(fields[i + 1])
        } else if (line.startsWith('c=')) add(line.split(' ')[2]?.split('/')[0])
      }
      return found
    }
    // Lines of SDP-like tokens, some led by white space, with both line endings.
    const lead = fc.constantFrom('', '', ' ', '\t', '\u00a0', '\ufeff', '\r', '\u2028', 'x')
    const kind = fc.constantFrom('a=candidate:', 'c=', 'a=ice-ufrag:', 'm=', '', 'a=cand')
    const token = fc.oneof(
      fc.constantFrom('1', 'udp', 'IN', 'IP4', 'IP6', 'typ', 'host', 'raddr', 'rport', '9'),
      fc.constantFrom('10.0.0.1', '10.0.0.2', '0.0.0.0', '::', '::ffff:10.0.0.1', '2001:db8::1'),
      fc.constantFrom('x.local', '224.2.1.1/127', '', '\r'),
      // White space trimEnd takes at a line's end, and 0.0.0.0 in its spellings.
      fc.constantFrom('\t', '\u00a0', '10.0.0.3\u3000', '10.0.0.4\u2028', '0.0.0.0/8', '0.0.0.00'),
      // Either kind again inside a line, where it names nothing.
      fc.constantFrom('c=IN', 'xc=', 'a=candidate:', 'a=candidate:1'),
      fc.string({ maxLength: 3 }),
    )
    const line = fc
      .tuple(lead, kind, fc.array(token, { maxLength: 12 }))
      .map(([l, k, tokens]) => l + k + tokens.join(' '))
    const sdp = fc
      .tuple(fc.array(line, { maxLength: 12 }), fc.constantFrom('\r\n', '\n'))
      .map(([lines, eol]) => lines.join(eol))
    fc.assert(
      fc.property(sdp, fc.integer({ min: 1, max: 8 }), (text, max) => {
        expect(sdpAddresses(text, max)).toEqual(reference(text, max))
      }),
      { numRuns: 2000 },
    )
  })

  it('reads a 16 KiB SDP (the largest relayed) of repeated candidates', () => {
    const line = 'a=candidate:1 1 udp 1 192.0.2.1 9 typ relay raddr 192.0.2.2 rport 9\r\n'
    const sdp = line.repeat(Math.floor(MAX_SDP_BYTES / line.length))
    expect(sdpAddresses(sdp)).toEqual(['192.0.2.1', '192.0.2.2'])
  })
})

describe('canonicalIp', () => {
  it('gives one spelling per address', () => {
    expect(canonicalIp('192.0.2.1')).toBe('192.0.2.1')
    expect(canonicalIp('::ffff:192.0.2.1')).toBe('192.0.2.1')
    expect(canonicalIp('::FFFF:c000:0201')).toBe('192.0.2.1')
    expect(canonicalIp('2001:0DB8::0001')).toBe('2001:db8::1')
    expect(canonicalIp('x.local')).toBeNull()
    expect(canonicalIp('')).toBeNull()
  })
})

describe('SignalledPeers', () => {
  const SDP = 'a=candidate:1 1 udp 1 198.51.100.9 9 typ srflx raddr 192.168.1.20 rport 9\r\n'

  it('permits the SDP addresses and the sender to the recipient only', () => {
    const table = new SignalledPeers()
    table.record('203.0.113.1', SDP, '198.51.100.10', 1000)
    expect(table.mayPermit('203.0.113.1', '198.51.100.9', 1000)).toBe(true)
    expect(table.mayPermit('203.0.113.1', '192.168.1.20', 1000)).toBe(true)
    expect(table.mayPermit('203.0.113.1', '198.51.100.10', 1000)).toBe(true)
    expect(table.mayPermit('203.0.113.1', '198.51.100.11', 1000)).toBe(false)
    // Signalling is one way: the sender was not told about the recipient by this SDP.
    expect(table.mayPermit('198.51.100.10', '203.0.113.1', 1000)).toBe(false)
    expect(table.size).toBe(3)
  })

  it('matches addresses whatever their spelling', () => {
    const table = new SignalledPeers()
    table.record('::ffff:203.0.113.1', 'c=IN IP6 2001:DB8::0:1\r\n', '::ffff:198.51.100.10', 0)
    expect(table.mayPermit('203.0.113.1', '2001:db8::1', 0)).toBe(true)
    expect(table.mayPermit('::ffff:203.0.113.1', '198.51.100.10', 0)).toBe(true)
  })

  it('lets a pair expire, and a new record renew it', () => {
    const table = new SignalledPeers({ ttlMs: 600_000 })
    table.record('203.0.113.1', SDP, '198.51.100.10', 0)
    expect(table.mayPermit('203.0.113.1', '198.51.100.9', 599_999)).toBe(true)
    expect(table.mayPermit('203.0.113.1', '198.51.100.9', 600_000)).toBe(false)
    table.record('203.0.113.1', 'c=IN IP4 198.51.100.9\r\n', '198.51.100.10', 600_000)
    expect(table.mayPermit('203.0.113.1', '198.51.100.9', 1_000_000)).toBe(true)
    // The raddr was not signalled again and has gone.
    expect(table.mayPermit('203.0.113.1', '192.168.1.20', 600_000)).toBe(false)
    expect(table.size).toBe(2)
  })

  it('forgets recipients whose records all expired as new records come in', () => {
    const table = new SignalledPeers({ ttlMs: 1000 })
    for (let i = 0; i < 100; i++) table.record(`10.0.0.${i}`, SDP, '198.51.100.10', 0)
    expect(table.size).toBe(300)
    table.record('10.0.1.1', SDP, '198.51.100.10', 1000)
    expect(table.size).toBe(3)
  })

  it('keeps at most maxPerRecipient peers, the least recently signalled dropped', () => {
    const table = new SignalledPeers({ maxPerRecipient: 4 })
    for (let i = 1; i <= 6; i++) table.record('203.0.113.1', '', `198.51.100.${i}`, i)
    expect(table.size).toBe(4)
    expect(table.mayPermit('203.0.113.1', '198.51.100.2', 6)).toBe(false)
    expect(table.mayPermit('203.0.113.1', '198.51.100.3', 6)).toBe(true)
    expect(table.mayPermit('203.0.113.1', '198.51.100.6', 6)).toBe(true)
  })

  it('keeps at most maxPairs in all, dropping the recipient signalled least recently', () => {
    const table = new SignalledPeers({ maxPairs: 10, maxPerRecipient: 4 })
    for (let i = 0; i < 10; i++) table.record(`10.0.0.${i}`, SDP, '198.51.100.10', i)
    expect(table.size).toBeLessThanOrEqual(10)
    expect(table.mayPermit('10.0.0.9', '198.51.100.9', 10)).toBe(true)
    expect(table.mayPermit('10.0.0.0', '198.51.100.9', 10)).toBe(false)
  })

  it('stays bounded under a flood of hostile SDPs from many recipients', () => {
    const table = new SignalledPeers({ maxPairs: 1000, maxPerRecipient: 50 })
    const flood = Array.from({ length: 10_000 }, (_, i) => `c=IN IP4 10.1.${i >> 8}.${i & 0xff}`)
    for (let r = 0; r < 200; r++) table.record(`10.2.0.${r}`, flood.join('\n'), '10.3.0.1', r)
    expect(table.size).toBeLessThanOrEqual(1000)
  })

  it('ignores a recipient that is not an address, and an SDP that names none', () => {
    const table = new SignalledPeers()
    table.record('not-an-ip', SDP, '198.51.100.10', 0)
    table.record('203.0.113.1', 'v=0\r\n', 'nor-this', 0)
    expect(table.size).toBe(0)
    expect(table.mayPermit('not-an-ip', '198.51.100.9', 0)).toBe(false)
  })

  it('holds what a plain table, walked on every record, would hold (property)', () => {
    const ip = fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3', '::ffff:10.0.0.1', 'x')
    const step = fc.record({
      to: ip,
      from: ip,
      sdp: fc.constantFrom('', 'c=IN IP4 10.0.0.2\r\n', 'c=IN IP4 10.0.0.3\nc=IN IP4 10.0.0.4'),
      dt: fc.constantFrom(0, 1, 5, 10, 11, 30),
    })
    const limits = fc.record({
      ttlMs: fc.integer({ min: 1, max: 20 }),
      maxPerRecipient: fc.integer({ min: 1, max: 3 }),
      maxPairs: fc.integer({ min: 3, max: 8 }),
      maxIpsPerSdp: fc.integer({ min: 1, max: 2 }),
    })
    const addresses = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']
    fc.assert(
      fc.property(limits, fc.array(step, { maxLength: 60 }), (options, steps) => {
        const table = new SignalledPeers(options)
        const reference = new PlainSignalledPeers(options)
        let now = 0
        for (const { to, from, sdp, dt } of steps) {
          now += dt
          table.record(to, sdp, from, now)
          reference.record(to, sdp, from, now)
          expect(table.size).toBe(reference.size)
          for (const client of addresses) {
            for (const peer of addresses) {
              expect(table.mayPermit(client, peer, now)).toBe(reference.expiry(client, peer) > now)
            }
          }
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('refuses limits that cannot hold together', () => {
    expect(() => new SignalledPeers({ maxPairs: 1, maxPerRecipient: 2 })).toThrow(RangeError)
    expect(() => new SignalledPeers({ ttlMs: 0 })).toThrow(RangeError)
  })
})

describe('WsTrackerConnection with a SignalledPeers table', () => {
  const HASH = 'h'.repeat(20)
  const id = (c: string) => c.repeat(20)
  const offerSdp = 'a=candidate:1 1 udp 1 198.51.100.1 9 typ srflx raddr 0.0.0.0 rport 0\r\n'
  const answerSdp = 'a=candidate:1 1 udp 1 203.0.113.2 9 typ host\r\n'

  function connect(tracker: Tracker, ip: string, signalled?: SignalledPeers) {
    const socket = new FakeSocket()
    const conn = new WsTrackerConnection(socket, ip, tracker, { interval: 120, signalled })
    return { socket, send: (msg: unknown) => conn.onMessage(JSON.stringify(msg), 5000) }
  }

  it('records what the offer told its recipient and what the answer told the offerer', () => {
    const tracker = new Tracker()
    const table = new SignalledPeers()
    const a = connect(tracker, '10.0.0.1', table)
    const b = connect(tracker, '10.0.0.2', table)
    a.send({ action: 'announce', info_hash: HASH, peer_id: id('a'), numwant: 0, left: 0 })
    b.send({
      action: 'announce',
      info_hash: HASH,
      peer_id: id('b'),
      offers: [{ offer: { type: 'offer', sdp: offerSdp }, offer_id: id('o') }],
    })
    expect(a.socket.take().find((m) => m.offer)).toBeDefined()
    expect(table.mayPermit('10.0.0.1', '198.51.100.1', 5000)).toBe(true)
    expect(table.mayPermit('10.0.0.1', '10.0.0.2', 5000)).toBe(true)
    expect(table.mayPermit('10.0.0.2', '198.51.100.1', 5000)).toBe(false)
    expect(table.size).toBe(2)

    a.send({
      action: 'announce',
      info_hash: HASH,
      peer_id: id('a'),
      to_peer_id: id('b'),
      offer_id: id('o'),
      answer: { type: 'answer', sdp: answerSdp },
    })
    expect(b.socket.take().find((m) => m.answer)).toBeDefined()
    expect(table.mayPermit('10.0.0.2', '203.0.113.2', 5000)).toBe(true)
    expect(table.mayPermit('10.0.0.2', '10.0.0.1', 5000)).toBe(true)
    expect(table.size).toBe(4)
  })

  it('records nothing for an SDP that was not forwarded', () => {
    const tracker = new Tracker()
    const table = new SignalledPeers()
    const b = connect(tracker, '10.0.0.2', table)
    b.send({
      action: 'announce',
      info_hash: HASH,
      peer_id: id('b'),
      offers: [{ offer: { type: 'offer', sdp: offerSdp }, offer_id: id('o') }],
    })
    b.send({
      action: 'announce',
      info_hash: HASH,
      peer_id: id('b'),
      to_peer_id: id('z'),
      offer_id: id('o'),
      answer: { type: 'answer', sdp: answerSdp },
    })
    expect(table.size).toBe(0)
  })
})

/** The table as first written: every record walks both maps and moves its keys. The
 * reference the property test holds SignalledPeers to. */
class PlainSignalledPeers {
  readonly #recipients = new Map<string, { peers: Map<string, number>; lastAt: number }>()
  #pairs = 0

  constructor(
    readonly options: {
      ttlMs: number
      maxPerRecipient: number
      maxPairs: number
      maxIpsPerSdp: number
    },
  ) {}

  get size(): number {
    return this.#pairs
  }

  record(recipientIp: string, sdp: string, senderIp: string, nowMs: number): void {
    const to = canonicalIp(recipientIp)
    if (to === null) return
    const ips = sdpAddresses(sdp, this.options.maxIpsPerSdp)
    const sender = canonicalIp(senderIp)
    if (sender !== null && !ips.includes(sender)) ips.push(sender)
    if (ips.length === 0) return
    for (const [ip, r] of this.#recipients) {
      if (r.lastAt + this.options.ttlMs > nowMs) break
      this.#recipients.delete(ip)
      this.#pairs -= r.peers.size
    }
    let recipient = this.#recipients.get(to)
    if (recipient) {
      this.#recipients.delete(to)
      for (const [ip, expires] of recipient.peers) {
        if (expires > nowMs) break
        recipient.peers.delete(ip)
        this.#pairs--
      }
    } else {
      recipient = { peers: new Map(), lastAt: nowMs }
    }
    recipient.lastAt = nowMs
    this.#recipients.set(to, recipient)
    const expires = nowMs + this.options.ttlMs
    for (const ip of ips) {
      if (recipient.peers.delete(ip)) this.#pairs--
      recipient.peers.set(ip, expires)
      this.#pairs++
      if (recipient.peers.size > this.options.maxPerRecipient) {
        recipient.peers.delete(recipient.peers.keys().next().value!)
        this.#pairs--
      }
    }
    while (this.#pairs > this.options.maxPairs) {
      const [oldest, held] = this.#recipients.entries().next().value!
      this.#recipients.delete(oldest)
      this.#pairs -= held.peers.size
    }
  }

  /** When `client` stops being permitted `peer` (both as canonicalIp spells them). */
  expiry(client: string, peer: string): number {
    return this.#recipients.get(client)?.peers.get(peer) ?? -Infinity
  }
}
