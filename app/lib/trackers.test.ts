import { describe, expect, it } from 'vitest'
import { rendezvousOwners } from '../../shared/rendezvous.ts'
import type { SupernodeRecord } from '../../shared/supernode.ts'
import { MAX_TRACKERS } from './magnet.ts'
import {
  MAX_RELAY_TRACKERS,
  announceList,
  ownerTrackers,
  preferOrigin,
  recordTracker,
  relayTracker,
  sameTrackers,
  trackerKey,
} from './trackers.ts'

const HASH = '0123456789abcdef0123456789abcdef01234567'

/** A record as the page holds it after verification (signature fields do not matter here). */
function record(n: number, role: SupernodeRecord['role'] = 'supernode', urls?: string[]) {
  return {
    v: 1,
    id: n.toString(16).padStart(64, '0'),
    urls: urls ?? [`http://127.0.0.1:${4000 + n}`],
    role,
    capacity: { maxHashes: 100, maxPeers: 100, bandwidth: 100 },
    load: { hashes: 0, peers: 0, bandwidth: 0 },
    seq: 1,
    ts: 0,
    sig: '',
  } satisfies SupernodeRecord
}

const tracker = (n: number) => `ws://127.0.0.1:${4000 + n}/`

describe('relayTracker', () => {
  it('maps a relay URL to its WebSocket tracker', () => {
    expect(relayTracker('http://127.0.0.1:8080')).toBe('ws://127.0.0.1:8080/')
    expect(relayTracker('https://relay.example')).toBe('wss://relay.example/')
    expect(relayTracker('https://relay.example:8443/')).toBe('wss://relay.example:8443/')
    expect(relayTracker('ftp://relay.example')).toBeNull()
    expect(relayTracker('not a url')).toBeNull()
  })
})

describe('trackerKey and sameTrackers', () => {
  it('compare trackers the way the stock client dedupes them', () => {
    expect(trackerKey('ws://A:1/')).toBe(trackerKey('ws://a:1'))
    expect(sameTrackers(['ws://a:1/', 'ws://b:2/'], ['ws://b:2', 'ws://a:1'])).toBe(true)
    expect(sameTrackers(['ws://a:1/'], ['ws://a:1/', 'ws://b:2/'])).toBe(false)
  })
})

describe('ownerTrackers', () => {
  const records = [1, 2, 3, 4, 5].map((n) => record(n))
  const ids = records.map((r) => r.id)

  it('names the top two owners by the relays’ rendezvous hashing, best first', () => {
    const owners = rendezvousOwners(HASH, ids)
    expect(ownerTrackers(HASH, records, false)).toEqual(
      owners.map((id) => tracker(ids.indexOf(id) + 1)),
    )
  })

  it('never picks a candidate', () => {
    const withCandidates = records.map((r, i) => (i < 3 ? { ...r, role: 'candidate' as const } : r))
    expect(ownerTrackers(HASH, withCandidates, false).sort()).toEqual([tracker(4), tracker(5)])
  })

  it('passes a hash seen dead to the next-ranked owner', () => {
    const [first, second] = rendezvousOwners(HASH, ids)
    const third = rendezvousOwners(HASH, ids, 3)[2]
    const at = (id: string) => tracker(ids.indexOf(id) + 1)
    expect(ownerTrackers(HASH, records, false, new Set([first]))).toEqual([at(second), at(third)])
  })

  it('takes the first URL a page over HTTPS can use', () => {
    const r = record(1, 'supernode', ['http://plain.example', 'https://tls.example'])
    expect(recordTracker(r, false)).toBe('ws://plain.example/')
    expect(recordTracker(r, true)).toBe('wss://tls.example/')
    expect(recordTracker(record(2, 'supernode', ['http://plain.example']), true)).toBeNull()
  })

  it('is empty with no supernode known', () => {
    expect(ownerTrackers(HASH, [], false)).toEqual([])
    expect(ownerTrackers(HASH, [record(1, 'candidate')], false)).toEqual([])
  })
})

describe('preferOrigin', () => {
  it('puts the page’s origin first among the URLs of the relay that served it', () => {
    const records = [record(1, 'supernode', ['http://localhost:4001']), record(2)]
    const out = preferOrigin(records, records[0].id, 'http://127.0.0.1:4001')
    expect(out[0].urls).toEqual(['http://127.0.0.1:4001', 'http://localhost:4001'])
    expect(out[1]).toBe(records[1])
    expect(preferOrigin(records, null, 'http://127.0.0.1:4001')).toEqual(records)
  })
})

describe('announceList', () => {
  const origin = 'ws://a:1/'
  const base = { origin, owners: [], relays: [], fromLink: [], secure: false }

  it('falls back to the origin while no owner is known, then the relays and the link', () => {
    expect(
      announceList({
        ...base,
        relays: ['http://a:1', 'http://b:2'],
        fromLink: ['ws://b:2', 'wss://c/'],
      }),
    ).toEqual(['ws://a:1/', 'ws://b:2/', 'wss://c/'])
  })

  it('announces to the owners and not to the origin when the origin does not own the hash', () => {
    const records = [record(1), record(2), record(3, 'candidate')]
    expect(
      announceList({ ...base, owners: [tracker(2), tracker(1)], records, fromLink: [origin] }),
    ).toEqual([tracker(2), tracker(1), origin])
  })

  it('leaves out known relays that do not own the hash, whoever names them', () => {
    const records = [record(1), record(2), record(3), record(4, 'candidate')]
    const list = announceList({
      ...base,
      owners: [tracker(1), tracker(2)],
      records,
      relays: ['http://127.0.0.1:4003', 'http://127.0.0.1:4004', 'http://other:9'],
      fromLink: [tracker(3), tracker(4), 'wss://elsewhere.example/'],
    })
    expect(list).toEqual([tracker(1), tracker(2), 'ws://other:9/', 'wss://elsewhere.example/'])
  })

  it('caps relays outside the supernodes and the whole list', () => {
    const relays = Array.from({ length: 20 }, (_, i) => `http://r${i}:1`)
    const links = Array.from({ length: 20 }, (_, i) => `wss://t${i}/`)
    expect(announceList({ ...base, relays })).toHaveLength(1 + MAX_RELAY_TRACKERS)
    const all = announceList({ ...base, relays, fromLink: links })
    expect(all).toHaveLength(MAX_TRACKERS)
    expect(all.slice(0, 1 + MAX_RELAY_TRACKERS)).toEqual([
      origin,
      ...relays.slice(0, MAX_RELAY_TRACKERS).map((r) => `ws${r.slice(4)}/`),
    ])
  })

  it('leaves plain ws: trackers out of a page served over HTTPS', () => {
    expect(
      announceList({
        ...base,
        origin: 'wss://a/',
        relays: ['http://b:2', 'https://c'],
        fromLink: ['ws://d/', 'wss://e/'],
        secure: true,
      }),
    ).toEqual(['wss://a/', 'wss://c/', 'wss://e/'])
    expect(
      announceList({ ...base, origin: 'wss://a/', owners: ['ws://x/', 'wss://y/'], secure: true }),
    ).toEqual(['wss://y/'])
  })
})
