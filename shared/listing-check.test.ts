// checkListing (listing.ts, with the encoder of listing-encoding.ts and the batch memo of
// listing-batch.ts) against the implementation it replaced, kept here as the reference:
// regular expressions for hex, the `bencode` package for the signed bytes, a full fold and a
// signature check for every v2 listing. Same verdict for any listing and any single change
// to one: accepted, or refused with the same code and message.

import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import bencode from 'bencode'
import { numberedDraft } from './test/drafts.ts'
import { referenceSigningBytes } from './test/signing-reference.ts'
import { sha512 } from '@noble/hashes/sha2.js'
import { bytesToHex, hexToBytes, type SignatureVerifier } from './identity.ts'
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
import {
  CATEGORIES,
  ListingError,
  checkListing,
  type Listing,
  type ListingBatchProof,
  type ListingDraft,
} from './listing.ts'
import { VerifiedBatches, createListingBatch, type ListingSigner } from './listing-batch.ts'
import { merkleAuditPathLength, merkleLeafHash, merkleRootFromPath } from './merkle.ts'
import { isSanitizedDescription, isSanitizedName, isSanitizedPath } from './sanitized-text.ts'
import { charLength } from './text.ts'

const NOW = 1_764_115_200

// A stand-in signature, fast and deterministic (both sides verify it the same way): the
// verdicts under test do not depend on Ed25519 itself.
const fakeSign = (message: Uint8Array, publicKey: Uint8Array) =>
  sha512(new Uint8Array([...publicKey, ...message]))
const fakeVerify: SignatureVerifier = (signature, message, publicKey) =>
  signature.length === 64 && bytesToHex(signature) === bytesToHex(fakeSign(message, publicKey))
const signer = (id: string): ListingSigner => ({
  id,
  sign: (message) => fakeSign(message, hexToBytes(id)),
})

// ---- The reference: checkListing as it was before its checks were made cheaper. ----

const KEYS = ['v', 'infoHash', 'name', 'size', 'files', 'category', 'description', 'fileList']
KEYS.push('publisher', 'seq', 'ts', 'batch', 'sig')
const BATCH_KEYS = ['root', 'n', 'i', 'proof']
const HEX40 = /^[0-9a-f]{40}$/
const HEX64 = /^[0-9a-f]{64}$/
const HEX128 = /^[0-9a-f]{128}$/
const fail = (message: string): never => {
  throw new ListingError('malformed', message)
}
const isCount = (n: unknown): n is number =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= MAX_SAFE_SIZE

function referenceBatch(value: unknown): asserts value is ListingBatchProof {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('a v2 listing needs a batch object')
  }
  const b = value as Record<string, unknown>
  const keys = Object.keys(b)
  if (keys.length !== BATCH_KEYS.length || !keys.every((k) => BATCH_KEYS.includes(k))) {
    fail(`batch must have exactly ${BATCH_KEYS.join(', ')}`)
  }
  if (typeof b.root !== 'string' || !HEX64.test(b.root)) fail('batch.root must be 64 hex chars')
  const n = b.n as number
  const i = b.i as number
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > MAX_BATCH_LISTINGS) {
    fail(`batch.n must be an integer from 1 to ${MAX_BATCH_LISTINGS}`)
  }
  if (typeof i !== 'number' || !Number.isSafeInteger(i) || i < 0 || i >= n) {
    fail('batch.i must be an index below batch.n')
  }
  const proof = b.proof
  if (!Array.isArray(proof) || proof.length !== merkleAuditPathLength(i, n)) {
    fail('batch.proof has the wrong length for its index and size')
  }
  for (const hash of proof as unknown[]) {
    if (typeof hash !== 'string' || !HEX64.test(hash)) fail('batch.proof holds 64-hex-char hashes')
  }
}

