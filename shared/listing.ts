// The listing: one row of the index page, signed by its publisher (ARCHITECTURE.md, "The
// catalog"). Keyed by (publisher, infoHash); a higher `seq` replaces a lower one.
//
// On the wire (JSON) a listing is a flat object of the fields below. The signature covers
// the canonical bencode (BEP 3 §bencoding: sorted keys, no leading zeros) of the signing
// dictionary, whose keys are short and whose ids are raw bytes:
//   { cat, desc, files, fl: [[path, size], …], ih: 20 bytes, name, pk: 32 bytes, seq, size, ts, v }
// A verifier rebuilds those bytes from the JSON, so any other spelling of the same record
// (upper-case hex, unsanitised text, a string where a number belongs) is refused, not fixed.
//
// Version 2 (shared/listing-batch.ts) signs a batch at a time: the same dictionary with
// v = 2 is a leaf of an RFC 6962 Merkle tree (shared/merkle.ts) over the batch, and `sig`
// covers the canonical bencode of the batch statement
//   { n, pk: 32 bytes, root: 32 bytes, t: "monsoon-listing-batch", v: 2 }
// The listing carries `batch: { root, n, i, proof }`, so it can still be checked alone; a
// verifier that remembers the batches it checked (VerifiedBatches) checks one signature per
// batch. Both encodings are written by hand (listing-encoding.ts), tested against `bencode`.

import {
  bytesToHex,
  hexToBytes,
  sign,
  verify,
  type NodeIdentity,
  type SignatureVerifier,
} from './identity.ts'
import {
  MAX_BATCH_LISTINGS,
  MAX_CLOCK_SKEW_SECONDS,
  MAX_DESCRIPTION_CHARS,
  MAX_LISTED_FILES,
  MAX_LISTING_BYTES,
  MAX_NAME_CHARS,
  MAX_PATH_CHARS,
  MAX_SAFE_SIZE,
} from './limits.ts'
import type { VerifiedBatches } from './listing-batch.ts'
import {
  encodeBatchStatement,
  encodeSigningFields,
  encodeSigningFieldsTransient,
} from './listing-encoding.ts'
import { merkleLeafHashFramed, merkleAuditPathLength, merkleRootFromPath } from './merkle.ts'
import { charLength, sanitizeDescription, sanitizeName, sanitizePath } from './text.ts'
import { isSanitizedDescription, isSanitizedName, isSanitizedPath } from './sanitized-text.ts'

export const LISTING_VERSION = 1
/** A listing signed as one of a batch. */
export const LISTING_BATCH_VERSION = 2
export type ListingVersion = typeof LISTING_VERSION | typeof LISTING_BATCH_VERSION
/** Domain separation: a batch statement can never be read as another signed record. */
export const BATCH_STATEMENT_TYPE = 'monsoon-listing-batch'
/** The longest audit path a batch of MAX_BATCH_LISTINGS can need. */
export const MAX_BATCH_PROOF_HASHES = Math.ceil(Math.log2(MAX_BATCH_LISTINGS))
export const CATEGORIES = ['movie', 'music', 'game', 'application', 'book', 'misc'] as const
export type Category = (typeof CATEGORIES)[number]

export interface ListedFile {
  path: string
  size: number
}

/** What a publisher fills in; `createListing` sanitises and signs it. */
export interface ListingDraft {
  infoHash: string
  name: string
  size: number
  files: number
  category: Category
  description: string
  fileList: ListedFile[]
}

/** Where a v2 listing sits in the batch its publisher signed. */
export interface ListingBatchProof {
  /** Root of the batch's Merkle tree, 64 lowercase hex chars. */
  root: string
  /** Listings in the batch, 1..MAX_BATCH_LISTINGS. */
  n: number
  /** This listing's leaf index, 0 <= i < n. */
  i: number
  /** Audit path (RFC 6962 §2.1.1), lowest level first, 64 lowercase hex chars each. */
  proof: string[]
}

export interface Listing extends ListingDraft {
  v: ListingVersion
  /** Publisher's Ed25519 public key, 64 lowercase hex chars. */
  publisher: string
  /** Only goes up; the highest wins. */
  seq: number
  /** Unix seconds when signed. */
  ts: number
  /** v 2 only. */
  batch?: ListingBatchProof
  /** Ed25519 signature, 128 lowercase hex chars: over `signingBytes` (v 1) or over
   * `batchStatementBytes` (v 2). */
  sig: string
}

