import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import vectors from './test/vectors/rfc6962.json'
import {
  merkleAuditPath,
  merkleAuditPathLength,
  merkleLeafHash,
  merkleLevels,
  merkleRoot,
  merkleRootFromPath,
} from './merkle.ts'

// An independent reference: RFC 6962 §2.1 and §2.1.1 as written, recursive, splitting at the
// largest power of two below n.
const H = (...parts: Uint8Array[]) => sha256(new Uint8Array(Buffer.concat(parts)))
const split = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1)
function mth(d: Uint8Array[]): Uint8Array {
  if (d.length === 1) return H(new Uint8Array([0]), d[0])
  const k = split(d.length)
  return H(new Uint8Array([1]), mth(d.slice(0, k)), mth(d.slice(k)))
}
function path(m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length === 1) return []
  const k = split(d.length)
  return m < k
    ? [...path(m, d.slice(0, k)), mth(d.slice(k))]
    : [...path(m - k, d.slice(k)), mth(d.slice(0, k))]
}

const tree = (data: Uint8Array[]) => merkleLevels(data.map((d) => merkleLeafHash(d)))
const hex = (hashes: Uint8Array[]) => hashes.map(bytesToHex)
const leavesArb = fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 70 })

describe('Merkle tree known answers (RFC 6962)', () => {
  const data = vectors.leaves.map((h) => hexToBytes(h))

  it.each(vectors.roots.map((root, i) => ({ n: i + 1, root })))('root of $n leaves', (v) => {
    expect(bytesToHex(merkleRoot(tree(data.slice(0, v.n))))).toBe(v.root)
  })

  it.each(vectors.paths)('audit path of leaf $index of $size', (v) => {
    const levels = tree(data.slice(0, v.size))
    expect(hex(merkleAuditPath(levels, v.index))).toEqual(v.path)
    const leaf = merkleLeafHash(data[v.index])
    const root = merkleRootFromPath(
      leaf,
      v.index,
      v.size,
      v.path.map((h) => hexToBytes(h)),
    )
    expect(bytesToHex(root!)).toBe(vectors.roots[v.size - 1])
  })
})

describe('Merkle tree', () => {
  it('builds the tree and the paths of the recursive definition, for any size', () => {
    fc.assert(
      fc.property(leavesArb, (data) => {
        const levels = tree(data)
        const root = merkleRoot(levels)
        expect(bytesToHex(root)).toBe(bytesToHex(mth(data)))
        data.forEach((d, i) => {
          const p = merkleAuditPath(levels, i)
          expect(hex(p)).toEqual(hex(path(i, data)))
          expect(p.length).toBe(merkleAuditPathLength(i, data.length))
          const folded = merkleRootFromPath(merkleLeafHash(d), i, data.length, p)
          expect(bytesToHex(folded!)).toBe(bytesToHex(root))
        })
      }),
      { numRuns: 60 },
    )
  })

  it('folds to another root when one bit of the leaf or of the path changes', () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), fc.boolean(), (data, at, bit, inPath) => {
        const levels = tree(data)
        const i = at % data.length
        const p = merkleAuditPath(levels, i)
        let leaf = merkleLeafHash(data[i])
        const flip = (h: Uint8Array) => {
          const out = h.slice()
          out[(bit >> 3) % 32] ^= 1 << (bit & 7)
          return out
        }
        if (inPath && p.length > 0) p[bit % p.length] = flip(p[bit % p.length])
        else leaf = flip(leaf)
        const folded = merkleRootFromPath(leaf, i, data.length, p)
        expect(bytesToHex(folded!)).not.toBe(bytesToHex(merkleRoot(levels)))
      }),
      { numRuns: 100 },
    )
  })

  it('folds to another root at another index with a path of the same length', () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), (data, at, other) => {
        const levels = tree(data)
        const n = data.length
        const [i, j] = [at % n, other % n]
        const p = merkleAuditPath(levels, i)
        if (i === j || merkleAuditPathLength(j, n) !== p.length) return
        // Equal leaves make mirror-image subtrees, whose roots fold alike from either side.
        fc.pre(new Set(data.map(bytesToHex)).size === n)
        // Each leaf of a tree of n has its own sequence of left and right turns.
        const folded = merkleRootFromPath(merkleLeafHash(data[i]), j, n, p)
        expect(bytesToHex(folded!)).not.toBe(bytesToHex(merkleRoot(levels)))
      }),
      { numRuns: 100 },
    )
  })

  it('does not bind the tree size by itself (so a signer signs the size beside the root)', () => {
    const data = Array.from({ length: 6 }, (_, i) => new Uint8Array([i]))
    const five = tree(data.slice(0, 5))
    const p = merkleAuditPath(five, 0)
    expect(merkleAuditPathLength(0, 6)).toBe(p.length)
    const as6 = merkleRootFromPath(merkleLeafHash(data[0]), 0, 6, p)
    expect(bytesToHex(as6!)).toBe(bytesToHex(merkleRoot(five)))
  })

  it('gives null for a path of the wrong length or with a hash of the wrong size', () => {
    const data = Array.from({ length: 5 }, (_, i) => new Uint8Array([i]))
    const levels = tree(data)
    const p = merkleAuditPath(levels, 1)
    const leaf = merkleLeafHash(data[1])
    expect(merkleRootFromPath(leaf, 1, 5, p.slice(1))).toBeNull()
    expect(merkleRootFromPath(leaf, 1, 5, [...p, p[0]])).toBeNull()
    expect(merkleRootFromPath(leaf, 1, 5, [p[0].subarray(1), ...p.slice(1)])).toBeNull()
    expect(merkleRootFromPath(leaf, 1, 5, [])).toBeNull()
  })

  it('has an empty path and the leaf hash for a root with one leaf', () => {
    const levels = tree([new Uint8Array([7])])
    expect(merkleAuditPath(levels, 0)).toEqual([])
    expect(merkleAuditPathLength(0, 1)).toBe(0)
    expect(merkleRoot(levels)).toEqual(merkleLeafHash(new Uint8Array([7])))
  })

  it('refuses an empty tree and an index outside it', () => {
    expect(() => merkleLevels([])).toThrow(RangeError)
    const levels = tree([new Uint8Array(), new Uint8Array([1])])
    expect(() => merkleAuditPath(levels, 2)).toThrow(RangeError)
    expect(() => merkleAuditPath(levels, -1)).toThrow(RangeError)
    expect(() => merkleAuditPath(levels, 0.5)).toThrow(RangeError)
  })
})
