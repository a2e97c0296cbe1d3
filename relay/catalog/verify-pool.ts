// Verifying pulled pages off the main thread. A page of 1,000 listings costs ~160 ms of
// signature checks (OpenSSL, ~6,000 listings/s with the field checks); done inline it would
// stall the tracker and the API for that long per page, and use one core of several. The
// pool splits a page over worker threads (verify-worker-main.ts runs the very same
// verifyListing) and keeps the order of the listings that pass.
//
// With `size: 0` it verifies inline, yielding between slices.
//
// v2 listings (shared/listing-batch.ts) share one signature per batch, and each worker
// remembers the batches it checked good (VerifiedBatches). A page is cut into contiguous
// parts, so a batch's listings mostly land on one worker: a batch cut in two costs one
// check more.

import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { SignatureVerifier } from '../../shared/identity.ts'
import { ListingError, verifyListing, type Listing } from '../../shared/listing.ts'
import { VerifiedBatches } from '../../shared/listing-batch.ts'

export interface VerifyRequest {
  id: number
  values: unknown[]
  nowSeconds: number
}

export interface VerifyResponse {
  id: number
  listings: Listing[]
  invalid: number
  /** Set when verifying failed for another reason than a bad listing. */
  error?: string
}

export interface VerifiedPage {
  listings: Listing[]
  invalid: number
}

/** Listings verified inline between yields to the event loop (a few ms of work). */
const INLINE_SLICE = 32

/** Worker threads to use by default: one per core, at most 4. The main thread mostly waits
 * on the network and SQLite meanwhile; on 2 cores, 2 workers synced ~15 % faster than 1. */
export function defaultPoolSize(): number {
  return Math.min(4, availableParallelism())
}

export class VerifyPool {
  readonly size: number
  readonly #verify: SignatureVerifier
  /** v2 batches checked good inline. */
  readonly #batches = new VerifiedBatches()
  readonly #workers: Worker[] = []
  readonly #pending = new Map<
    number,
    { resolve: (r: VerifyResponse) => void; reject: (e: Error) => void }
  >()
  #nextId = 0
  #closed = false

  /** `verify` is used inline (size 0); workers make their own OpenSSL verifier. */
  constructor(size: number, verify: SignatureVerifier) {
    this.size = size
    this.#verify = verify
  }

  async verifyPage(values: readonly unknown[], nowSeconds: number): Promise<VerifiedPage> {
    if (this.size === 0 || values.length < 2 * INLINE_SLICE) return this.#inline(values, nowSeconds)
    const per = Math.ceil(values.length / this.size)
    const parts = await Promise.all(
      Array.from({ length: Math.ceil(values.length / per) }, (_, i) =>
        this.#send(i, values.slice(i * per, (i + 1) * per), nowSeconds),
      ),
    )
    return {
      listings: parts.flatMap((p) => p.listings),
      invalid: parts.reduce((n, p) => n + p.invalid, 0),
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const p of this.#pending.values()) p.reject(new Error('verify pool closed'))
    this.#pending.clear()
    await Promise.all(this.#workers.splice(0).map((w) => w.terminate()))
  }

  #send(index: number, values: unknown[], nowSeconds: number): Promise<VerifyResponse> {
    if (this.#closed) return Promise.reject(new Error('verify pool closed'))
    const worker = this.#worker(index)
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      worker.postMessage({ id, values, nowSeconds } satisfies VerifyRequest)
    })
  }

  #worker(index: number): Worker {
    const existing = this.#workers[index]
    if (existing) return existing
    const worker = new Worker(new URL('./verify-worker.js', import.meta.url))
    worker.unref()
    worker.on('message', (r: VerifyResponse) => {
      const p = this.#pending.get(r.id)
      this.#pending.delete(r.id)
      if (r.error !== undefined) p?.reject(new Error(r.error))
      else p?.resolve(r)
    })
    // A dead worker fails whatever waits on the pool; the next page starts a new one.
    const fail = (err: Error) => {
      if (this.#workers[index] === worker) delete this.#workers[index]
      for (const p of this.#pending.values()) p.reject(err)
      this.#pending.clear()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`verify worker exited (${code})`)))
    this.#workers[index] = worker
    return worker
  }

  async #inline(values: readonly unknown[], nowSeconds: number): Promise<VerifiedPage> {
    const listings: Listing[] = []
    let invalid = 0
    for (let i = 0; i < values.length; i++) {
      if (i > 0 && i % INLINE_SLICE === 0) await new Promise((r) => setImmediate(r))
      try {
        listings.push(verifyListing(values[i], nowSeconds, this.#verify, this.#batches))
      } catch (err) {
        if (!(err instanceof ListingError)) throw err
        invalid++
      }
    }
    return { listings, invalid }
  }
}
