import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import vectors from './test/vectors/rendezvous.json'
import {
  OWNERS_PER_HASH,
  RendezvousSet,
  rendezvousDigest,
  rendezvousOwners,
  rendezvousScore,
} from './rendezvous.ts'

// A BigInt rendering of the spec in rendezvous.ts, to check the 32-bit arithmetic against.
const M64 = (1n << 64n) - 1n
function fmix64(x: bigint): bigint {
  x ^= x >> 33n
  x = (x * 0xff51afd7ed558ccdn) & M64
  x ^= x >> 33n
  x = (x * 0xc4ceb9fe1a85ec53n) & M64
  return x ^ (x >> 33n)
}
function referenceDigest(key: string): bigint {
  return BigInt(
    '0x' + bytesToHex(sha256(new TextEncoder().encode(vectors.domain + key))).slice(0, 16),
  )
}
function referenceOwners(key: string, nodes: readonly string[], r: number): string[] {
  const k = referenceDigest(key)
  return [...new Set(nodes)]
    .map((n) => ({ n, s: fmix64(k ^ referenceDigest(n)) }))
    .sort((a, b) => (a.s !== b.s ? (a.s > b.s ? -1 : 1) : a.n < b.n ? -1 : 1))
    .slice(0, r)
    .map((x) => x.n)
}
/** Folded digest (see rendezvousDigest) of an arbitrary 64-bit value, for the mixer test. */
function folded(d: bigint) {
  const hi = Number(d >> 32n)
  return { hi, lo: (Number(d & 0xffffffffn) ^ (hi >>> 1)) >>> 0 }
}

/** Deterministic ids, so balance figures never vary between runs. */
const idOf = (label: string, chars: number) =>
  bytesToHex(sha256(new TextEncoder().encode(label))).slice(0, chars)
