// Listings signed a batch at a time (listing format v2, shared/listing.ts): the publisher
// signs one statement naming the root of an RFC 6962 Merkle tree (shared/merkle.ts) over the
// batch, and each listing carries its audit path. A verifier that remembers the signatures
// it has checked good (rememberGoodSignatures) pays one Ed25519 check per batch and a few
// SHA-256s per listing; a listing alone can still be checked with its proof.

import { sha256 } from '@noble/hashes/sha2.js'
import { BoundedMap } from './bounded-map.ts'
import {
  bytesToHex,
  hexToBytes,
  sign,
  type NodeIdentity,
  type SignatureVerifier,
} from './identity.ts'
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
  merkleAuditPath,
  merkleLeafHash,
  merkleLevels,
  merkleNodeHash,
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

/** A node's position in its tree: level (0 = leaves) and index, as one number. */
const position = (level: number, index: number) => level * 2 * MAX_BATCH_LISTINGS + index

/**
 * Batches whose signature was checked good, with the tree nodes their listings' paths have
 * shown so far (hex, by position). A listing of such a batch is then checked by hashing up
 * from its leaf to the first node already known, and comparing the rest of its proof with
 * the known siblings: the same answer as folding to the root (SHA-256 being collision
 * resistant). The nodes a listing that passes hashed on its way up are known from then on,
 * so a batch's listings cost its n leaf hashes and fewer than n node hashes in all, in any
 * order (about two hashes a listing) instead of a fold each. Keyed by the exact signature,
 * key, root and size, so a listing carrying another signature takes the full check.
 * Fill it only after a real signature check (verifyListing does, given one).
 */
export class VerifiedBatches {
  /** The SHA-256 that verifyListing and these checks use (noble's unless one is given). */
  readonly hash: Sha256
  readonly #batches: BoundedMap<string, Map<number, string>>
  /** The batch used last, always the most recently used entry of #batches (every get or set
   * that makes another one so replaces it): a page's listings come a batch at a time, so
   * most find their batch here without building its ~260-character key, and without an LRU
   * move that would change nothing. */
  #last: LastBatch | undefined

  constructor(maxBatches = MAX_VERIFIED_BATCHES, hash: Sha256 = sha256) {
    this.#batches = new BoundedMap({ maxSize: maxBatches, order: 'lru' })
    this.hash = hash
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
    if (c.known !== c.hash || !restOfPathIsKnown(nodes, batch, c.level, c.i, c.last, c.k)) {
      return false
    }
    record(nodes, c.passed)
    return true
  }

  /** Records a listing's path, once it folded to the root and the signature checked good. */
  remember(sig: string, publisher: string, batch: ListingBatchProof, leafHash: Uint8Array): void {
    let nodes = this.#nodesOf(sig, publisher, batch)
    if (!nodes) {
      nodes = new Map()
      this.#batches.set(batchKey(sig, publisher, batch), nodes)
      // maxSize >= 1 (BoundedMap's rule): the entry just set is the most recent, and kept.
      this.#last = { sig, publisher, root: batch.root, n: batch.n, nodes }
    }
    // What is above a known node is known already.
    record(nodes, this.#climb(nodes, batch, leafHash).passed)
  }

  /** Hashes up a listing's path from its leaf to the first node `nodes` knows (or past the
   * root): the nodes passed below it, with the proof's siblings beside them, and where it
   * stopped. */
  #climb(nodes: Map<number, string>, batch: ListingBatchProof, leafHash: Uint8Array): Climb {
    const passed: (number | string)[] = []
    let node = leafHash
    let k = 0
    for (let level = 0, i = batch.i, last = batch.n - 1; ; level++, i >>= 1, last >>= 1) {
      const at = position(level, i)
      const hash = bytesToHex(node)
      const known = nodes.get(at)
      if (known !== undefined || last === 0) {
        if (known === undefined) passed.push(at, hash)
        return { passed, known, hash, level, i, last, k }
      }
      passed.push(at, hash)
      if (i % 2 === 1) {
        passed.push(position(level, i - 1), batch.proof[k])
        node = merkleNodeHash(hexToBytes(batch.proof[k++]), node, this.hash)
      } else if (i < last) {
        passed.push(position(level, i + 1), batch.proof[k])
        node = merkleNodeHash(node, hexToBytes(batch.proof[k++]), this.hash)
      }
    }
  }
}

/** The batch VerifiedBatches used last, and its key's parts. */
interface LastBatch {
  sig: string
  publisher: string
  root: string
  n: number
  nodes: Map<number, string>
}

/** Where a climb stopped: the node known there (if any), the hash it brought, the level,
 * index and last index there, and how much of the proof it used. */
interface Climb {
  /** Positions and hex hashes, in pairs. */
  passed: (number | string)[]
  known: string | undefined
  hash: string
  level: number
  i: number
  last: number
  k: number
}

function record(nodes: Map<number, string>, passed: (number | string)[]): void {
  for (let p = 0; p < passed.length; p += 2) nodes.set(passed[p] as number, passed[p + 1] as string)
}

function batchKey(sig: string, publisher: string, batch: ListingBatchProof): string {
  return `${sig}${publisher}${batch.root}${batch.n}`
}

/** Whether the proof's hashes above a known node are the known siblings: a proof right
 * below and wrong above would not fold to the root. */
function restOfPathIsKnown(
  nodes: Map<number, string>,
  batch: ListingBatchProof,
  level: number,
  i: number,
  last: number,
  k: number,
): boolean {
  for (; last > 0; level++, i >>= 1, last >>= 1) {
    if (i % 2 === 0 && i >= last) continue
    if (nodes.get(position(level, i ^ 1)) !== batch.proof[k++]) return false
  }
  return k === batch.proof.length
}
