// The listing: one row of the index page, signed by its publisher (ARCHITECTURE.md, "The
// catalog"). Keyed by (publisher, infoHash); a higher `seq` replaces a lower one.
//
// On the wire (JSON) a listing is a flat object of the fields below. The signature covers
// the canonical bencode (BEP 3 §bencoding: sorted keys, no leading zeros) of the signing
// dictionary, whose keys are short and whose ids are raw bytes:
//   { cat, desc, files, fl: [[path, size], …], ih: 20 bytes, name, pk: 32 bytes, seq, size, ts, v }
// A verifier rebuilds those bytes from the JSON, so any other spelling of the same record
// (upper-case hex, unsanitised text, a string where a number belongs) is refused, not fixed.

import bencode from 'bencode'
import {
  bytesToHex,
  hexToBytes,
  sign,
  verify,
  type NodeIdentity,
  type SignatureVerifier,
} from './identity.ts'
import {
  MAX_CLOCK_SKEW_SECONDS,
  MAX_DESCRIPTION_CHARS,
  MAX_LISTED_FILES,
  MAX_LISTING_BYTES,
  MAX_NAME_CHARS,
  MAX_PATH_CHARS,
  MAX_SAFE_SIZE,
} from './limits.ts'
import { charLength, sanitizeDescription, sanitizeName, sanitizePath } from './text.ts'

export const LISTING_VERSION = 1
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

export interface Listing extends ListingDraft {
  v: typeof LISTING_VERSION
  /** Publisher's Ed25519 public key, 64 lowercase hex chars. */
  publisher: string
  /** Only goes up; the highest wins. */
  seq: number
  /** Unix seconds when signed. */
  ts: number
  /** Ed25519 signature over `signingBytes`, 128 lowercase hex chars. */
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
  'sig',
] as const
const HEX40 = /^[0-9a-f]{40}$/
const HEX64 = /^[0-9a-f]{64}$/
const HEX128 = /^[0-9a-f]{128}$/

/** The canonical bytes a listing's signature covers. */
export function signingBytes(listing: Omit<Listing, 'sig'>): Uint8Array {
  return bencode.encode({
    cat: listing.category,
    desc: listing.description,
    files: listing.files,
    fl: listing.fileList.map((f) => [f.path, f.size]),
    ih: hexToBytes(listing.infoHash),
    name: listing.name,
    pk: hexToBytes(listing.publisher),
    seq: listing.seq,
    size: listing.size,
    ts: listing.ts,
    v: listing.v,
  })
}

/** Sanitises a draft, checks it and signs it. Throws ListingError if it cannot be listed. */
export function createListing(
  draft: ListingDraft,
  identity: NodeIdentity,
  meta: { seq: number; ts: number },
): Listing {
  const unsigned: Omit<Listing, 'sig'> = {
    v: LISTING_VERSION,
    infoHash: draft.infoHash.toLowerCase(),
    name: sanitizeName(draft.name),
    size: draft.size,
    files: draft.files,
    category: draft.category,
    description: sanitizeDescription(draft.description),
    fileList: fitFileList(draft.fileList),
    publisher: identity.id,
    seq: meta.seq,
    ts: meta.ts,
  }
  checkFields(unsigned)
  // Long file lists are cut until the whole record fits the size cap.
  while (signingBytes(unsigned).length + 200 > MAX_LISTING_BYTES && unsigned.fileList.length) {
    unsigned.fileList = unsigned.fileList.slice(0, Math.floor(unsigned.fileList.length / 2))
  }
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
 * you verify in bulk.
 */
export function verifyListing(
  value: unknown,
  nowSeconds: number,
  verifySignature: SignatureVerifier = verify,
): Listing {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ListingError('malformed', 'listing must be an object')
  }
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new ListingError('malformed', `unknown field "${key}"`)
    }
  }
  if (record.v !== LISTING_VERSION) throw new ListingError('malformed', 'unsupported version')
  if (typeof record.sig !== 'string' || !HEX128.test(record.sig)) {
    throw new ListingError('malformed', 'sig must be 128 lowercase hex chars')
  }
  const listing = record as unknown as Listing
  checkFields(listing)
  if (listing.ts > nowSeconds + MAX_CLOCK_SKEW_SECONDS) {
    throw new ListingError('future', 'ts is too far in the future')
  }
  const bytes = signingBytes(listing)
  if (bytes.length + 64 > MAX_LISTING_BYTES) {
    throw new ListingError('too-large', `listing is over ${MAX_LISTING_BYTES} bytes`)
  }
  if (!verifySignature(hexToBytes(listing.sig), bytes, hexToBytes(listing.publisher))) {
    throw new ListingError('bad-signature', 'signature does not match publisher')
  }
  return {
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
    sig: listing.sig,
  }
}

/** True when `incoming` should replace `stored` (same publisher and hash): higher seq wins. */
export function supersedes(incoming: Pick<Listing, 'seq'>, stored: Pick<Listing, 'seq'>): boolean {
  return incoming.seq > stored.seq
}

function checkFields(l: Omit<Listing, 'sig'>): void {
  const bad = (message: string): never => {
    throw new ListingError('malformed', message)
  }
  if (typeof l.infoHash !== 'string' || !HEX40.test(l.infoHash)) {
    bad('infoHash must be 40 lowercase hex chars')
  }
  if (typeof l.publisher !== 'string' || !HEX64.test(l.publisher)) {
    bad('publisher must be 64 lowercase hex chars')
  }
  if (typeof l.name !== 'string' || l.name === '') bad('name is required')
  // Cheap length checks first, so a huge string costs no sanitising work.
  if (l.name.length > MAX_NAME_CHARS * 2) bad(`name is over ${MAX_NAME_CHARS} characters`)
  if (charLength(l.name) > MAX_NAME_CHARS) bad(`name is over ${MAX_NAME_CHARS} characters`)
  if (l.name !== sanitizeName(l.name)) bad('name has control, bidi or path characters')
  if (typeof l.description !== 'string') bad('description must be a string')
  if (l.description.length > MAX_DESCRIPTION_CHARS * 2) {
    bad(`description is over ${MAX_DESCRIPTION_CHARS} characters`)
  }
  if (charLength(l.description) > MAX_DESCRIPTION_CHARS) {
    bad(`description is over ${MAX_DESCRIPTION_CHARS} characters`)
  }
  if (l.description !== sanitizeDescription(l.description)) {
    bad('description has control or bidi characters')
  }
  if (!CATEGORIES.includes(l.category)) bad(`category must be one of ${CATEGORIES.join(', ')}`)
  if (!isCount(l.size)) bad('size must be a non-negative integer')
  if (!isCount(l.files) || l.files < 1) bad('files must be a positive integer')
  if (!isCount(l.seq)) bad('seq must be a non-negative integer')
  if (!isCount(l.ts)) bad('ts must be unix seconds')
  if (!Array.isArray(l.fileList) || l.fileList.length > MAX_LISTED_FILES) {
    bad(`fileList must be an array of at most ${MAX_LISTED_FILES}`)
  }
  if (l.fileList.length > l.files) bad('fileList names more files than files')
  for (const f of l.fileList) {
    if (typeof f !== 'object' || f === null || Object.keys(f).length !== 2) bad('bad file entry')
    if (typeof f.path !== 'string' || f.path === '' || f.path.length > MAX_PATH_CHARS * 2) {
      bad('file path must be a clean relative path')
    }
    if (f.path !== sanitizePath(f.path)) {
      bad('file path must be a clean relative path')
    }
    if (!isCount(f.size)) bad('file size must be a non-negative integer')
  }
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= MAX_SAFE_SIZE
}
