import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  announcePath,
  binaryId,
  compactPeers,
  compactPeers6,
  decodeDict,
  failureReason,
  hex,
  percentEncode,
  scrapeFiles,
  scrapePath,
  type AnnounceParams,
} from '../test/tracker-wire.ts'
import { MAX_NUMWANT, MAX_SCRAPE_HASHES } from '../limits.ts'
import bencode from 'bencode'
import { compactAnswer, handleHttpTracker, type HttpTrackerOptions } from './http.ts'
import type { Peer } from './swarm.ts'
import { Tracker, compactPeer } from './tracker.ts'

const OPTS: HttpTrackerOptions = { interval: 600, minInterval: 300, trustProxy: false }
const HASH = binaryId(1)

function client(tracker: Tracker, opts: HttpTrackerOptions = OPTS) {
  return (url: string, remoteAddress = '127.0.0.1', forwardedFor?: string) =>
    handleHttpTracker(tracker, { url, remoteAddress, forwardedFor }, opts, 1_000)
}

function announce(p: Partial<AnnounceParams> & { n: number }): string {
  return announcePath({ infoHash: HASH, peerId: binaryId(1000 + p.n), port: 7000 + p.n, ...p })
}

describe('HTTP announce (BEP 3, BEP 23)', () => {
  it('answers with counts, intervals and compact peers from the socket address', () => {
    const get = client(new Tracker())
    const first = decodeDict(get(announce({ n: 1, left: 0 }), '127.0.0.1'))
    expect(first).toMatchObject({ complete: 1, incomplete: 0, interval: 600, 'min interval': 300 })
    expect(compactPeers(first.peers)).toEqual([])
    expect(first.peers6).toBeUndefined()

    const second = decodeDict(get(announce({ n: 2 }), '127.0.0.2'))
    expect(second).toMatchObject({ complete: 1, incomplete: 1 })
    expect(compactPeers(second.peers)).toEqual([{ ip: '127.0.0.1', port: 7001 }])
  })

  it('lists dictionaries of address and port when compact=0, never a peer id (asked or not)', () => {
    const get = client(new Tracker())
    get(announce({ n: 1 }), '127.0.0.1')
    const full = decodeDict(get(announce({ n: 2, compact: 0 }), '127.0.0.2'))
    const [peer] = full.peers as Record<string, unknown>[]
    expect(new TextDecoder().decode(peer.ip as Uint8Array)).toBe('127.0.0.1')
    expect(peer.port).toBe(7001)
    expect(Object.keys(peer).sort()).toEqual(['ip', 'port'])

    const bare = decodeDict(get(announce({ n: 2, compact: 0, noPeerId: true }), '127.0.0.2'))
    expect(Object.keys((bare.peers as Record<string, unknown>[])[0]).sort()).toEqual(['ip', 'port'])
  })

  it('keys classic peers by peer id and address: a stop or an announce with a victim id from elsewhere leaves it be', () => {
    const tracker = new Tracker()
    const get = client(tracker)
    get(announce({ n: 1, left: 0 }), '127.0.0.1')
    // The attacker at 127.0.0.66 reuses the victim's id (n: 1), on another port.
    get(announce({ n: 1, event: 'stopped' }), '127.0.0.66')
    get(announce({ n: 1, port: 9999 }), '127.0.0.66')
    const body = decodeDict(get(announce({ n: 3 }), '127.0.0.3'))
    expect(compactPeers(body.peers)).toContainEqual({ ip: '127.0.0.1', port: 7001 })
    expect(body).toMatchObject({ complete: 1, incomplete: 2 })
    // The victim's own stop still removes it.
    get(announce({ n: 1, event: 'stopped' }), '127.0.0.1')
    const after = decodeDict(get(announce({ n: 3 }), '127.0.0.3'))
    expect(compactPeers(after.peers)).toEqual([{ ip: '127.0.0.66', port: 9999 }])
  })

  it('returns IPv6 peers in peers6 (BEP 7) and IPv4-mapped ones as IPv4', () => {
    const get = client(new Tracker())
    get(announce({ n: 1 }), '::1')
    get(announce({ n: 2 }), '::ffff:127.0.0.2')
    const body = decodeDict(get(announce({ n: 3 }), '127.0.0.3'))
    expect(compactPeers(body.peers)).toEqual([{ ip: '127.0.0.2', port: 7002 }])
    expect(compactPeers6(body.peers6)).toEqual([{ ip: '0:0:0:0:0:0:0:1', port: 7001 }])
  })

  it('clamps numwant to the limit, and a non-integer numwant means the default', () => {
    const tracker = new Tracker()
    const get = client(tracker)
    for (let n = 0; n < MAX_NUMWANT + 50; n++) get(announce({ n, port: 1000 + n }))
    const count = (numwant: string) =>
      compactPeers(decodeDict(get(announce({ n: 0, numwant }))).peers).length
    expect(count('1000000000')).toBe(MAX_NUMWANT)
    expect(count('1e9')).toBe(50)
    expect(count('3')).toBe(3)
    expect(count('0')).toBe(0)
    expect(count('-1')).toBe(50)
  })

  it('takes the peer address from the socket, ignoring a forged ip=', () => {
    const get = client(new Tracker())
    get(announce({ n: 1, extra: 'ip=127.0.0.99' }), '127.0.0.1')
    const body = decodeDict(get(announce({ n: 2 }), '127.0.0.2'))
    expect(compactPeers(body.peers)).toEqual([{ ip: '127.0.0.1', port: 7001 }])
  })

  it('ignores X-Forwarded-For unless the relay sits behind a trusted proxy', () => {
    const get = client(new Tracker())
    get(announce({ n: 1 }), '127.0.0.1', '127.0.0.66')
    expect(compactPeers(decodeDict(get(announce({ n: 2 }), '127.0.0.2')).peers)).toEqual([
      { ip: '127.0.0.1', port: 7001 },
    ])

    const proxied = client(new Tracker(), { ...OPTS, trustProxy: true })
    proxied(announce({ n: 1 }), '127.0.0.1', '127.0.0.66, 127.0.0.77')
    expect(compactPeers(decodeDict(proxied(announce({ n: 2 }), '127.0.0.1')).peers)).toEqual([
      { ip: '127.0.0.77', port: 7001 },
    ])
  })

  it('reads ids sent unescaped, escaped in either case, or with + for space', () => {
    const tracker = new Tracker()
    const get = client(tracker)
    const id = new TextEncoder().encode('-AR1360- abc~XYZ.01_')
    const escapedLower = percentEncode(id).toLowerCase()
    const raw = '-AR1360-+abc~XYZ.01_'
    for (const [i, peerId] of [escapedLower, raw].entries()) {
      const url = `/announce?info_hash=${percentEncode(HASH)}&peer_id=${peerId}&port=${7000 + i}`
      expect(failureReason(get(url))).toBeUndefined()
    }
    expect(tracker.peerCount).toBe(1)
    expect([...tracker.swarms.get(hex(HASH))!.tcp.all()][0].id).toBe(hex(id))
  })

  it('frames the compact answer byte for byte as bencode.encode would', () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'))
    const peer = fc
      .record({ ip: fc.oneof(v4, fc.ipV6()), port: fc.integer({ min: 1, max: 65535 }) })
      .map(({ ip, port }): Peer => {
        const compact = compactPeer(ip, port)
        const ip4 = compact?.length === 6 ? Buffer.from(compact).readUInt32BE(0) : -1
        const at = { ip, port, compact, ip4, source: ip }
        return { key: '', id: '', infoHash: '', ...at, seeder: false, lastSeen: 0, sink: null }
      })
    const count = fc.nat(1_000_000)
    fc.assert(
      fc.property(
        fc.array(peer, { maxLength: 60 }),
        count,
        count,
        (peers, complete, incomplete) => {
          const expected: Record<string, unknown> = {
            complete,
            incomplete,
            interval: OPTS.interval,
            'min interval': OPTS.minInterval,
            peers: Buffer.concat(peers.filter((p) => p.ip4 >= 0).map((p) => p.compact!)),
          }
          const six = peers.filter((p) => p.compact?.length === 18)
          if (six.length > 0) expected.peers6 = Buffer.concat(six.map((p) => p.compact!))
          const got = compactAnswer({ complete, incomplete, peers }, OPTS)
          expect(hex(got)).toBe(hex(bencode.encode(expected)))
        },
      ),
    )
  })
})

