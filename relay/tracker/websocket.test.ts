import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FakeSocket } from '../test/fake-socket.ts'
import { MAX_OFFERS, MAX_WS_MESSAGES_PER_SECOND } from '../limits.ts'
import { Tracker } from './tracker.ts'
import { WsSocket, WsTrackerConnection, binToHex } from './websocket.ts'

/** A 20-byte id as the protocol's "binary string" (one char per byte). */
const bin = (n: number) =>
  String.fromCharCode(0xff, n & 0xff, (n >> 8) & 0xff, ...new Array(17).fill(0xa0 + (n % 50)))
const HASH = bin(1)
const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n'

const offers = (n: number, tag = 'x') =>
  Array.from({ length: n }, (_, i) => ({
    offer: { type: 'offer', sdp: `${SDP}a=${tag}${i}\r\n` },
    offer_id: `${tag}${String(i).padStart(19, '-')}`.slice(0, 20),
  }))

class Harness {
  readonly tracker = new Tracker()
  now = 0
  /** What the connections' `refer` option answers (null: tracked here). */
  owners: string[] | null = null

  connect(ip = '127.0.0.1') {
    const socket = new FakeSocket()
    const conn = new WsTrackerConnection(socket, ip, this.tracker, {
      interval: 120,
      refer: () => this.owners,
    })
    const send = (msg: unknown) =>
      conn.onMessage(typeof msg === 'string' ? msg : JSON.stringify(msg), (this.now += 1))
    return { socket, conn, send }
  }

  /** A connected peer that has announced on HASH with `n` offers. */
  peer(id: number, fields: Record<string, unknown> = {}) {
    const c = this.connect()
    c.send({ action: 'announce', info_hash: HASH, peer_id: bin(id), numwant: 0, ...fields })
    c.socket.take()
    return c
  }
}

