// Listings signed a batch at a time (listing format v2, shared/listing.ts): the publisher
// signs one statement naming the root of an RFC 6962 Merkle tree (shared/merkle.ts) over the
// batch, and each listing carries its audit path. A verifier that remembers the signatures
// it has checked good (rememberGoodSignatures) pays one Ed25519 check per batch and a few
// SHA-256s per listing; a listing alone can still be checked with its proof.

import { sha256 } from '@noble/hashes/sha2.js'
import { BoundedMap } from './bounded-map.ts'
import { bytesToHex, sign, type NodeIdentity, type SignatureVerifier } from './identity.ts'
import { MAX_BATCH_LISTINGS, MAX_REMEMBERED_SIGNATURES, MAX_VERIFIED_BATCHES } from './limits.ts'
import {
  LISTING_BATCH_VERSION,
  ListingError,
  batchStatementBytes,
  signingBytes,
  unsignedListing,
  type Listing,
  type ListingBatchProof,
  type ListingDraft,
} from './listing.ts'
import {
  MERKLE_HASH_BYTES,
  merkleAuditPath,
  merkleLeafHash,
  merkleLevels,
  merkleRoot,
  type Sha256,
} from './merkle.ts'

/** Signs for a publisher: a NodeIdentity through identitySigner, or the relay's
 * OpenSslSigner as it is. */
export interface ListingSigner {
  /** The publisher's public key, 64 lowercase hex chars. */
  readonly id: string
  /** The Ed25519 signature (64 bytes) of `message`. */
  sign(message: Uint8Array): Uint8Array
}

export function identitySigner(identity: NodeIdentity): ListingSigner {
  return { id: identity.id, sign: (message) => sign(identity, message) }
}

/**
 * Sanitises and checks every draft as createListing does, then signs them as one batch of
 * v2 listings, in the drafts' order. Throws RangeError for an empty batch or one over
 * MAX_BATCH_LISTINGS, ListingError if a draft cannot be listed or two name one torrent.
 */
export function createListingBatch(
  drafts: readonly ListingDraft[],
  signer: ListingSigner,
  meta: { seq: number; ts: number },
): Listing[] {
  const n = drafts.length
  if (n < 1 || n > MAX_BATCH_LISTINGS) {
    throw new RangeError(`a batch holds 1 to ${MAX_BATCH_LISTINGS} listings`)
  }
  const unsigned = drafts.map((d) => unsignedListing(d, signer.id, meta, LISTING_BATCH_VERSION))
  // One (publisher, torrent) is one listing: a second in the same batch could never be stored.
  if (new Set(unsigned.map((u) => u.infoHash)).size !== n) {
    throw new ListingError('malformed', 'a batch lists each torrent once')
  }
  const levels = merkleLevels(unsigned.map((u) => merkleLeafHash(signingBytes(u))))
  const root = bytesToHex(merkleRoot(levels))
  const sig = bytesToHex(signer.sign(batchStatementBytes(signer.id, root, n)))
  return unsigned.map((u, i) => ({
    ...u,
    batch: { root, n, i, proof: merkleAuditPath(levels, i).map(bytesToHex) },
    sig,
  }))
}

/** Messages longer than this are not remembered: a batch statement is about 100 bytes, and a
 * v1 listing's own bytes (up to MAX_LISTING_BYTES) are signed once and checked once. Bounds
 * the memory of each remembered entry. */
export const MAX_REMEMBERED_MESSAGE_BYTES = 128

/** The memo key of one signature check: its exact bytes, or null when it is not worth
 * remembering (a long message) or cannot be valid (wrong lengths, which would also make
 * the concatenation ambiguous). */
export function signatureMemoKey(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): string | null {
  if (signature.length !== 64 || publicKey.length !== 32) return null
  if (message.length > MAX_REMEMBERED_MESSAGE_BYTES) return null
  return bytesToHex(signature) + bytesToHex(publicKey) + bytesToHex(message)
}

/**
 * `verify`, remembering the checks that passed (at most `maxEntries`, least recently used
 * dropped first), so the 2nd..nth listing of a batch costs no signature check. A failure is
 * never remembered: it is checked again each time, as it would be without the memo.
 */
export function rememberGoodSignatures(
  verify: SignatureVerifier,
  maxEntries = MAX_REMEMBERED_SIGNATURES,
): SignatureVerifier {
  const good = new BoundedMap<string, true>({ maxSize: maxEntries, order: 'lru' })
  return (signature, message, publicKey) => {
    const key = signatureMemoKey(signature, message, publicKey)
    if (key !== null && good.get(key)) return true
    const ok = verify(signature, message, publicKey)
    if (ok && key !== null) good.set(key, true)
    return ok
  }
}

