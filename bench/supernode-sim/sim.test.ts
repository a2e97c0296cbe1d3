// The simulation's models on cases small enough to check by hand.
import { describe, expect, it } from 'vitest'
import { RendezvousSet, rendezvousDigest } from '../../shared/rendezvous.ts'
import {
  gossip,
  hopStats,
  loadPerNode,
  lookupHops,
  maxOverMean,
  moved,
  ownerTable,
  prng,
  randomHex,
} from './sim.js'

describe('supernode-sim models', () => {
  it('is reproducible from its seed', () => {
    expect(randomHex(prng(7), 40)).toBe(randomHex(prng(7), 40))
    expect(randomHex(prng(7), 40)).not.toBe(randomHex(prng(8), 40))
    expect(randomHex(prng(1), 64)).toMatch(/^[0-9a-f]{64}$/)
  })

  it('builds owner tables in global node numbers that match RendezvousSet.owners', () => {
    const rand = prng(3)
    const ids = Array.from({ length: 12 }, () => randomHex(rand, 64))
    const keys = Array.from({ length: 50 }, () => randomHex(rand, 40))
    const digests = keys.map(rendezvousDigest)
    const hi = Uint32Array.from(digests, (d) => d.hi)
    const lo = Uint32Array.from(digests, (d) => d.lo)
    const set = new RendezvousSet(ids)
    const table = ownerTable(set, hi, lo, 2, (id: string) => ids.indexOf(id))
    keys.forEach((k, i) => {
      expect([ids[table[2 * i]], ids[table[2 * i + 1]]]).toEqual(set.owners(k))
    })
    const counts = loadPerNode(table, 12, 2)
    expect(counts.reduce((a, b) => a + b, 0)).toBe(100)
    expect(loadPerNode(table, 12, 2, true).reduce((a, b) => a + b, 0)).toBe(50)
  })

  it('counts moved owner sets and first owners, ignoring order within a set', () => {
    const before = Int32Array.from([0, 1, 2, 3, 4, 5])
    const after = Int32Array.from([1, 0, 2, 9, 4, 5])
    expect(moved(before, after, 2)).toEqual({ set: 1, first: 1 })
    const ratio = maxOverMean(Float64Array.from([2, 4, 100]), Uint8Array.from([1, 1, 0]))
    expect(ratio).toEqual({ max: 4, mean: 3, ratio: 4 / 3 })
  })

  it('counts a hop per node asked, a referral hop, and a hop per dead node', () => {
    const rand = prng(1)
    const trueOwners = Int32Array.from([5, 6])
    const alive = Uint8Array.from([1, 1, 1, 1, 1, 1, 1])
    const viewNodes = Int32Array.from([0, 1, 2, 3, 4, 5, 6])
    const base = { trueOwners, alive, viewNodes, r: 2, rand }
    // Its computed owners are the true ones: one hop.
    expect(lookupHops(0, { ...base, mode: 'computed', viewOwners: trueOwners })).toBe(1)
    // Both computed owners were displaced: asked one, referred, asked again.
    const stale = Int32Array.from([1, 2])
    expect(lookupHops(0, { ...base, mode: 'computed', viewOwners: stale })).toBe(2)
    // Both are dead: two timeouts, then a random node (any answers within two more).
    const dead = Uint8Array.from([1, 0, 0, 1, 1, 1, 1])
    const hops = lookupHops(0, {
      ...base,
      alive: dead,
      viewNodes: Int32Array.from([0, 3, 4, 5, 6]),
      mode: 'computed',
      viewOwners: stale,
    })
    expect(hops === 3 || hops === 4).toBe(true)
    const stats = hopStats(100, (k) => (k < 98 ? 1 : 3))
    expect(stats).toEqual({ lookups: 100, p50: 1, p99: 3, max: 3, mean: 1.04 })
    expect(
      hopStats(
        10,
        () => 2,
        (k) => k < 4,
      ).lookups,
    ).toBe(4)
  })

  it('spreads a record to every node by pushing every round, in about log N rounds', () => {
    const rand = prng(5)
    for (let t = 0; t < 20; t++) {
      const run = gossip(1000, 3, rand, 'every-round')
      expect(run.reached).toBe(1000)
      expect(run.rounds).toBeGreaterThanOrEqual(Math.ceil(Math.log(1000) / Math.log(4)))
      expect(run.rounds).toBeLessThan(20)
    }
    const once = gossip(1000, 3, rand, 'once')
    expect(once.reached).toBeLessThanOrEqual(1000)
    expect(gossip(1, 3, rand, 'every-round')).toEqual({ rounds: 0, reached: 1 })
  })
})
