// Inside a verification worker: checks listings with the same code as the main thread
// (verifyListing with the OpenSSL verifier) and answers with those that pass. v2 batches
// checked good are remembered for the worker's life, so a batch's signature is checked once
// here and its other listings cost a hash or two.

import { parentPort } from 'node:worker_threads'
import { ListingError, verifyListing, type Listing } from '../../shared/listing.ts'
import { VerifiedBatches } from '../../shared/listing-batch.ts'
import { createFastVerifier } from '../signatures/verify.ts'
import type { VerifyRequest, VerifyResponse } from './verify-pool.ts'

const verify = createFastVerifier()
const batches = new VerifiedBatches()

parentPort!.on('message', ({ id, values, nowSeconds }: VerifyRequest) => {
  const listings: Listing[] = []
  let invalid = 0
  try {
    for (const value of values) {
      try {
        listings.push(verifyListing(value, nowSeconds, verify, batches))
      } catch (err) {
        if (!(err instanceof ListingError)) throw err
        invalid++
      }
    }
  } catch (err) {
    // Not a refusal but a fault: the page fails as a whole, as it would inline.
    parentPort!.postMessage({
      id,
      listings: [],
      invalid: 0,
      error: String(err),
    } satisfies VerifyResponse)
    return
  }
  parentPort!.postMessage({ id, listings, invalid } satisfies VerifyResponse)
})