const hex = (chars: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${chars}}$`))
const nodeId = hex(64)
const infoHash = hex(40)

describe('rendezvous known answers', () => {
  it.each(vectors.digests)('digest of $key', ({ key, d }) => {
    expect(referenceDigest(key).toString(16).padStart(16, '0')).toBe(d)
    expect(rendezvousDigest(key)).toEqual(folded(BigInt('0x' + d)))
  })

  it.each(vectors.scores)('score of $key with $node', ({ key, node, score }) => {
    expect(rendezvousScore(rendezvousDigest(key), rendezvousDigest(node))).toBe(score)
  })

  it.each(vectors.owners)('top $r of $infoHash', ({ infoHash, r, owners }) => {
    expect(rendezvousOwners(infoHash, vectors.nodes, r)).toEqual(owners)
    expect(new RendezvousSet([...vectors.nodes].reverse()).owners(infoHash, r)).toEqual(owners)
  })
})

describe('rendezvous hashing', () => {
  it('computes fmix64 in 32-bit halves exactly as 64-bit arithmetic does', () => {
    const u64 = fc.bigInt({ min: 0n, max: M64 })
    fc.assert(
      fc.property(u64, u64, (a, b) => {
        const expected = fmix64(a ^ b)
          .toString(16)
          .padStart(16, '0')
        expect(rendezvousScore(folded(a), folded(b))).toBe(expected)
      }),
      {
        numRuns: 2000,
        examples: [
          [0n, 0n],
          [M64, 0n],
          [M64, M64 >> 1n],
          [1n << 63n, 1n],
        ],
      },
    )
  })

  it('returns the top r of the reference ranking, r distinct members', () => {
    fc.assert(
      fc.property(
        infoHash,
        fc.array(nodeId, { maxLength: 30 }),
        fc.integer({ min: 1, max: 6 }),
        (key, nodes, r) => {
          const owners = rendezvousOwners(key, nodes, r)
          expect(owners).toEqual(referenceOwners(key, nodes, r))
          expect(owners).toHaveLength(Math.min(r, new Set(nodes).size))
          expect(new Set(owners).size).toBe(owners.length)
          for (const o of owners) expect(nodes).toContain(o)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('does not depend on the order of the ids or on duplicates', () => {
    fc.assert(
      fc.property(
        infoHash,
        fc.uniqueArray(nodeId, { minLength: 1, maxLength: 20 }),
        (key, nodes) => {
          const shuffled = [...nodes].reverse().concat(nodes.slice(0, 3))
          expect(rendezvousOwners(key, shuffled)).toEqual(rendezvousOwners(key, nodes))
        },
      ),
      { numRuns: 100 },
    )
  })

  it('moves only the hashes a new node wins when it joins', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(nodeId, { minLength: 3, maxLength: 25 }),
        nodeId,
        fc.array(infoHash, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 3 }),
        (nodes, joiner, keys, r) => {
          fc.pre(!nodes.includes(joiner))
          const before = new RendezvousSet(nodes)
          const after = new RendezvousSet([...nodes, joiner])
          for (const key of keys) {
            const old = before.owners(key, r)
            const now = after.owners(key, r)
            if (!now.includes(joiner)) {
              expect(now).toEqual(old)
            } else {
              // The joiner takes its rank; the others keep their order, the last drops off.
              expect(now.filter((o) => o !== joiner)).toEqual(old.slice(0, r - 1))
            }
          }
        },
      ),
      { numRuns: 100 },
    )
  })

  it('moves only the hashes a node owned when it leaves', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(nodeId, { minLength: 3, maxLength: 25 }),
        fc.nat(),
        fc.array(infoHash, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 2 }),
        (nodes, pick, keys, r) => {
          const leaver = nodes[pick % nodes.length]
          const before = new RendezvousSet(nodes)
          const after = new RendezvousSet(nodes.filter((n) => n !== leaver))
          for (const key of keys) {
            const old = before.owners(key, r)
            const now = after.owners(key, r)
            if (!old.includes(leaver)) {
              expect(now).toEqual(old)
            } else {
              // The next-ranked node fills in behind the owners that stay.
              expect(now.slice(0, r - 1)).toEqual(old.filter((o) => o !== leaver))
              expect(now).toEqual(referenceOwners(key, nodes, r + 1).filter((o) => o !== leaver))
            }
          }
        },
      ),
      { numRuns: 100 },
    )
  })

  it('spreads 10,000 hashes evenly over 20 nodes', () => {
    const nodes = Array.from({ length: 20 }, (_, i) => idOf(`balance-node-${i}`, 64))
    const set = new RendezvousSet(nodes)
    const owned = new Map<string, number>()
    const first = new Map<string, number>()
    for (let i = 0; i < 10_000; i++) {
      const owners = set.owners(idOf(`balance-hash-${i}`, 40))
      for (const o of owners) owned.set(o, (owned.get(o) ?? 0) + 1)
      first.set(owners[0], (first.get(owners[0]) ?? 0) + 1)
    }
    // Expected 1,000 each (σ ≈ 31) as owner, 500 (σ ≈ 22) as first owner.
    expect(owned.size).toBe(20)
    for (const count of owned.values()) expect(Math.abs(count - 1000)).toBeLessThan(150)
    for (const count of first.values()) expect(Math.abs(count - 500)).toBeLessThan(110)
  })

  it('writes owner indices for many keys without allocating per key', () => {
    const nodes = Array.from({ length: 50 }, (_, i) => idOf(`n${i}`, 64))
    const set = new RendezvousSet(nodes)
    const out = new Int32Array(2 * OWNERS_PER_HASH)
    const keys = [idOf('k0', 40), idOf('k1', 40)]
    keys.forEach((k, i) => set.ownerIndices(rendezvousDigest(k), 2, out, 2 * i))
    expect([...out].map((i) => set.ids[i])).toEqual(keys.flatMap((k) => set.owners(k)))
    expect(set.size).toBe(50)
    expect(set.has(nodes[7])).toBe(true)
    expect(set.has(idOf('other', 64))).toBe(false)
  })

  it('refuses keys that are not lowercase hex, and bad r', () => {
    const nodes = [idOf('a', 64), idOf('b', 64)]
    expect(() => rendezvousOwners('AB'.repeat(20), nodes)).toThrow(TypeError)
    expect(() => rendezvousOwners('xyz', nodes)).toThrow(TypeError)
    expect(() => rendezvousOwners('', nodes)).toThrow(RangeError)
    expect(() => rendezvousOwners('a'.repeat(129), nodes)).toThrow(RangeError)
    expect(() => rendezvousOwners(idOf('h', 40), ['NOT-HEX'])).toThrow(TypeError)
    expect(() => rendezvousOwners(idOf('h', 40), nodes, 0)).toThrow(RangeError)
    expect(() => rendezvousOwners(idOf('h', 40), nodes, 1.5)).toThrow(RangeError)
    const set = new RendezvousSet(nodes)
    expect(() => set.ownerIndices(rendezvousDigest('ab'), 3, new Int32Array(3))).toThrow(RangeError)
    expect(() => set.ownerIndices(rendezvousDigest('ab'), 2, new Int32Array(3), 2)).toThrow(
      RangeError,
    )
    expect(rendezvousOwners(idOf('h', 40), [])).toEqual([])
    expect(rendezvousOwners(idOf('h', 40), nodes, 5)).toHaveLength(2)
  })
})