describe('HTTP scrape (BEP 48)', () => {
  it('keys files by the raw 20-byte hashes and reports seeders, leechers and completions', () => {
    const get = client(new Tracker())
    const other = binaryId(2)
    get(announce({ n: 1 }))
    get(announce({ n: 1, left: 0, event: 'completed' }))
    get(announce({ n: 2 }))
    get(announce({ n: 3, infoHash: other, left: 0 }))
    const files = scrapeFiles(get(scrapePath([HASH, other, binaryId(3), HASH])))
    expect(files.size).toBe(3)
    expect(files.get(hex(HASH))).toEqual({ complete: 1, incomplete: 1, downloaded: 1 })
    expect(files.get(hex(other))).toEqual({ complete: 1, incomplete: 0, downloaded: 0 })
    expect(files.get(hex(binaryId(3)))).toEqual({ complete: 0, incomplete: 0, downloaded: 0 })
  })

  it(`answers at most ${MAX_SCRAPE_HASHES} hashes of a long scrape`, () => {
    const get = client(new Tracker())
    // Printable 20-byte hashes keep 250 of them under the URL limit.
    const hashes = Array.from({ length: 250 }, (_, i) =>
      new TextEncoder().encode(`hash-${String(i).padStart(15, '0')}`),
    )
    const url = `/scrape?${hashes.map((h) => `info_hash=${new TextDecoder().decode(h)}`).join('&')}`
    expect(scrapeFiles(get(url)).size).toBe(MAX_SCRAPE_HASHES)
  })

  it('refuses a full scrape (no info_hash) instead of listing every torrent', () => {
    const get = client(new Tracker())
    get(announce({ n: 1 }))
    expect(failureReason(get('/scrape'))).toBe('missing info_hash')
    expect(failureReason(get('/scrape?foo=bar'))).toBe('missing info_hash')
  })
})