describe('WsTrackerConnection announce', () => {
  it('refers a newcomer for a hash owned elsewhere to the owners, without tracking it', () => {
    const h = new Harness()
    h.owners = ['ws://127.0.0.1:7001/', 'ws://127.0.0.1:7002/']
    const b = h.connect()
    b.send({ action: 'announce', info_hash: HASH, peer_id: bin(2), offers: offers(1) })
    expect(b.socket.take()).toEqual([
      {
        action: 'announce',
        info_hash: HASH,
        'failure reason':
          'monsoon: not tracked here; announce to ws://127.0.0.1:7001/ ws://127.0.0.1:7002/',
        monsoon_owners: h.owners,
      },
    ])
    expect(h.tracker.swarms.size).toBe(0)
  })

  it('keeps serving a peer that joined before its hash moved, and tells it where to go', () => {
    const h = new Harness()
    h.peer(1, { left: 0 })
    const b = h.peer(2)
    h.owners = ['ws://127.0.0.1:7001/']
    b.send({ action: 'announce', info_hash: HASH, peer_id: bin(2), numwant: 0 })
    expect(b.socket.take()).toEqual([
      {
        action: 'announce',
        interval: 120,
        info_hash: HASH,
        complete: 1,
        incomplete: 1,
        'warning message': 'monsoon: moved; announce to ws://127.0.0.1:7001/',
        monsoon_owners: h.owners,
      },
    ])
    // Leaving is always honoured, owner or not.
    b.send({ action: 'announce', info_hash: HASH, peer_id: bin(2), event: 'stopped' })
    expect(h.tracker.swarms.get(h.tracker.swarms.keys().next().value!)!.size).toBe(1)
  })

  it('answers an announce with interval and counts for that info hash', () => {
    const h = new Harness()
    h.peer(1, { left: 0 })
    const b = h.connect()
    b.send({ action: 'announce', info_hash: HASH, peer_id: bin(2), left: 10, event: 'started' })
    expect(b.socket.take()).toEqual([
      { action: 'announce', interval: 120, info_hash: HASH, complete: 1, incomplete: 1 },
    ])
  })

  it('forwards each offer to a different peer and routes the answer back by to_peer_id', () => {
    const h = new Harness()
    const a = h.peer(1)
    const c = h.peer(3)
    const b = h.connect()
    b.send({
      action: 'announce',
      info_hash: HASH,
      peer_id: bin(2),
      numwant: 5,
      offers: offers(5, 'b'),
    })

    const atA = a.socket.take()
    const atC = c.socket.take()
    expect(atA).toHaveLength(1)
    expect(atC).toHaveLength(1)
    for (const m of [...atA, ...atC]) {
      expect(m).toMatchObject({ action: 'announce', peer_id: bin(2), info_hash: HASH })
      expect((m.offer as { type: string }).type).toBe('offer')
    }
    expect(atA[0].offer_id).not.toBe(atC[0].offer_id)
    const offerToA = atA[0]
    expect(offers(5, 'b').find((o) => o.offer_id === offerToA.offer_id)?.offer).toEqual(
      offerToA.offer,
    )
    expect(b.socket.take()).toHaveLength(1)

    const answer = { type: 'answer', sdp: `${SDP}a=answer\r\n` }
    a.send({
      action: 'announce',
      info_hash: HASH,
      peer_id: bin(1),
      to_peer_id: bin(2),
      offer_id: offerToA.offer_id,
      answer,
    })
    expect(b.socket.take()).toEqual([
      { action: 'announce', answer, offer_id: offerToA.offer_id, peer_id: bin(1), info_hash: HASH },
    ])
    expect(c.socket.take()).toEqual([])
    expect(a.socket.take()).toEqual([])
  })

  it('treats left: null (a magnet download before metadata, as WebTorrent sends) as a leecher', () => {
    const h = new Harness()
    const seeder = h.peer(1, { left: 0 })
    const fresh = h.connect()
    fresh.send({
      action: 'announce',
      info_hash: HASH,
      peer_id: bin(2),
      left: null,
      offers: offers(1),
    })
    expect(fresh.socket.take()[0]).toMatchObject({ complete: 1, incomplete: 1 })
    expect(seeder.socket.take()).toHaveLength(1)
    const noLeft = h.connect()
    noLeft.send({ action: 'announce', info_hash: HASH, peer_id: bin(3), offers: offers(1) })
    expect(noLeft.socket.take()[0]).toMatchObject({ complete: 1, incomplete: 2 })
  })

  it('sends no offers from a seeder to seeders', () => {
    const h = new Harness()
    const s1 = h.peer(1, { left: 0 })
    const s2 = h.connect()
    s2.send({ action: 'announce', info_hash: HASH, peer_id: bin(2), left: 0, offers: offers(3) })
    expect(s1.socket.take()).toEqual([])
  })

  it('skips peers whose socket is closing or whose send buffer is full', () => {
    const h = new Harness()
    const closing = h.peer(1)
    const slow = h.peer(2)
    const fine = h.peer(3)
    closing.socket.readyState = 2
    slow.socket.bufferedAmount = 2 * 1024 * 1024
    const b = h.connect()
    b.send({ action: 'announce', info_hash: HASH, peer_id: bin(4), offers: offers(3) })
    expect(closing.socket.sent).toEqual([])
    expect(slow.socket.sent).toEqual([])
    expect(fine.socket.take()).toHaveLength(1)
  })

  it('drops an answer for a peer that is not there, without an error', () => {
    const h = new Harness()
    const a = h.peer(1)
    a.send({
      action: 'announce',
      info_hash: HASH,
      peer_id: bin(1),
      to_peer_id: bin(99),
      offer_id: bin(5),
      answer: { type: 'answer', sdp: SDP },
    })
    expect(a.socket.take()).toEqual([])
  })

  it('removes the peer on event=stopped and when its socket closes', () => {
    const h = new Harness()
    const a = h.peer(1)
    const b = h.peer(2)
    const c = h.peer(3)
    a.send({ action: 'announce', info_hash: HASH, peer_id: bin(1), event: 'stopped' })
    expect(a.socket.take()[0]).toMatchObject({ complete: 0, incomplete: 2 })
    b.conn.onClose()
    expect(h.tracker.peerCount).toBe(1)
    const d = h.connect()
    d.send({ action: 'announce', info_hash: HASH, peer_id: bin(4), offers: offers(5) })
    expect(d.socket.take()[0]).toMatchObject({ complete: 0, incomplete: 2 })
    expect(b.socket.sent).toEqual([])
    expect(a.socket.sent).toEqual([])
    expect(c.socket.take()).toHaveLength(1)
    a.conn.onClose()
    expect(h.tracker.peerCount).toBe(2)
  })

  // A socket's close must not remove the same peer_id after the client reconnected.
  it('keeps a peer that reconnected on a new socket when the old socket closes late', () => {
    const h = new Harness()
    const old = h.peer(1)
    old.socket.readyState = 3
    const fresh = h.peer(1)
    old.conn.onClose()
    expect(h.tracker.peerCount).toBe(1)
    const b = h.connect()
    b.send({ action: 'announce', info_hash: HASH, peer_id: bin(2), offers: offers(1) })
    expect(fresh.socket.take()).toHaveLength(1)
  })

  // Peer ids are public (every forwarded offer carries one): a stranger must not evict a peer.
  it('refuses event=stopped for a peer_id that another open socket holds', () => {
    const h = new Harness()
    h.peer(1)
    const evil = h.connect()
    evil.send({ action: 'announce', info_hash: HASH, peer_id: bin(1), event: 'stopped' })
    expect(h.tracker.peerCount).toBe(1)
  })
})

