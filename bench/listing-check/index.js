// listing-check: µs per listing of shared/listing.ts's checkListing over pulled v2 pages, as a relay runs it
//
// A micro-benchmark for issue 23: MONSOON_BENCH_LISTINGS v2 listings (default 5,120: 20
// batches of 256, signed with OpenSSL) round-trip through JSON (fresh strings, as a pulled
// page has), then go through checkListing with the relay's verifier and native-SHA-256
// VerifiedBatches (relay/catalog/page-check.ts), ROUNDS times, a fresh VerifiedBatches each
// round (so each batch pays its one signature check). Reported: the median round's CPU µs
// per listing (process CPU time, so other work on the machine counts less than in wall time),
// and the same with the browser's SHA-256 (shared/sha256.ts, what the catalog worker's
// VerifiedBatches uses since 2026-12-07) and with noble's (what it used before). One thread.
// Prints one JSON line: {"bench":"listing-check","us_per_listing_native_sha",
// "us_per_listing_browser_sha","us_per_listing_noble_sha",…}.

import { register } from 'tsx/esm/api'
import { note, runBenchmark } from '../lib/processes.js'

register()
const { FastSigner } = await import('../../relay/catalog/test-support.ts')
const { createFastVerifier } = await import('../../relay/signatures/verify.ts')
const { checkListing } = await import('../../shared/listing.ts')
const { VerifiedBatches } = await import('../../shared/listing-batch.ts')
const { sha256: browserSha256 } = await import('../../shared/sha256.ts')
const { relayVerifiedBatches } = await import('../../relay/catalog/page-check.ts')

const LISTINGS = Number(process.env.MONSOON_BENCH_LISTINGS ?? 5120)
const ROUNDS = Number(process.env.MONSOON_BENCH_ROUNDS ?? 15)
const TS = 1_700_000_000

/** Median µs per listing over ROUNDS rounds (the first two warm up and are dropped). */
function time(text, makeBatches, verify) {
  const perListing = []
  for (let round = 0; round < ROUNDS + 2; round++) {
    const values = JSON.parse(text)
    const batches = makeBatches()
    const start = process.cpuUsage()
    for (const v of values) checkListing(v, TS, verify, batches)
    const spent = process.cpuUsage(start)
    if (round >= 2) perListing.push((spent.user + spent.system) / values.length)
  }
  perListing.sort((a, b) => a - b)
  return Math.round(perListing[Math.floor(perListing.length / 2)] * 100) / 100
}

await runBenchmark('listing-check', async () => {
  const signer = new FastSigner()
  const text = JSON.stringify(signer.batches(0, LISTINGS, { seq: 1, ts: TS }))
  note(`${LISTINGS} v2 listings, ${ROUNDS} rounds`)
  const verify = createFastVerifier()
  const native = time(text, () => relayVerifiedBatches(), verify)
  const browser = time(text, () => new VerifiedBatches(undefined, browserSha256), verify)
  const noble = time(text, () => new VerifiedBatches(), verify)
  return {
    bench: 'listing-check',
    listings: LISTINGS,
    rounds: ROUNDS,
    us_per_listing_native_sha: native,
    us_per_listing_browser_sha: browser,
    us_per_listing_noble_sha: noble,
  }
})