/**
 * Batches whose signature was checked good, with the tree nodes their listings' paths have
 * shown so far. A listing of such a batch is then checked by hashing up from its leaf to the
 * first node already known, and comparing the rest of its proof with the known siblings:
 * the same answer as folding to the root (SHA-256 being collision resistant). The nodes a
 * listing that passes hashed on its way up are known from then on, so a batch's listings
 * cost its n leaf hashes and fewer than n node hashes in all, in any order (about two hashes
 * a listing) instead of a fold each. Keyed by the exact signature, key, root and size, so a
 * listing carrying another signature takes the full check.
 * Fill it only after a real signature check (verifyListing does, given one).
 */
export class VerifiedBatches {
  /** The SHA-256 that verifyListing and these checks use (noble's unless one is given). */
  readonly hash: Sha256
  readonly #batches: BoundedMap<string, BatchNodes>
  /** The batch used last, always the most recently used entry of #batches (every get or set
   * that makes another one so replaces it): a page's listings come a batch at a time, so
   * most find their batch here without building its ~260-character key, and without an LRU
   * move that would change nothing. */
  #last: LastBatch | undefined
  /** 0x01 || left || right, reused for every node hash (RFC 6962 §2.1). */
  readonly #input = new Uint8Array(1 + 2 * MERKLE_HASH_BYTES)
  /** The nodes the last climb passed: positions, each followed by its bytes or its hex. */
  readonly #passed: (number | Uint8Array | string)[] = []

  constructor(maxBatches = MAX_VERIFIED_BATCHES, hash: Sha256 = sha256) {
    this.#batches = new BoundedMap({ maxSize: maxBatches, order: 'lru' })
    this.hash = hash
    this.#input[0] = 1
  }

  /** The nodes known of a batch, as #batches.get(batchKey(…)) gives them. */
  #nodesOf(sig: string, publisher: string, batch: ListingBatchProof) {
    const last = this.#last
    if (
      last !== undefined &&
      last.n === batch.n &&
      last.sig === sig &&
      last.publisher === publisher &&
      last.root === batch.root
    ) {
      return last.nodes
    }
    const nodes = this.#batches.get(batchKey(sig, publisher, batch))
    if (nodes) this.#last = { sig, publisher, root: batch.root, n: batch.n, nodes }
    return nodes
  }

  get size(): number {
    return this.#batches.size
  }

  /** True: the leaf is in a batch checked good (and the nodes it led through are now
   * known). False: it claims one, but its path does not lead there. Null: the batch is not
   * known here (check it in full). `batch` must be well-formed (verifyListing checks it
   * first). */
  includes(
    sig: string,
    publisher: string,
    batch: ListingBatchProof,
    leafHash: Uint8Array,
  ): boolean | null {
    const nodes = this.#nodesOf(sig, publisher, batch)
    if (!nodes) return null
    // Every path is recorded up to the root, so the climb meets a known node by then.
    const c = this.#climb(nodes, batch, leafHash)
    if (!c.met || !restOfPathIsKnown(nodes, batch, c.level, c.i, c.last, c.k)) return false
    nodes.record(this.#passed)
    return true
  }

  /** Records a listing's path, once it folded to the root and the signature checked good. */
  remember(sig: string, publisher: string, batch: ListingBatchProof, leafHash: Uint8Array): void {
    let nodes = this.#nodesOf(sig, publisher, batch)
    if (!nodes) {
      nodes = new BatchNodes(batch.n)
      this.#batches.set(batchKey(sig, publisher, batch), nodes)
      // maxSize >= 1 (BoundedMap's rule): the entry just set is the most recent, and kept.
      this.#last = { sig, publisher, root: batch.root, n: batch.n, nodes }
    }
    // What is above a known node is known already.
    this.#climb(nodes, batch, leafHash)
    nodes.record(this.#passed)
  }

  /** Hashes up a listing's path from its leaf to the first node `nodes` knows (or past the
   * root), leaving the nodes passed below it, with the proof's siblings beside them, in
   * #passed; says where it stopped, and whether the node it brought there is the known one.
   * Bytes all the way: no hex but the proof's own, decoded straight into the hash input. */
  #climb(nodes: BatchNodes, batch: ListingBatchProof, leafHash: Uint8Array): Climb {
    const passed = this.#passed
    passed.length = 0
    const input = this.#input
    let node = leafHash
    let k = 0
    for (let level = 0, i = batch.i, last = batch.n - 1; ; level++, i >>= 1, last >>= 1) {
      const at = nodes.position(level, i)
      const known = nodes.known[at] === 1
      if (known || last === 0) {
        if (!known) passed.push(at, node)
        return { met: known && nodes.holds(at, node), level, i, last, k }
      }
      passed.push(at, node)
      if (i % 2 === 1 || i < last) {
        const sibling = batch.proof[k++]
        const left = i % 2 === 1
        passed.push(left ? at - 1 : at + 1, sibling)
        hexInto(sibling, input, left ? 1 : 1 + MERKLE_HASH_BYTES)
        input.set(node, left ? 1 + MERKLE_HASH_BYTES : 1)
        node = this.hash(input)
      }
    }
  }
}

