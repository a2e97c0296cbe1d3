// Inside a verification worker: parses and checks a pulled page with the same code as the
// main thread (page-check.ts: the peer JSON caps, then checkListing with the OpenSSL
// verifier), answers with the page's head as soon as it is parsed, then with the rows of
// the listings that pass. v2 batches checked good are remembered for the worker's life, so
// a batch's signature is checked once here and its other listings cost a hash or two.

import { parentPort } from 'node:worker_threads'
import { createFastVerifier } from '../signatures/verify.ts'
import {
  MalformedPageError,
  checkRows,
  parsePulledPage,
  relayVerifiedBatches,
  type CheckedRows,
} from './page-check.ts'
import { rowColumns } from './listing-row.ts'
import type { VerifyRequest, VerifyResponse } from './verify-pool.ts'

const verify = createFastVerifier()
const batches = relayVerifiedBatches()
const answer = (r: VerifyResponse) => parentPort!.postMessage(r)

parentPort!.on('message', ({ id, body, source, nowSeconds }: VerifyRequest) => {
  try {
    const { listings, ...head } = parsePulledPage(body, source)
    answer({ id, kind: 'head', ...head })
    const page: CheckedRows = { rows: [], invalid: 0 }
    checkRows(listings, 0, listings.length, nowSeconds, verify, batches, page)
    answer({ id, kind: 'rows', columns: rowColumns(page.rows), invalid: page.invalid })
  } catch (err) {
    // A page that is no use, or a fault: either way the page fails as a whole, as inline.
    answer({ id, kind: 'error', error: String(err), malformed: err instanceof MalformedPageError })
  }
})
