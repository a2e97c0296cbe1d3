// Rendezvous (highest-random-weight) hashing: which supernodes track an info hash
// (ARCHITECTURE.md, "Supernodes, lookups and load"). Thaler & Ravishankar, "Using
// name-based mappings to increase hit rates", IEEE/ACM ToN 6(1), 1998: every node scores
// every (key, node) pair and the top R scores own the key. Adding a node moves only the keys
// it wins; removing one moves only the keys it owned. Browser and relay run this same code,
// so every node computes the same owners from the same set of ids.
//
// The score (version 1, pinned by test/vectors/rendezvous.json):
//   D(s)        = first 8 bytes, big-endian, of SHA-256("monsoon-hrw-1:" ‖ s), s the
//                 lowercase hex text of an info hash or node id (FIPS 180-4);
//   score(k, n) = fmix64(D(k) xor D(n)), MurmurHash3's 64-bit finaliser;
//   owners(k)   = the R nodes with the highest score, a tie going to the smaller id.
// Why not SHA-256(k ‖ n) for every pair, the textbook choice: a lookup scores every node,
// and one SHA-256 per pair costs ~1 µs in JS, so 1,000 nodes would cost 1 ms per hash
// (bench/supernode-sim measures both). Hashing each id once and mixing the xor of the two
// digests costs a few ns per pair. The digests keep ids an attacker can grind (keys, info
// hashes) from steering the xor directly; fmix64 is a bijection with full avalanche, so the
// scores of one key across nodes, and of one node across keys, behave as independent.
// A set that is queried repeatedly (a relay, the simulation) keeps its node digests in a
// `RendezvousSet`; `rendezvousOwners` is the one-off form.

import { sha256 } from '@noble/hashes/sha2.js'

/** Owners per info hash (R): one can fail or leave while the other keeps answering. */
export const OWNERS_PER_HASH = 2
/** Longest key accepted, in hex chars (a v2 info hash or a node id is 64). */
const MAX_KEY_CHARS = 128
/** Domain tag: keeps these digests apart from any other SHA-256 of the same ids, and short
 * enough that a v1 info hash (40 chars) fits one SHA-256 block. */
const DOMAIN = 'monsoon-hrw-1:'
const HEX = /^[0-9a-f]+$/

/** A 64-bit digest as two unsigned 32-bit halves. */
export interface Digest64 {
  hi: number
  lo: number
}

/** D(s) above, with fmix64's first step (x ^= x >>> 33) already applied: that step is
 * linear, so applying it to each digest before the xor gives the same score. */
export function rendezvousDigest(key: string): Digest64 {
  checkKey(key)
  const text = DOMAIN + key
  const bytes = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i)
  const d = sha256(bytes)
  const hi = ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0
  const lo = ((d[4] << 24) | (d[5] << 16) | (d[6] << 8) | d[7]) >>> 0
  return { hi, lo: (lo ^ (hi >>> 1)) >>> 0 }
}

/** score(k, n) as 16 hex chars (for tests and vectors; the hot loop is inlined below). */
export function rendezvousScore(key: Digest64, node: Digest64): string {
  const out = new Uint32Array(2)
  mixInto(key.hi ^ node.hi, key.lo ^ node.lo, out)
  return out[0].toString(16).padStart(8, '0') + out[1].toString(16).padStart(8, '0')
}

/** The top `r` owners of `infoHash` among `nodeIds`, best first. */
export function rendezvousOwners(
  infoHash: string,
  nodeIds: readonly string[],
  r = OWNERS_PER_HASH,
): string[] {
  return new RendezvousSet(nodeIds).owners(infoHash, r)
}

/** A set of node ids with their digests computed once, for repeated owner queries. */
export class RendezvousSet {
  /** The distinct ids, sorted: an owner's index in `ownerIndices` points here. */
  readonly ids: readonly string[]
  readonly #hi: Uint32Array
  readonly #lo: Uint32Array
  readonly #index = new Map<string, number>()

  constructor(nodeIds: Iterable<string>) {
    this.ids = [...new Set(nodeIds)].sort()
    this.#hi = new Uint32Array(this.ids.length)
    this.#lo = new Uint32Array(this.ids.length)
    this.ids.forEach((id, i) => {
      const d = rendezvousDigest(id)
      this.#hi[i] = d.hi
      this.#lo[i] = d.lo
      this.#index.set(id, i)
    })
  }

  get size(): number {
    return this.ids.length
  }

  has(id: string): boolean {
    return this.#index.has(id)
  }