/** The nodes known of one batch's tree, by position (level after level from the leaves):
 * 32 bytes each in one buffer (a batch of 256 takes 16 KB), and the hex of those a proof
 * was compared with, kept for the next comparison. */
class BatchNodes {
  readonly #levels: number[] = []
  readonly bytes: Uint8Array
  readonly known: Uint8Array
  readonly #hex: (string | undefined)[]

  constructor(n: number) {
    let total = 0
    for (let last = n - 1; ; last >>= 1) {
      this.#levels.push(total)
      total += last + 1
      if (last === 0) break
    }
    this.bytes = new Uint8Array(total * MERKLE_HASH_BYTES)
    this.known = new Uint8Array(total)
    this.#hex = new Array<string | undefined>(total)
  }

  position(level: number, index: number): number {
    return this.#levels[level] + index
  }

  /** Whether the node known at `at` is `hash`. */
  holds(at: number, hash: Uint8Array): boolean {
    const bytes = this.bytes
    for (let j = 0, o = at * MERKLE_HASH_BYTES; j < MERKLE_HASH_BYTES; j++, o++) {
      if (bytes[o] !== hash[j]) return false
    }
    return true
  }

  /** The node known at `at`, as lowercase hex. */
  hex(at: number): string {
    const o = at * MERKLE_HASH_BYTES
    return (this.#hex[at] ??= bytesToHex(this.bytes.subarray(o, o + MERKLE_HASH_BYTES)))
  }

  /** Makes known the nodes a climb passed (positions, each followed by bytes or hex). */
  record(passed: readonly (number | Uint8Array | string)[]): void {
    for (let p = 0; p < passed.length; p += 2) {
      const at = passed[p] as number
      const node = passed[p + 1] as Uint8Array | string
      if (typeof node === 'string') {
        hexInto(node, this.bytes, at * MERKLE_HASH_BYTES)
        this.#hex[at] = node
      } else {
        this.bytes.set(node, at * MERKLE_HASH_BYTES)
        this.#hex[at] = undefined
      }
      this.known[at] = 1
    }
  }
}

/** The batch VerifiedBatches used last, and its key's parts. */
interface LastBatch {
  sig: string
  publisher: string
  root: string
  n: number
  nodes: BatchNodes
}

/** Where a climb stopped: whether it met a known node with the same hash, the level, index
 * and last index there, and how much of the proof it used. */
interface Climb {
  met: boolean
  level: number
  i: number
  last: number
  k: number
}

/** Nibble values of '0'-'9' and 'a'-'f' by char code. */
const NIBBLE = (() => {
  const t = new Uint8Array(128)
  for (let c = 0; c < 16; c++) t['0123456789abcdef'.charCodeAt(c)] = c
  return t
})()

/** Writes 64 lowercase hex chars (checked so by checkListing before) as 32 bytes at `at`. */
function hexInto(hex: string, out: Uint8Array, at: number): void {
  for (let j = 0; j < MERKLE_HASH_BYTES; j++) {
    out[at + j] = (NIBBLE[hex.charCodeAt(2 * j)] << 4) | NIBBLE[hex.charCodeAt(2 * j + 1)]
  }
}

function batchKey(sig: string, publisher: string, batch: ListingBatchProof): string {
  return `${sig}${publisher}${batch.root}${batch.n}`
}

/** Whether the proof's hashes above a known node are the known siblings: a proof right
 * below and wrong above would not fold to the root. */
function restOfPathIsKnown(
  nodes: BatchNodes,
  batch: ListingBatchProof,
  level: number,
  i: number,
  last: number,
  k: number,
): boolean {
  for (; last > 0; level++, i >>= 1, last >>= 1) {
    if (i % 2 === 0 && i >= last) continue
    const at = nodes.position(level, i ^ 1)
    if (nodes.known[at] !== 1 || nodes.hex(at) !== batch.proof[k++]) return false
  }
  return k === batch.proof.length
}