function referenceFields(l: Listing): void {
  if (typeof l.infoHash !== 'string' || !HEX40.test(l.infoHash)) {
    fail('infoHash must be 40 lowercase hex chars')
  }
  if (typeof l.publisher !== 'string' || !HEX64.test(l.publisher)) {
    fail('publisher must be 64 lowercase hex chars')
  }
  if (typeof l.name !== 'string' || l.name === '') fail('name is required')
  if (l.name.length > MAX_NAME_CHARS * 2) fail(`name is over ${MAX_NAME_CHARS} characters`)
  if (l.name.length > MAX_NAME_CHARS && charLength(l.name) > MAX_NAME_CHARS) {
    fail(`name is over ${MAX_NAME_CHARS} characters`)
  }
  if (!isSanitizedName(l.name)) fail('name has control, bidi or path characters')
  if (typeof l.description !== 'string') fail('description must be a string')
  const tooLong = `description is over ${MAX_DESCRIPTION_CHARS} characters`
  if (l.description.length > MAX_DESCRIPTION_CHARS * 2) fail(tooLong)
  if (l.description.length > MAX_DESCRIPTION_CHARS) {
    if (charLength(l.description) > MAX_DESCRIPTION_CHARS) fail(tooLong)
  }
  if (!isSanitizedDescription(l.description)) fail('description has control or bidi characters')
  if (!CATEGORIES.includes(l.category)) fail(`category must be one of ${CATEGORIES.join(', ')}`)
  if (!isCount(l.size)) fail('size must be a non-negative integer')
  if (!isCount(l.files) || l.files < 1) fail('files must be a positive integer')
  if (!isCount(l.seq)) fail('seq must be a non-negative integer')
  if (!isCount(l.ts)) fail('ts must be unix seconds')
  if (!Array.isArray(l.fileList) || l.fileList.length > MAX_LISTED_FILES) {
    fail(`fileList must be an array of at most ${MAX_LISTED_FILES}`)
  }
  if (l.fileList.length > l.files) fail('fileList names more files than files')
  for (const f of l.fileList) {
    if (typeof f !== 'object' || f === null || Object.keys(f).length !== 2) fail('bad file entry')
    if (typeof f.path !== 'string' || f.path === '' || f.path.length > MAX_PATH_CHARS * 2) {
      fail('file path must be a clean relative path')
    }
    if (!isSanitizedPath(f.path)) fail('file path must be a clean relative path')
    if (!isCount(f.size)) fail('file size must be a non-negative integer')
  }
}

function referenceCheck(value: unknown, now: number, verify: SignatureVerifier): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('listing must be an object')
  }
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) if (!KEYS.includes(key)) fail(`unknown field "${key}"`)
  if (record.v !== 1 && record.v !== 2) fail('unsupported version')
  if (typeof record.sig !== 'string' || !HEX128.test(record.sig)) {
    fail('sig must be 128 lowercase hex chars')
  }
  if (record.v === 1 && record.batch !== undefined) fail('a v1 listing has no batch')
  if (record.v === 2) referenceBatch(record.batch)
  const l = record as unknown as Listing
  referenceFields(l)
  if (l.ts > now + MAX_CLOCK_SKEW_SECONDS) {
    throw new ListingError('future', 'ts is too far in the future')
  }
  const bytes = referenceSigningBytes(l)
  const envelope = 64 + (l.batch ? 32 * (l.batch.proof.length + 1) + 16 : 0)
  if (bytes.length + envelope > MAX_LISTING_BYTES) {
    throw new ListingError('too-large', `listing is over ${MAX_LISTING_BYTES} bytes`)
  }
  const publicKey = hexToBytes(l.publisher)
  const batch = l.batch
  if (batch) {
    const proof = batch.proof.map(hexToBytes)
    const root = merkleRootFromPath(merkleLeafHash(bytes), batch.i, batch.n, proof)
    if (root === null || bytesToHex(root) !== batch.root) {
      throw new ListingError('bad-signature', 'listing is not in the signed batch')
    }
    const statement = bencode.encode({
      n: batch.n,
      pk: publicKey,
      root: hexToBytes(batch.root),
      t: 'monsoon-listing-batch',
      v: 2,
    })
    if (!verify(hexToBytes(l.sig), statement, publicKey)) {
      throw new ListingError('bad-signature', 'batch signature does not match publisher')
    }
  } else if (!verify(hexToBytes(l.sig), bytes, publicKey)) {
    throw new ListingError('bad-signature', 'signature does not match publisher')
  }
}