export type ListingErrorCode = 'malformed' | 'too-large' | 'future' | 'bad-signature'

export class ListingError extends Error {
  override name = 'ListingError'
  constructor(
    readonly code: ListingErrorCode,
    message: string,
  ) {
    super(message)
  }
}

const KEYS = [
  'v',
  'infoHash',
  'name',
  'size',
  'files',
  'category',
  'description',
  'fileList',
  'publisher',
  'seq',
  'ts',
  'batch',
  'sig',
] as const
const KNOWN_KEYS: ReadonlySet<string> = new Set(KEYS)
const BATCH_KEYS = ['root', 'n', 'i', 'proof']

/** A string of exactly `length` lowercase hex digits (what /^[0-9a-f]{length}$/ tests), in one
 * pass over its character codes: ids and hashes are checked on every synced listing. */
function isLowerHex(value: unknown, length: number): value is string {
  if (typeof value !== 'string' || value.length !== length) return false
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i)
    if (c > 0x66 || (c < 0x61 && (c < 0x30 || c > 0x39))) return false
  }
  return true
}

/** The canonical bytes a listing's signature covers. */
export function signingBytes(listing: Omit<Listing, 'sig'>): Uint8Array {
  return encodeSigningFields(listing)
}

/** The canonical bytes a batch's signature covers (see the head of this file). */
export function batchStatementBytes(publisher: string, root: string, n: number): Uint8Array {
  return encodeBatchStatement(n, publisher, root, BATCH_STATEMENT_TYPE, LISTING_BATCH_VERSION)
}

/** Bytes a listing costs beyond its signing bytes: the signature, and for v 2 the root, the
 * proof and two counts. MAX_LISTING_BYTES caps the sum. */
function envelopeBytes(batch: ListingBatchProof | undefined): number {
  return 64 + (batch ? 32 * (batch.proof.length + 1) + 16 : 0)
}

/** Room kept when cutting a file list: more than the envelope, for JSON's spelling. */
const CREATE_MARGIN_BYTES = 200
/** ...and for a v 2 listing its largest possible proof too. */
const CREATE_BATCH_MARGIN_BYTES = CREATE_MARGIN_BYTES + 32 * (MAX_BATCH_PROOF_HASHES + 1) + 16

/** Sanitises a draft and checks it; the fields a signature will cover. Throws ListingError
 * if it cannot be listed. Long file lists are cut until the whole record fits the size cap. */
export function unsignedListing(
  draft: ListingDraft,
  publisher: string,
  meta: { seq: number; ts: number },
  version: ListingVersion = LISTING_VERSION,
): Omit<Listing, 'sig'> {
  const unsigned: Omit<Listing, 'sig'> = {
    v: version,
    infoHash: draft.infoHash.toLowerCase(),
    name: sanitizeName(draft.name),
    size: draft.size,
    files: draft.files,
    category: draft.category,
    description: sanitizeDescription(draft.description),
    fileList: fitFileList(draft.fileList),
    publisher,
    seq: meta.seq,
    ts: meta.ts,
  }
  checkFields(unsigned)
  const margin = version === LISTING_VERSION ? CREATE_MARGIN_BYTES : CREATE_BATCH_MARGIN_BYTES
  while (signingBytes(unsigned).length + margin > MAX_LISTING_BYTES && unsigned.fileList.length) {
    unsigned.fileList = unsigned.fileList.slice(0, Math.floor(unsigned.fileList.length / 2))
  }
  return unsigned
}

/** Sanitises a draft, checks it and signs it (v 1). Throws ListingError if it cannot be
 * listed. */
export function createListing(
  draft: ListingDraft,
  identity: NodeIdentity,
  meta: { seq: number; ts: number },
): Listing {
  const unsigned = unsignedListing(draft, identity.id, meta)
  const sig = bytesToHex(sign(identity, signingBytes(unsigned)))
  return { ...unsigned, sig }
}

function fitFileList(list: ListedFile[]): ListedFile[] {
  return list
    .slice(0, MAX_LISTED_FILES)
    .map((f) => ({ path: sanitizePath(f.path), size: f.size }))
    .filter((f) => f.path !== '')
}

/**
 * Checks an untrusted value (parsed JSON) is a well-formed, canonical, correctly signed
 * listing no further than the clock-skew bound in the future. Returns it typed.
 * `verifySignature` defaults to the reference (noble); pass an equivalent faster one if
 * you verify in bulk. `batches`, when given, remembers v2 batches whose signature
 * `verifySignature` said was good, and checks their other listings with a hash or two:
 * give it only with a verifier that really checks.
 */
