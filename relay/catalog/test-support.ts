// Listings for tests and benchmarks, signed quickly. noble signs about 800/s on our machines,
// too slow for the thousands a spam test or the 100,000 of bench/catalog-sync need, so this
// signs with OpenSSL (node:crypto). Ed25519 signatures are deterministic (RFC 8032 §5.1.6):
// the bytes are the ones noble would make, and verifyListing (noble) accepts them.

import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto'
import {
  LISTING_VERSION,
  signingBytes,
  type Listing,
  type ListingDraft,
} from '../../shared/listing.ts'
import { sanitizeDescription, sanitizeName } from '../../shared/text.ts'

/** DER PKCS#8 header of an Ed25519 private key (RFC 8410 §7); the 32-byte seed follows. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

export class FastSigner {
  /** Public key, 64 hex chars: the publisher id. */
  readonly id: string
  readonly secretKey: Uint8Array
  readonly #key: KeyObject

  constructor(secretKey: Uint8Array = crypto.getRandomValues(new Uint8Array(32))) {
    this.secretKey = secretKey
    this.#key = createPrivateKey({
      key: Buffer.concat([PKCS8_PREFIX, secretKey]),
      format: 'der',
      type: 'pkcs8',
    })
    const spki = createPublicKey(this.#key).export({ format: 'der', type: 'spki' })
    this.id = spki.subarray(spki.length - 32).toString('hex')
  }

  /** Signs a draft as createListing would (the draft's file paths must already be clean). */
  listing(draft: ListingDraft, meta: { seq: number; ts: number }): Listing {
    const unsigned: Omit<Listing, 'sig'> = {
      v: LISTING_VERSION,
      infoHash: draft.infoHash.toLowerCase(),
      name: sanitizeName(draft.name),
      size: draft.size,
      files: draft.files,
      category: draft.category,
      description: sanitizeDescription(draft.description),
      fileList: draft.fileList.map((f) => ({ path: f.path, size: f.size })),
      publisher: this.id,
      seq: meta.seq,
      ts: meta.ts,
    }
    const sig = sign(null, signingBytes(unsigned), this.#key).toString('hex')
    return { ...unsigned, sig }
  }
}

/** A plausible draft numbered `i` (distinct info hash per `i` and `salt`). */
export function sampleDraft(i: number, salt = 0): ListingDraft {
  return {
    infoHash: createHash('sha1').update(`${salt}:${i}`).digest('hex'),
    name: `Sample release ${i} (${salt})`,
    size: 1_000_000 + i,
    files: 2,
    category: (['movie', 'music', 'game', 'application', 'book', 'misc'] as const)[i % 6],
    description: `Listing number ${i}, made for tests.`,
    fileList: [
      { path: `release-${i}/video.mkv`, size: 999_000 + i },
      { path: `release-${i}/readme.txt`, size: 1000 },
    ],
  }
}