// ---- The comparison. ----

type Verdict = 'ok' | string

function verdict(check: () => void): Verdict {
  try {
    check()
    return 'ok'
  } catch (err) {
    if (err instanceof ListingError) return `${err.code}: ${err.message}`
    // The reference's hexToBytes or bencode throwing on a value neither should reach.
    return `threw ${(err as Error).name}`
  }
}

const text = fc.oneof(
  fc.stringMatching(/^[a-z0-9]([a-z0-9 .()-]{0,30}[a-z0-9])?$/),
  fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }),
)
const drafts = fc.uniqueArray(
  fc.record({
    infoHash: fc.uint8Array({ minLength: 20, maxLength: 20 }).map(bytesToHex),
    name: text,
    size: fc.maxSafeNat(),
    files: fc.integer({ min: 3, max: 5 }),
    category: fc.constantFrom(...CATEGORIES),
    description: fc.oneof(text, fc.constant(''), fc.constant('line one\nline two')),
    fileList: fc.array(fc.record({ path: text, size: fc.nat() }), { maxLength: 3 }),
  }),
  { minLength: 1, maxLength: 7, selector: (d) => d.infoHash },
)
const publisher = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex)

/** A signed batch of v2 listings, or null when a draft cannot be listed (both agree on
 * that elsewhere: unsignedListing runs the same field checks). */
function signedBatch(ds: ListingDraft[], pk: string): Listing[] | null {
  try {
    return createListingBatch(ds, signer(pk), { seq: 3, ts: NOW - 10 })
  } catch {
    return null
  }
}

// One change to a listing: a field set to another value, or removed, or one character of
// its JSON changed.
const replacement = fc.oneof(
  fc.anything(),
  fc.constantFrom('', 'a'.repeat(64), 'A'.repeat(64), '0'.repeat(40), '0'.repeat(128), -1, 1.5),
  fc.constantFrom(NOW + MAX_CLOCK_SKEW_SECONDS + 1, MAX_SAFE_SIZE + 1, 2, 1, 0, null),
)
const fieldNames = [...KEYS, 'extra']
const batchFields = ['root', 'n', 'i', 'proof', 'extra']
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('field' as const),
    key: fc.constantFrom(...fieldNames),
    to: replacement,
  }),
  fc.record({
    kind: fc.constant('batch' as const),
    key: fc.constantFrom(...batchFields),
    to: replacement,
  }),
  fc.record({
    kind: fc.constant('char' as const),
    at: fc.nat(),
    to: fc.integer({ min: 0x20, max: 0x7e }),
  }),
  fc.constant({ kind: 'none' as const }),
)

function mutate(listing: Listing, m: MutationT): unknown {
  const copy = JSON.parse(JSON.stringify(listing)) as Record<string, unknown>
  if (m.kind === 'field') {
    if (m.to === undefined) delete copy[m.key]
    else copy[m.key] = m.to
  } else if (m.kind === 'batch') {
    const batch = (typeof copy.batch === 'object' ? copy.batch : (copy.batch = {})) as Record<
      string,
      unknown
    >
    if (m.to === undefined) delete batch[m.key]
    else batch[m.key] = m.to
  } else if (m.kind === 'char') {
    const json = JSON.stringify(listing)
    const at = m.at % json.length
    try {
      return JSON.parse(json.slice(0, at) + String.fromCharCode(m.to) + json.slice(at + 1))
    } catch {
      return copy
    }
  }
  return copy
}
type MutationT =
  | { kind: 'field' | 'batch'; key: string; to: unknown }
  | { kind: 'char'; at: number; to: number }
  | { kind: 'none' }

