// The Merkle tree of RFC 6962 §2.1 (Certificate Transparency; RFC 9162 §2.1 says the same):
// leaf hash H(0x00 || data), node hash H(0x01 || left || right), SHA-256, and for n leaves
// the split at the largest power of two below n. The distinct prefixes keep a leaf from
// passing for a node (a second preimage). Built bottom up, that tree is the one where the
// last node of an odd-length level moves up a level unpaired; an audit path is then the
// sibling at each level that has one, lowest first.
//
// Pure and isomorphic. shared/listing-batch.ts signs batches of listings with it.

import { sha256 } from '@noble/hashes/sha2.js'

export const MERKLE_HASH_BYTES = 32

/** SHA-256 of one byte string. noble's by default; a Node process may pass its native one
 * (about 3x faster on a listing's ~500 bytes), which gives the same bytes. */
export type Sha256 = (data: Uint8Array) => Uint8Array

const LEAF_PREFIX = 0
const NODE_PREFIX = 1

/** MTH({d}) = SHA-256(0x00 || d) (RFC 6962 §2.1). */
export function merkleLeafHash(data: Uint8Array, hash: Sha256 = sha256): Uint8Array {
  // One call on one buffer: an incremental hasher costs more to set up than the copy.
  const input = new Uint8Array(1 + data.length)
  input[0] = LEAF_PREFIX
  input.set(data, 1)
  return hash(input)
}

/** MTH({d}) for `framed` = one byte of room, then d: the prefix is written into that byte
 * and `framed` hashed as it is, without merkleLeafHash's copy. */
export function merkleLeafHashFramed(framed: Uint8Array, hash: Sha256 = sha256): Uint8Array {
  framed[0] = LEAF_PREFIX
  return hash(framed)
}

/** SHA-256(0x01 || left || right) (RFC 6962 §2.1). */
export function merkleNodeHash(
  left: Uint8Array,
  right: Uint8Array,
  hash: Sha256 = sha256,
): Uint8Array {
  const input = new Uint8Array(1 + left.length + right.length)
  input[0] = NODE_PREFIX
  input.set(left, 1)
  input.set(right, 1 + left.length)
  return hash(input)
}

/** The levels of the tree over `leafHashes`, leaves first, the root alone last. */
export function merkleLevels(leafHashes: readonly Uint8Array[]): Uint8Array[][] {
  if (leafHashes.length === 0) throw new RangeError('a Merkle tree needs at least one leaf')
  const levels: Uint8Array[][] = [leafHashes.slice()]
  for (let level = levels[0]; level.length > 1;) {
    const up: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) {
      up.push(i + 1 < level.length ? merkleNodeHash(level[i], level[i + 1]) : level[i])
    }
    levels.push(up)
    level = up
  }
  return levels
}

/** The root of levels built by merkleLevels. */
export function merkleRoot(levels: readonly Uint8Array[][]): Uint8Array {
  return levels[levels.length - 1][0]
}

/** PATH(index, D[n]) (RFC 6962 §2.1.1): the audit path of one leaf, from levels. */
export function merkleAuditPath(levels: readonly Uint8Array[][], index: number): Uint8Array[] {
  const size = levels[0].length
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new RangeError('leaf index out of range')
  }
  const path: Uint8Array[] = []
  for (let level = 0, i = index; level < levels.length - 1; level++, i >>= 1) {
    const sibling = i ^ 1
    if (sibling < levels[level].length) path.push(levels[level][sibling])
  }
  return path
}

/** How many hashes the audit path of leaf `index` in a tree of `size` leaves holds. */
export function merkleAuditPathLength(index: number, size: number): number {
  let length = 0
  for (let i = index, last = size - 1; last > 0; i >>= 1, last >>= 1) {
    if (i % 2 === 1 || i < last) length++
  }
  return length
}

/**
 * The root that a leaf hash and its audit path fold to (RFC 9162 §2.1.3.2), or null when the
 * path has the wrong length for (index, size). The caller compares the result with the root
 * it trusts; index and size must already be checked (0 <= index < size).
 */
export function merkleRootFromPath(
  leafHash: Uint8Array,
  index: number,
  size: number,
  path: readonly Uint8Array[],
  hash: Sha256 = sha256,
): Uint8Array | null {
  if (path.length !== merkleAuditPathLength(index, size)) return null
  if (path.some((h) => h.length !== MERKLE_HASH_BYTES)) return null
  let node = leafHash
  let k = 0
  for (let i = index, last = size - 1; last > 0; i >>= 1, last >>= 1) {
    if (i % 2 === 1) node = merkleNodeHash(path[k++], node, hash)
    else if (i < last) node = merkleNodeHash(node, path[k++], hash)
  }
  return node
}
