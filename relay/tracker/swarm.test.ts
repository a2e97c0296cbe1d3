import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PeerSet, Swarm, type Peer } from './swarm.ts'

function peer(id: string, seeder: boolean, lastSeen = 0): Peer {
  const at = { ip: '127.0.0.1', port: 6881, compact: null, ip4: -1 }
  return {
    key: id,
    id,
    infoHash: 'aa'.repeat(20),
    source: at.ip,
    ...at,
    seeder,
    lastSeen,
    sink: null,
  }
}

const ids = (peers: Iterable<Peer>) => [...peers].map((p) => p.id).sort()

/** Checks every structural invariant of a PeerSet, whatever the operations before. */
function expectConsistent(set: PeerSet) {
  const all = [...set.seeders, ...set.leechers]
  expect(new Set(all.map((p) => p.id)).size).toBe(all.length)
  expect(set.size).toBe(all.length)
  for (const p of set.seeders) expect(p.seeder).toBe(true)
  for (const p of set.leechers) expect(p.seeder).toBe(false)
  for (const p of all) expect(set.get(p.id)).toBe(p)
}

describe('PeerSet', () => {
  it('files new peers as seeders or leechers and reports whether they were new', () => {
    const set = new PeerSet()
    expect(set.upsert(peer('a', true))).toBe(true)
    expect(set.upsert(peer('b', false))).toBe(true)
    expect(set.upsert(peer('c', false))).toBe(true)
    expect(ids(set.seeders)).toEqual(['a'])
    expect(ids(set.leechers)).toEqual(['b', 'c'])
    expect(set.upsert(peer('b', true))).toBe(false)
    expect(ids(set.seeders)).toEqual(['a', 'b'])
    expect(ids(set.leechers)).toEqual(['c'])
    expect(set.size).toBe(3)
    expectConsistent(set)
  })

  it('moves a peer whose seeder flag changed, and ignores unknown or unchanged peers', () => {
    const set = new PeerSet()
    const a = peer('a', false)
    set.upsert(a)
    set.upsert(peer('b', false))
    a.seeder = true
    set.reclassify(a, false)
    expect(ids(set.seeders)).toEqual(['a'])
    expect(ids(set.leechers)).toEqual(['b'])
    set.reclassify(a, true)
    set.reclassify(peer('stranger', true), false)
    expect(ids(set.seeders)).toEqual(['a'])
    expect(set.size).toBe(2)
    expectConsistent(set)
  })

  it('removes by id and returns the peer, or undefined when unknown', () => {
    const set = new PeerSet()
    const a = peer('a', true)
    set.upsert(a)
    set.upsert(peer('b', true))
    expect(set.remove('a')).toBe(a)
    expect(set.remove('a')).toBeUndefined()
    expect(set.get('a')).toBeUndefined()
    expect(ids(set.seeders)).toEqual(['b'])
    expectConsistent(set)
  })

  it('expires exactly the peers last seen before the cutoff', () => {
    const set = new PeerSet()
    for (let i = 0; i < 10; i++) set.upsert(peer(`p${i}`, i % 2 === 0, i * 100))
    expect(set.expire(500)).toBe(5)
    expect(ids(set.all())).toEqual(['p5', 'p6', 'p7', 'p8', 'p9'])
    expect(set.expire(500)).toBe(0)
    expectConsistent(set)
  })

  it('picks distinct peers, never the asker, at most `count`', () => {
    const set = new PeerSet()
    for (let i = 0; i < 30; i++) set.upsert(peer(`p${i}`, i < 10))
    for (const r of [0, 0.3, 0.99]) {
      const got = set.pick(7, 'p12', false, () => r)
      expect(got).toHaveLength(7)
      expect(new Set(got.map((p) => p.id)).size).toBe(7)
      expect(got.map((p) => p.id)).not.toContain('p12')
    }
    expect(set.pick(100, 'p12', false, Math.random)).toHaveLength(29)
    expect(set.pick(0, 'p12', false, Math.random)).toEqual([])
    expect(set.pick(-5, 'p12', false, Math.random)).toEqual([])
  })

  it('gives a seeder only leechers, and a leecher both kinds', () => {
    const set = new PeerSet()
    for (let i = 0; i < 5; i++) set.upsert(peer(`s${i}`, true))
    for (let i = 0; i < 5; i++) set.upsert(peer(`l${i}`, false))
    const forSeeder = set.pick(50, 's0', true, Math.random)
    expect(ids(forSeeder)).toEqual(['l0', 'l1', 'l2', 'l3', 'l4'])
    const forLeecher = set.pick(50, 'l0', false, Math.random)
    expect(ids(forLeecher)).toEqual(['l1', 'l2', 'l3', 'l4', 's0', 's1', 's2', 's3', 's4'])
  })

  it('keeps counts and the id index equal to a plain model under any operation sequence', () => {
    const id = fc.integer({ min: 0, max: 11 }).map((n) => `peer${n}`)
    const op = fc.oneof(
      fc.record({ op: fc.constant('upsert' as const), id, seeder: fc.boolean(), t: fc.nat(100) }),
      fc.record({ op: fc.constant('reclassify' as const), id, seeder: fc.boolean() }),
      fc.record({ op: fc.constant('remove' as const), id }),
      fc.record({ op: fc.constant('expire' as const), t: fc.nat(100) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const set = new PeerSet()
        const model = new Map<string, { seeder: boolean; lastSeen: number }>()
        for (const o of ops) {
          if (o.op === 'upsert') {
            const isNew = set.upsert(peer(o.id, o.seeder, o.t))
            expect(isNew).toBe(!model.has(o.id))
            model.set(o.id, { seeder: o.seeder, lastSeen: o.t })
          } else if (o.op === 'reclassify') {
            const known = set.get(o.id)
            if (known) {
              const was = known.seeder
              known.seeder = o.seeder
              set.reclassify(known, was)
              model.get(o.id)!.seeder = o.seeder
            }
          } else if (o.op === 'remove') {
            expect(set.remove(o.id)?.id).toBe(model.has(o.id) ? o.id : undefined)
            model.delete(o.id)
          } else {
            let gone = 0
            for (const [key, m] of model) {
              if (m.lastSeen < o.t) {
                model.delete(key)
                gone++
              }
            }
            expect(set.expire(o.t)).toBe(gone)
          }
          expectConsistent(set)
          const modelIds = (seeder: boolean) =>
            [...model].filter(([, m]) => m.seeder === seeder).map(([k]) => k)
          expect(ids(set.seeders)).toEqual(modelIds(true).sort())
          expect(ids(set.leechers)).toEqual(modelIds(false).sort())
          // A leecher asking for everyone gets every other peer exactly once.
          expect(ids(set.pick(1000, 'nobody', false, Math.random))).toEqual(
            [...model.keys()].sort(),
          )
        }
      }),
    )
  })
})

describe('Swarm', () => {
  it('counts seeders and leechers over TCP and WebRTC peers together', () => {
    const swarm = new Swarm('ab'.repeat(20), 0)
    swarm.set('tcp').upsert(peer('a', true))
    swarm.set('tcp').upsert(peer('b', false))
    swarm.set('rtc').upsert(peer('c', true))
    swarm.set('rtc').upsert(peer('a', false))
    expect(swarm.seeders).toBe(2)
    expect(swarm.leechers).toBe(2)
    expect(swarm.size).toBe(4)
    expect(swarm.set('rtc')).toBe(swarm.rtc)
    expect(swarm.set('tcp')).toBe(swarm.tcp)
  })
})