describe('checkListing against the reference', () => {
  it('gives the same verdict for a listing with one change, with or without known batches', () => {
    fc.assert(
      fc.property(drafts, publisher, fc.nat(), mutation, (ds, pk, pick, m) => {
        const batch = signedBatch(ds, pk)
        fc.pre(batch !== null)
        const listings = batch as Listing[]
        const target = mutate(listings[pick % listings.length], m as MutationT)
        const expected = verdict(() => referenceCheck(target, NOW, fakeVerify))
        expect(verdict(() => checkListing(target, NOW, fakeVerify))).toBe(expected)
        // With the batch known from its other listings (the memo's own path).
        const known = new VerifiedBatches()
        for (const [i, l] of listings.entries()) {
          if (i !== pick % listings.length) checkListing(structuredClone(l), NOW, fakeVerify, known)
        }
        expect(verdict(() => checkListing(target, NOW, fakeVerify, known))).toBe(expected)
        if (m.kind === 'none') expect(expected).toBe('ok')
      }),
      { numRuns: 400 },
    )
  })

  it('gives the same verdict for a v1 listing with one change', () => {
    // v1: the same signing bytes with v = 1, signed alone.
    fc.assert(
      fc.property(drafts, publisher, mutation, (ds, pk, m) => {
        const batch = signedBatch(ds.slice(0, 1), pk)
        fc.pre(batch !== null)
        const { batch: _proof, sig: _sig, ...unsigned } = (batch as Listing[])[0]
        const v1 = { ...unsigned, v: 1 as const, sig: '' }
        v1.sig = bytesToHex(fakeSign(referenceSigningBytes(v1), hexToBytes(pk)))
        const target = mutate(v1, m as MutationT)
        const expected = verdict(() => referenceCheck(target, NOW, fakeVerify))
        expect(verdict(() => checkListing(target, NOW, fakeVerify))).toBe(expected)
        if (m.kind === 'none') expect(expected).toBe('ok')
      }),
      { numRuns: 300 },
    )
  })

  it('refuses a batch listing checked right after another batch, as the reference does', () => {
    // The memo's last-batch shortcut must not let one batch's listing pass as another's.
    const a = signedBatch([numberedDraft(1), numberedDraft(2)], 'aa'.repeat(32)) as Listing[]
    const b = signedBatch([numberedDraft(3), numberedDraft(4)], 'aa'.repeat(32)) as Listing[]
    const known = new VerifiedBatches(1)
    checkListing(a[0], NOW, fakeVerify, known)
    checkListing(b[0], NOW, fakeVerify, known)
    const forged = { ...b[1], batch: { ...a[1].batch!, proof: b[1].batch!.proof } }
    const expected = verdict(() => referenceCheck(forged, NOW, fakeVerify))
    expect(expected).toBe('bad-signature: listing is not in the signed batch')
    expect(verdict(() => checkListing(forged, NOW, fakeVerify, known))).toBe(expected)
    expect(verdict(() => checkListing(a[1], NOW, fakeVerify, known))).toBe('ok')
  })
})

describe('checkListing and the messages it hands on', () => {
  it('gives a verifier that keeps the message bytes no later check overwrites', () => {
    // The app's catalog worker keeps each message to check a whole chunk at once.
    const kept: Uint8Array[] = []
    const keeping: SignatureVerifier = (sig, message, pk) => {
      kept.push(message)
      return fakeVerify(sig, message, pk)
    }
    const pk = 'bb'.repeat(32)
    const v1 = [numberedDraft(5), numberedDraft(6)].map((d) => {
      const unsigned = { ...(signedBatch([d], pk) as Listing[])[0], v: 1 as const, sig: '' }
      delete unsigned.batch
      return {
        ...unsigned,
        sig: bytesToHex(fakeSign(referenceSigningBytes(unsigned), hexToBytes(pk))),
      }
    })
    const before = v1.map((l) => bytesToHex(referenceSigningBytes(l)))
    for (const l of v1) checkListing(l, NOW, keeping)
    for (const l of signedBatch([numberedDraft(7), numberedDraft(8)], pk) as Listing[]) {
      checkListing(l, NOW, keeping)
    }
    expect(kept.slice(0, 2).map(bytesToHex)).toEqual(before)
  })
})