export function verifyListing(
  value: unknown,
  nowSeconds: number,
  verifySignature: SignatureVerifier = verify,
  batches?: VerifiedBatches,
): Listing {
  const listing = checkListing(value, nowSeconds, verifySignature, batches)
  const batch = listing.batch
  const copy: Omit<Listing, 'sig'> = {
    v: listing.v,
    infoHash: listing.infoHash,
    name: listing.name,
    size: listing.size,
    files: listing.files,
    category: listing.category,
    description: listing.description,
    fileList: listing.fileList.map((f) => ({ path: f.path, size: f.size })),
    publisher: listing.publisher,
    seq: listing.seq,
    ts: listing.ts,
  }
  if (batch) copy.batch = { root: batch.root, n: batch.n, i: batch.i, proof: batch.proof.slice() }
  return { ...copy, sig: listing.sig }
}

/**
 * verifyListing's checks, all of them, without its copy: `value` itself, typed, when it is
 * a good listing (it then holds no field but a listing's). For a verifier that only needs
 * the answer (a verify worker, catalog-verify-pool.ts in the app).
 */
export function checkListing(
  value: unknown,
  nowSeconds: number,
  verifySignature: SignatureVerifier = verify,
  batches?: VerifiedBatches,
): Listing {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ListingError('malformed', 'listing must be an object')
  }
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new ListingError('malformed', `unknown field "${key}"`)
    }
  }
  if (record.v !== LISTING_VERSION && record.v !== LISTING_BATCH_VERSION) {
    throw new ListingError('malformed', 'unsupported version')
  }
  if (!isLowerHex(record.sig, 128)) {
    throw new ListingError('malformed', 'sig must be 128 lowercase hex chars')
  }
  if (record.v === LISTING_VERSION && record.batch !== undefined) {
    throw new ListingError('malformed', 'a v1 listing has no batch')
  }
  if (record.v === LISTING_BATCH_VERSION) checkBatch(record.batch)
  const listing = record as unknown as Listing
  checkFields(listing)
  if (listing.ts > nowSeconds + MAX_CLOCK_SKEW_SECONDS) {
    throw new ListingError('future', 'ts is too far in the future')
  }
  // The signing bytes after one byte of room, so the leaf hash needs no copy of them; a view
  // the next encoding overwrites, so never handed on as it is.
  const framed = encodeSigningFieldsTransient(listing, 1)
  const bytes = framed.subarray(1)
  if (bytes.length + envelopeBytes(listing.batch) > MAX_LISTING_BYTES) {
    throw new ListingError('too-large', `listing is over ${MAX_LISTING_BYTES} bytes`)
  }
  const batch = listing.batch
  if (batch) {
    const hash = batches?.hash
    const leaf = merkleLeafHashFramed(framed, hash)
    const known = batches?.includes(listing.sig, listing.publisher, batch, leaf) ?? null
    if (known === null) {
      const root = merkleRootFromPath(leaf, batch.i, batch.n, batch.proof.map(hexToBytes), hash)
      // A forged listing cannot fold to a root its publisher signed: refused without a
      // signature check, however good the root.
      if (root === null || bytesToHex(root) !== batch.root) {
        throw new ListingError('bad-signature', 'listing is not in the signed batch')
      }
      const statement = batchStatementBytes(listing.publisher, batch.root, batch.n)
      const publicKey = hexToBytes(listing.publisher)
      if (!verifySignature(hexToBytes(listing.sig), statement, publicKey)) {
        throw new ListingError('bad-signature', 'batch signature does not match publisher')
      }
      batches?.remember(listing.sig, listing.publisher, batch, leaf)
    } else if (!known) {
      throw new ListingError('bad-signature', 'listing is not in the signed batch')
    }
  } else {
    // A copy: a verifier may keep the message (the app's batches checks for WebCrypto).
    const message = bytes.slice()
    if (!verifySignature(hexToBytes(listing.sig), message, hexToBytes(listing.publisher))) {
      throw new ListingError('bad-signature', 'signature does not match publisher')
    }
  }
  return listing
}

/** The shape of a v 2 listing's `batch`: counts in range and a proof of exactly the length
 * its index and size need (a longer or shorter one is malformed, not merely wrong). */