describe('WsTrackerConnection scrape', () => {
  it('reports counts per binary info hash, for one hash or a list', () => {
    const h = new Harness()
    h.peer(1, { left: 0 })
    h.peer(2, { left: 0, event: 'completed' })
    h.peer(3)
    const other = bin(500)
    const s = h.connect()
    s.send({ action: 'scrape', info_hash: HASH })
    s.send({ action: 'scrape', info_hash: [HASH, other] })
    expect(s.socket.take()).toEqual([
      { action: 'scrape', files: { [HASH]: { complete: 2, incomplete: 1, downloaded: 1 } } },
      {
        action: 'scrape',
        files: {
          [HASH]: { complete: 2, incomplete: 1, downloaded: 1 },
          [other]: { complete: 0, incomplete: 0, downloaded: 0 },
        },
      },
    ])
  })

  it('answers at most 100 hashes of a 10,000-hash scrape', () => {
    const h = new Harness()
    const s = h.connect()
    s.send({ action: 'scrape', info_hash: Array.from({ length: 10_000 }, (_, i) => bin(i)) })
    const [reply] = s.socket.take()
    expect(Object.keys(reply.files as object)).toHaveLength(100)
  })
})

describe('hostile WebSocket tracker input', () => {
  const announce = (fields: Record<string, unknown>) => ({
    action: 'announce',
    info_hash: HASH,
    peer_id: bin(2),
    ...fields,
  })
  const cases: [string, unknown, string][] = [
    ['text that is not JSON', 'GET / HTTP/1.1\r\n', 'invalid JSON'],
    ['a truncated object', '{"action":"announce",', 'invalid JSON'],
    ['a JSON array', '[1,2,3]', 'message must be a JSON object'],
    ['a JSON number', '42', 'message must be a JSON object'],
    ['JSON null', 'null', 'message must be a JSON object'],
    ['an unknown action', { action: 'dance' }, 'invalid action'],
    ['no action', { info_hash: HASH }, 'invalid action'],
    [
      'a 19-char info_hash',
      announce({ info_hash: HASH.slice(1) }),
      'invalid info_hash: must be 20 bytes',
    ],
    ['a numeric info_hash', announce({ info_hash: 12 }), 'invalid info_hash: must be 20 bytes'],
    [
      'chars above 0xff',
      announce({ peer_id: '\u0100'.repeat(20) }),
      'invalid peer_id: must be 20 bytes',
    ],
    ['1,000 offers', announce({ offers: offers(1000) }), `too many offers: at most ${MAX_OFFERS}`],
    ['offers not an array', announce({ offers: { a: 1 } }), 'invalid offers: must be an array'],
    [
      'a 1 MB SDP',
      announce({
        offers: [{ offer: { type: 'offer', sdp: 'a'.repeat(1 << 20) }, offer_id: bin(7) }],
      }),
      'offer SDP too large',
    ],
    [
      'an offer of the wrong type',
      announce({ offers: [{ offer: { type: 'answer', sdp: SDP }, offer_id: bin(7) }] }),
      'invalid offer',
    ],
    [
      'a 19-char offer_id',
      announce({ offers: [{ offer: { type: 'offer', sdp: SDP }, offer_id: bin(7).slice(1) }] }),
      'invalid offer_id: must be 20 bytes',
    ],
    [
      'a 21-char offer_id',
      announce({ offers: [{ offer: { type: 'offer', sdp: SDP }, offer_id: bin(7) + 'x' }] }),
      'invalid offer_id: must be 20 bytes',
    ],
    [
      'an answer with a 1 MB SDP',
      announce({
        answer: { type: 'answer', sdp: 'a'.repeat(1 << 20) },
        to_peer_id: bin(1),
        offer_id: bin(7),
      }),
      'answer SDP too large',
    ],
    [
      'an answer without offer_id',
      announce({ answer: { type: 'answer', sdp: SDP }, to_peer_id: bin(1) }),
      'invalid offer_id: must be 20 bytes',
    ],
    ['an unknown event', announce({ event: 'explode' }), 'invalid event'],
    ['a scrape with no hash', { action: 'scrape' }, 'missing info_hash'],
    [
      'a scrape with a bad hash',
      { action: 'scrape', info_hash: [HASH, 'short'] },
      'invalid info_hash: must be 20 bytes',
    ],
  ]

  it.each(cases)('answers %s with a failure reason and changes nothing', (_, msg, reason) => {
    const h = new Harness()
    const a = h.peer(1)
    const evil = h.connect()
    expect(() => evil.send(msg)).not.toThrow()
    const replies = evil.socket.take()
    expect(replies).toHaveLength(1)
    expect(replies[0]['failure reason']).toBe(reason)
    expect(a.socket.sent).toEqual([])
    expect(h.tracker.peerCount).toBe(1)
  })

  it('carries several peer ids on one connection, as the stock client shares its socket', () => {
    const h = new Harness()
    const c = h.connect()
    c.send({ action: 'announce', info_hash: HASH, peer_id: bin(1) })
    c.send({ action: 'announce', info_hash: HASH, peer_id: bin(2) })
    expect(c.socket.take().map((r) => r['failure reason'])).toEqual([undefined, undefined])
    expect(h.tracker.peerCount).toBe(2)
    c.conn.onClose()
    expect(h.tracker.peerCount).toBe(0)
  })

  it('forwards each offer with the peer id it was announced under, as a socket switches ids', () => {
    const h = new Harness()
    const other = bin(77)
    const first = h.peer(9)
    const second = h.connect()
    second.send({ action: 'announce', info_hash: other, peer_id: bin(8), numwant: 0 })
    second.socket.take()
    const c = h.connect()
    c.send({ action: 'announce', info_hash: HASH, peer_id: bin(1), offers: offers(1, 'a') })
    c.send({ action: 'announce', info_hash: other, peer_id: bin(2), offers: offers(1, 'b') })
    c.send({ action: 'announce', info_hash: HASH, peer_id: bin(1), offers: offers(1, 'c') })
    expect(first.socket.take().map((m) => [m.peer_id, m.info_hash])).toEqual([
      [bin(1), HASH],
      [bin(1), HASH],
    ])
    expect(second.socket.take().map((m) => [m.peer_id, m.info_hash])).toEqual([[bin(2), other]])
    expect(h.tracker.swarms.get(binToHex(other))!.rtc.get(binToHex(bin(2)))!.sink).toBe(c.conn)
  })

  it('refuses a peer_id another open socket from another address is using', () => {
    const h = new Harness()
    h.peer(1)
    const thief = h.connect('127.0.0.66')
    thief.send({ action: 'announce', info_hash: HASH, peer_id: bin(1), offers: offers(1) })
    expect(thief.socket.take()[0]['failure reason']).toBe('peer_id is in use by another connection')
  })

  it('binds a peer_id to its open socket against other addresses, and counts the claim; the same address may take it over', () => {
    const h = new Harness()
    const old = h.peer(1)
    const other = h.connect('127.0.0.66')
    other.send({ action: 'announce', info_hash: HASH, peer_id: bin(1), offers: offers(1) })
    expect(other.socket.take()[0]['failure reason']).toBe('peer_id is in use by another connection')
    other.send({ action: 'announce', info_hash: HASH, peer_id: bin(1), event: 'stopped' })
    expect(h.tracker.refusals.count('peer-id-taken')).toBe(2)
    expect(h.tracker.swarms.get(binToHex(HASH))!.rtc.get(binToHex(bin(1)))!.sink).toBe(old.conn)
    // One client reaching the relay under two tracker URLs (origin and published URL) has two
    // sockets and one peer id: from the same address the newer socket takes the id over.
    const again = h.connect()
    again.send({ action: 'announce', info_hash: HASH, peer_id: bin(1) })
    expect(again.socket.take()[0]['failure reason']).toBeUndefined()
    expect(h.tracker.swarms.get(binToHex(HASH))!.rtc.get(binToHex(bin(1)))!.sink).toBe(again.conn)
    expect(h.tracker.peerCount).toBe(1)
  })

  it('forwards answers only from a member, as its own peer id, to an offer it was sent', () => {
    const h = new Harness()
    const b = h.peer(2)
    const a = h.connect()
    a.send({ action: 'announce', info_hash: HASH, peer_id: bin(1), numwant: 1, offers: offers(1) })
    a.socket.take()
    const offerId = b.socket.take()[0].offer_id as string
    const c = h.peer(3)
    const answer = (peerId: string, over: Record<string, unknown> = {}) => ({
      action: 'announce',
      info_hash: HASH,
      peer_id: peerId,
      to_peer_id: bin(1),
      offer_id: offerId,
      answer: { type: 'answer', sdp: SDP },
      ...over,
    })
    const outsider = h.connect()
    outsider.send(answer(bin(9)))
    // A member answering under another member's id, in a swarm it never joined, to an
    // offer never sent, or to an offer sent to someone else.
    b.send(answer(bin(3)))
    b.send(answer(bin(2), { info_hash: bin(3) }))
    b.send(answer(bin(2), { offer_id: bin(7) }))
    c.send(answer(bin(3)))
    expect(a.socket.take()).toEqual([])
    const refused = [outsider, b, c].flatMap((x) => x.socket.take()).map((r) => r['failure reason'])
    expect(refused).toHaveLength(5)
    for (const reason of refused) expect(reason).toMatch(/^answer refused/)
    expect(h.tracker.refusals.count('signal-not-member')).toBe(5)
    b.send(answer(bin(2)))
    expect(a.socket.take()).toEqual([
      expect.objectContaining({ peer_id: bin(2), offer_id: offerId }),
    ])
    // Once: a second answer to the same offer is refused too.
    b.send(answer(bin(2)))
    expect(a.socket.take()).toEqual([])
    expect(h.tracker.refusals.count('signal-not-member')).toBe(6)
  })

  it(`stops answering after ${MAX_WS_MESSAGES_PER_SECOND} messages a second, says so once, then recovers`, () => {
    const h = new Harness()
    const c = h.connect()
    const scrape = JSON.stringify({ action: 'scrape', info_hash: HASH })
    for (let i = 0; i < MAX_WS_MESSAGES_PER_SECOND + 30; i++) c.conn.onMessage(scrape, 5_000)
    const replies = c.socket.take()
    expect(replies.filter((r) => r.action === 'scrape')).toHaveLength(MAX_WS_MESSAGES_PER_SECOND)
    expect(replies.filter((r) => r['failure reason'])).toEqual([
      { 'failure reason': 'too many messages: slow down' },
    ])
    c.conn.onMessage(scrape, 6_000)
    expect(c.socket.take()).toHaveLength(1)
  })

  it('caps the torrents one connection may join', () => {
    const h = new Harness()
    const c = h.connect()
    for (let i = 0; i < 1001; i++) {
      c.conn.onMessage(
        JSON.stringify({ action: 'announce', info_hash: bin(10_000 + i), peer_id: bin(1) }),
        i * 100,
      )
    }
    const last = c.socket.take().at(-1)!
    expect(last['failure reason']).toBe('too many torrents on one connection')
    expect(h.tracker.peerCount).toBe(1000)
  })

  it('never throws, whatever JSON arrives', () => {
    const id = fc.oneof(fc.constant(HASH), fc.constant(bin(2)), fc.string({ maxLength: 22 }))
    const loose = fc.oneof(fc.jsonValue({ maxDepth: 2 }), id)
    const offer = fc.record(
      {
        offer: fc.oneof(
          loose,
          fc.record({ type: fc.constantFrom('offer', 'answer'), sdp: fc.string() }),
        ),
        offer_id: id,
      },
      { requiredKeys: [] },
    )
    const msg = fc.record(
      {
        action: fc.oneof(fc.constantFrom('announce', 'scrape'), loose),
        info_hash: fc.oneof(id, fc.array(id, { maxLength: 3 }), loose),
        peer_id: id,
        to_peer_id: id,
        offer_id: id,
        offers: fc.oneof(fc.array(offer, { maxLength: 4 }), loose),
        answer: fc.oneof(loose, fc.record({ type: fc.constant('answer'), sdp: fc.string() })),
        event: fc.oneof(fc.constantFrom('started', 'stopped', 'completed', ''), loose),
        left: loose,
        numwant: loose,
      },
      { requiredKeys: [] },
    )
    const h = new Harness()
    h.peer(1)
    fc.assert(
      fc.property(fc.oneof(msg, fc.jsonValue()), (m) => {
        const c = h.connect()
        expect(() => c.send(m)).not.toThrow()
        c.conn.onClose()
      }),
      { numRuns: 1000 },
    )
  })
})

describe('WsSocket', () => {
  it('hands frames to its send and reads the WebSocket state live', () => {
    const ws = { bufferedAmount: 0, readyState: 0 }
    const sent: string[] = []
    const socket = new WsSocket(ws, (data) => sent.push(data))
    ws.readyState = 1
    ws.bufferedAmount = 42
    socket.send('{"action":"announce"}')
    expect([socket.readyState, socket.bufferedAmount, sent]).toEqual([
      1,
      42,
      ['{"action":"announce"}'],
    ])
  })
})

describe('binToHex', () => {
  it('spells any binary string as Buffer does, at the id length and past it (property)', () => {
    const binary = fc.uint8Array({ maxLength: 40 }).map((bytes) => String.fromCharCode(...bytes))
    fc.assert(
      fc.property(binary, (bin) => {
        expect(binToHex(bin)).toBe(Buffer.from(bin, 'latin1').toString('hex'))
      }),
    )
  })
})