describe('hostile HTTP tracker input', () => {
  const ok = { infoHash: HASH, peerId: binaryId(9), port: 7000 }
  const cases: [string, string, string][] = [
    [
      'a 19-byte info_hash',
      announcePath({ ...ok, infoHash: HASH.subarray(0, 19) }),
      'invalid info_hash: must be 20 bytes',
    ],
    [
      'a 21-byte info_hash',
      announcePath({ ...ok, infoHash: new Uint8Array(21) }),
      'invalid info_hash: must be 20 bytes',
    ],
    [
      'a 19-byte peer_id',
      announcePath({ ...ok, peerId: new Uint8Array(19) }),
      'invalid peer_id: must be 20 bytes',
    ],
    ['port=0', announcePath({ ...ok, port: 0 }), 'invalid port: must be 1-65535'],
    ['port=65536', announcePath({ ...ok, port: 65536 }), 'invalid port: must be 1-65535'],
    ['port=-1', announcePath({ ...ok, port: -1 }), 'invalid port: must be 1-65535'],
    ['port=http', announcePath({ ...ok, port: 'http' }), 'invalid port: must be 1-65535'],
    ['no info_hash', `/announce?peer_id=${percentEncode(ok.peerId)}&port=1`, 'missing info_hash'],
    ['no peer_id', `/announce?info_hash=${percentEncode(HASH)}&port=1`, 'missing peer_id'],
    ['no port', announcePath(ok).replace('port=7000&', ''), 'invalid port: must be 1-65535'],
    ['no query at all', '/announce', 'missing info_hash'],
    ['an unknown event', announcePath({ ...ok, event: 'explode' }), 'invalid event'],
    [
      'a bad percent escape',
      `/announce?info_hash=%zz${percentEncode(HASH.subarray(1))}&peer_id=x`,
      'invalid info_hash: must be 20 bytes',
    ],
    [
      'a truncated escape',
      `/announce?info_hash=${percentEncode(HASH.subarray(1))}%4`,
      'invalid info_hash: must be 20 bytes',
    ],
    [
      'a lone %',
      `/announce?info_hash=${percentEncode(HASH.subarray(1))}%`,
      'invalid info_hash: must be 20 bytes',
    ],
    [
      'non-ASCII in an id',
      `/announce?info_hash=${percentEncode(HASH.subarray(1))}é`,
      'invalid info_hash: must be 20 bytes',
    ],
    [
      'a 10 KB URL',
      announcePath({ ...ok, extra: `pad=${'x'.repeat(10_000)}` }),
      'request too long',
    ],
    [
      'a scrape of 10,000 hashes',
      scrapePath(Array.from({ length: 10_000 }, (_, i) => binaryId(i))),
      'request too long',
    ],
    [
      'a scrape with a short hash',
      scrapePath([HASH.subarray(0, 5)]),
      'invalid info_hash: must be 20 bytes',
    ],
    ['an unknown path', '/announce.php?x=1', 'not found'],
  ]

  it.each(cases)(
    'answers %s with a bencoded failure reason and stores nothing',
    (_, url, reason) => {
      const tracker = new Tracker()
      const get = client(tracker)
      get(announce({ n: 1, left: 0 }))
      const body = get(url)
      expect(failureReason(body)).toBe(reason)
      expect(Object.keys(decodeDict(body))).toEqual(['failure reason'])
      expect(tracker.peerCount).toBe(1)
      expect(tracker.swarms.size).toBe(1)
      expect(decodeDict(get(announce({ n: 2 }))).complete).toBe(1)
    },
  )

  it('never throws and always answers with one bencoded dictionary, whatever the URL', () => {
    const alphabet = [
      '%',
      '&',
      '=',
      '+',
      '?',
      'a',
      'F',
      '0',
      '9',
      'é',
      '\u0000',
      'info_hash',
      'peer_id',
    ]
    alphabet.push('port', 'numwant', 'compact', 'event', 'left', '%ff', '%00', 'stopped', '1')
    const tail = fc.array(fc.constantFrom(...alphabet), { maxLength: 60 }).map((a) => a.join(''))
    const url = fc.tuple(fc.constantFrom('/announce?', '/scrape?', '/announce', '/'), tail)
    const tracker = new Tracker()
    const get = client(tracker)
    fc.assert(
      fc.property(url, ([path, rest]) => {
        const body = decodeDict(get(path + rest))
        expect(
          body['failure reason'] !== undefined || body.files !== undefined || 'interval' in body,
        ).toBe(true)
      }),
      { numRuns: 2000 },
    )
  })
})
