// Listings for tests and benchmarks, signed quickly with OpenSSL (../openssl-signer.ts): a
// spam test needs thousands, bench/catalog-sync 100,000, and verifyListing (noble) accepts
// them as its own. v2 listings come a batch at a time (shared/listing-batch.ts), one
// signature a batch.

import { createHash } from 'node:crypto'
import { OpenSslSigner } from '../openssl-signer.ts'
import { MAX_BATCH_LISTINGS } from '../../shared/limits.ts'
import { createListingBatch } from '../../shared/listing-batch.ts'
import {
  LISTING_VERSION,
  signingBytes,
  type Listing,
  type ListingDraft,
} from '../../shared/listing.ts'
import { sanitizeDescription, sanitizeName } from '../../shared/text.ts'

export class FastSigner extends OpenSslSigner {
  /**
   * Signs a draft with createListing's fields and sanitised text, but without its checks or
   * its cut to the size cap, so tests can sign what a relay must refuse (an oversized
   * listing); the draft's file paths must already be clean.
   */
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
    const sig = this.signHex(signingBytes(unsigned))
    return { ...unsigned, sig }
  }

  /** `count` v2 listings of sampleDraft(from.., salt), signed `batchSize` at a time. */
  batches(
    from: number,
    count: number,
    meta: { seq: number; ts: number },
    options: { salt?: number; batchSize?: number } = {},
  ): Listing[] {
    const { salt = 0, batchSize = MAX_BATCH_LISTINGS } = options
    const out: Listing[] = []
    for (let start = 0; start < count; start += batchSize) {
      const n = Math.min(batchSize, count - start)
      const drafts = Array.from({ length: n }, (_, i) => sampleDraft(from + start + i, salt))
      out.push(...createListingBatch(drafts, this, meta))
    }
    return out
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