function checkBatch(value: unknown): asserts value is ListingBatchProof {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    malformed('a v2 listing needs a batch object')
  }
  const b = value as Record<string, unknown>
  const keys = Object.keys(b)
  if (keys.length !== BATCH_KEYS.length || !keys.every(isBatchKey)) {
    malformed(`batch must have exactly ${BATCH_KEYS.join(', ')}`)
  }
  if (!isLowerHex(b.root, 64)) malformed('batch.root must be 64 hex chars')
  const n = b.n
  const i = b.i
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > MAX_BATCH_LISTINGS) {
    malformed(`batch.n must be an integer from 1 to ${MAX_BATCH_LISTINGS}`)
  }
  if (typeof i !== 'number' || !Number.isSafeInteger(i) || i < 0 || i >= (n as number)) {
    malformed('batch.i must be an index below batch.n')
  }
  const proof = b.proof
  if (!Array.isArray(proof) || proof.length !== merkleAuditPathLength(i as number, n as number)) {
    malformed('batch.proof has the wrong length for its index and size')
  }
  for (const hash of proof as unknown[]) {
    if (!isLowerHex(hash, 64)) malformed('batch.proof holds 64-hex-char hashes')
  }
}

const isBatchKey = (key: string) => BATCH_KEYS.includes(key)

/** True when `incoming` should replace `stored` (same publisher and hash): higher seq wins. */
export function supersedes(incoming: Pick<Listing, 'seq'>, stored: Pick<Listing, 'seq'>): boolean {
  return incoming.seq > stored.seq
}

/** Module-level rather than a closure per call: the checks run for every listing synced. */
function malformed(message: string): never {
  throw new ListingError('malformed', message)
}

function checkFields(l: Omit<Listing, 'sig'>): void {
  if (!isLowerHex(l.infoHash, 40)) {
    malformed('infoHash must be 40 lowercase hex chars')
  }
  if (!isLowerHex(l.publisher, 64)) {
    malformed('publisher must be 64 lowercase hex chars')
  }
  if (typeof l.name !== 'string' || l.name === '') malformed('name is required')
  // Cheap length checks first, so a huge string costs no sanitising work.
  if (l.name.length > MAX_NAME_CHARS * 2) malformed(`name is over ${MAX_NAME_CHARS} characters`)
  // Code points are never more than UTF-16 units: counted only when it could matter.
  if (l.name.length > MAX_NAME_CHARS && charLength(l.name) > MAX_NAME_CHARS) {
    malformed(`name is over ${MAX_NAME_CHARS} characters`)
  }
  if (!isSanitizedName(l.name)) malformed('name has control, bidi or path characters')
  if (typeof l.description !== 'string') malformed('description must be a string')
  if (l.description.length > MAX_DESCRIPTION_CHARS * 2) {
    malformed(`description is over ${MAX_DESCRIPTION_CHARS} characters`)
  }
  if (
    l.description.length > MAX_DESCRIPTION_CHARS &&
    charLength(l.description) > MAX_DESCRIPTION_CHARS
  ) {
    malformed(`description is over ${MAX_DESCRIPTION_CHARS} characters`)
  }
  if (!isSanitizedDescription(l.description)) {
    malformed('description has control or bidi characters')
  }
  if (!CATEGORIES.includes(l.category))
    malformed(`category must be one of ${CATEGORIES.join(', ')}`)
  if (!isCount(l.size)) malformed('size must be a non-negative integer')
  if (!isCount(l.files) || l.files < 1) malformed('files must be a positive integer')
  if (!isCount(l.seq)) malformed('seq must be a non-negative integer')
  if (!isCount(l.ts)) malformed('ts must be unix seconds')
  if (!Array.isArray(l.fileList) || l.fileList.length > MAX_LISTED_FILES) {
    malformed(`fileList must be an array of at most ${MAX_LISTED_FILES}`)
  }
  if (l.fileList.length > l.files) malformed('fileList names more files than files')
  for (const f of l.fileList) {
    if (typeof f !== 'object' || f === null || Object.keys(f).length !== 2)
      malformed('bad file entry')
    if (typeof f.path !== 'string' || f.path === '' || f.path.length > MAX_PATH_CHARS * 2) {
      malformed('file path must be a clean relative path')
    }
    if (!isSanitizedPath(f.path)) {
      malformed('file path must be a clean relative path')
    }
    if (!isCount(f.size)) malformed('file size must be a non-negative integer')
  }
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= MAX_SAFE_SIZE
}