  /** The top `r` owners of `infoHash`, best first (all nodes when there are fewer). */
  owners(infoHash: string, r = OWNERS_PER_HASH): string[] {
    const k = Math.min(checkR(r), this.ids.length)
    const d = rendezvousDigest(infoHash)
    if (k === 0) return []
    const out = new Int32Array(k)
    this.ownerIndices(d, k, out)
    return Array.from(out, (i) => this.ids[i])
  }

  /**
   * Writes the indices (into `ids`) of the top `r` owners of a key digest into
   * `out[at … at + r)`, best first; `r` must not exceed `size`. The allocation-free form
   * for callers that score many keys.
   */
  ownerIndices(key: Digest64, r: number, out: Int32Array, at = 0): void {
    const n = this.ids.length
    if (r < 1 || r > n || at < 0 || at + r > out.length) throw new RangeError('bad owner range')
    const nodeHi = this.#hi
    const nodeLo = this.#lo
    const kh = key.hi
    const kl = key.lo
    const bestHi = new Float64Array(r).fill(-1)
    const bestLo = new Float64Array(r).fill(-1)
    const bestAt = new Int32Array(r).fill(-1)
    let floorHi = -1
    let floorLo = -1
    for (let i = 0; i < n; i++) {
      // fmix64 of the xor (its first xorshift is folded into the digests): x *= C1;
      // x ^= x >>> 33; x *= C2; x ^= x >>> 33. 64-bit products in 32-bit halves.
      let h = kh ^ nodeHi[i]
      let l = kl ^ nodeLo[i]
      let a0 = l & 0xffff
      let a1 = l >>> 16
      let t = a0 * 0x8ccd
      let m1 = a1 * 0x8ccd + (t >>> 16)
      let m2 = a0 * 0xed55 + (m1 & 0xffff)
      let carry = a1 * 0xed55 + (m1 >>> 16) + (m2 >>> 16)
      h = (carry + Math.imul(h, 0xed558ccd) + Math.imul(l, 0xff51afd7)) | 0
      l = Math.imul(l, 0xed558ccd) ^ (h >>> 1)
      a0 = l & 0xffff
      a1 = l >>> 16
      t = a0 * 0xec53
      m1 = a1 * 0xec53 + (t >>> 16)
      m2 = a0 * 0x1a85 + (m1 & 0xffff)
      carry = a1 * 0x1a85 + (m1 >>> 16) + (m2 >>> 16)
      const sh = (carry + Math.imul(h, 0x1a85ec53) + Math.imul(l, 0xc4ceb9fe)) >>> 0
      if (sh < floorHi) continue
      const sl = (Math.imul(l, 0x1a85ec53) ^ (sh >>> 1)) >>> 0
      // Ids are sorted and scanned in order: on an equal score the smaller id stays ahead.
      if (sh === floorHi && sl <= floorLo) continue
      let j = r - 1
      while (j > 0 && (sh > bestHi[j - 1] || (sh === bestHi[j - 1] && sl > bestLo[j - 1]))) {
        bestHi[j] = bestHi[j - 1]
        bestLo[j] = bestLo[j - 1]
        bestAt[j] = bestAt[j - 1]
        j--
      }
      bestHi[j] = sh
      bestLo[j] = sl
      bestAt[j] = i
      floorHi = bestHi[r - 1]
      floorLo = bestLo[r - 1]
    }
    for (let j = 0; j < r; j++) out[at + j] = bestAt[j]
  }
}

/** The same mix as the loop above, for one pair: writes [hi, lo] of the score. */
function mixInto(h: number, l: number, out: Uint32Array): void {
  const mul = (c: number, cl: number) => {
    const a0 = l & 0xffff
    const a1 = l >>> 16
    const b0 = cl & 0xffff
    const b1 = cl >>> 16
    const t = a0 * b0
    const m1 = a1 * b0 + (t >>> 16)
    const m2 = a0 * b1 + (m1 & 0xffff)
    const carry = a1 * b1 + (m1 >>> 16) + (m2 >>> 16)
    h = (carry + Math.imul(h, cl) + Math.imul(l, c)) | 0
    l = Math.imul(l, cl) ^ (h >>> 1)
  }
  mul(0xff51afd7, 0xed558ccd)
  mul(0xc4ceb9fe, 0x1a85ec53)
  out[0] = h >>> 0
  out[1] = l >>> 0
}

function checkKey(key: string): void {
  if (typeof key !== 'string') throw new TypeError('rendezvous key must be a string')
  if (key.length === 0 || key.length > MAX_KEY_CHARS) {
    throw new RangeError(`rendezvous key must be 1-${MAX_KEY_CHARS} hex chars`)
  }
  if (!HEX.test(key)) throw new TypeError('rendezvous key must be lowercase hex')
}

function checkR(r: number): number {
  if (!Number.isSafeInteger(r) || r < 1) throw new RangeError('r must be a positive integer')
  return r
}
