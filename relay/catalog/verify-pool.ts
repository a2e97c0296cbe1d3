// Checking pulled pages off the main thread. A page of 1,000 listings is ~1.2 MB of JSON to
// parse under the peer caps and 1,000 listings to verify (~20-60 µs each); done inline
// that would stall the tracker and the API for tens of ms a page. The pool hands each
// page, as it came, to a worker thread (verify-worker-main.ts runs page-check.ts, the very
// code used inline), to the one with the fewest pages waiting, and gets back first the
// page's head (next, more, epoch: the puller fetches the page after with it) and then the
// rows of the listings that passed, in order, ready for the store (sent as columns, which
// cost the receiving thread half what row objects did). The main thread neither parses
// pages nor copies listings between threads: a page that came as bytes is copied once
// into a buffer of its own and transferred (a memcpy, where decoding it to a string here and
// cloning that string cost ~2 µs a listing of the thread that also writes SQLite). Workers
// start with the pool, so the first page pulled does not wait for one to load, from one
// bundled module rather than through tsx (worker-bundle.ts: a tenth of the CPU to start).
//
// With `size: 0` it checks inline, yielding between slices.
//
// v2 listings (shared/listing-batch.ts) share one signature per batch, and each worker
// remembers the batches it checked good (VerifiedBatches): a batch cut by a page boundary
// whose two parts land on two workers costs one signature check more.

import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { SignatureVerifier } from '../../shared/identity.ts'
import { columnRows, type ListingRow, type RowColumns } from './listing-row.ts'
import {
  MalformedPageError,
  checkRows,
  parsePulledPage,
  relayVerifiedBatches,
  leadOf,
  peekPageLead,
  type CheckedRows,
  type PageBody,
  type PageHead,
  type PageLead,
} from './page-check.ts'
import { workerScript } from './worker-bundle.ts'

export interface VerifyRequest {
  id: number
  /** The page's JSON, as text or UTF-8 bytes, under the transport's byte cap. */
  body: PageBody
  /** Where it came from, for error messages. */
  source: string
  nowSeconds: number
}

export type VerifyResponse =
  | ({ id: number; kind: 'head' } & PageHead)
  /** The rows that passed, as columns (listing-row.ts says why). */
  | { id: number; kind: 'rows'; columns: RowColumns; invalid: number }
  /** `malformed`: the page is no use (MalformedPageError); otherwise a fault. */
  | { id: number; kind: 'error'; error: string; malformed: boolean }

export interface VerifiedPage {
  /** The listings that passed, in order, as the store writes them. */
  rows: ListingRow[]
  invalid: number
  /** Listings the page held, valid or not. */
  received: number
}

/** A page being checked: its head as soon as it is read from the page's last bytes
 * (peekPageLead) or parsed, its rows once verified. Both reject with MalformedPageError for a
 * page that is no use; `verified` does too when the parsed head differs from the one read. */
export interface CheckedPage {
  head: Promise<PageLead>
  verified: Promise<VerifiedPage>
}

/** Listings verified inline between yields to the event loop (a few ms of work). */
const INLINE_SLICE = 32

/** Worker threads to use by default: one per core, at most 4. The main thread mostly waits
 * on the network and SQLite meanwhile; on 2 cores, 2 workers synced ~15 % faster than 1. */
export function defaultPoolSize(): number {
  return Math.min(4, availableParallelism())
}

interface Waiting {
  head: Deferred<PageLead>
  verified: Deferred<VerifiedPage>
}

/** A page with a worker: `lead` when its head was read from its bytes (and resolved) before
 * the worker parsed it; `received` and `mismatch` once the worker's head came. */
interface WithWorker extends Waiting {
  worker: number
  lead: PageLead | null
  received?: number
  mismatch?: MalformedPageError
}

export class VerifyPool {
  readonly size: number
  readonly #verify: SignatureVerifier
  /** v2 batches checked good inline. */
  readonly #batches = relayVerifiedBatches()
  readonly #workers: Worker[] = []
  /** Pages sent to each worker and not yet answered, by worker index. */
  readonly #load: number[] = []
  readonly #pending = new Map<number, WithWorker>()
  #nextId = 0
  #closed = false

  /** `verify` is used inline (size 0); workers make their own OpenSSL verifier. */
  constructor(size: number, verify: SignatureVerifier) {
    this.size = size
    this.#verify = verify
    for (let i = 0; i < size; i++) this.#worker(i)
  }

  /** Starts checking a page: its text, or its bytes (copied, never kept or changed). */
  checkPage(body: PageBody, source: string, nowSeconds: number): CheckedPage {
    const waiting: Waiting = { head: deferred(), verified: deferred() }
    // Whoever holds the page may drop it: never an unhandled rejection.
    waiting.head.promise.catch(() => {})
    waiting.verified.promise.catch(() => {})
    if (this.#closed) {
      const closed = new Error('verify pool closed')
      waiting.head.reject(closed)
      waiting.verified.reject(closed)
    } else if (this.size === 0) {
      void this.#inline(body, source, nowSeconds, waiting)
    } else {
      const id = this.#nextId++
      const index = this.#leastLoaded()
      // The next page can be asked for now, not once the worker has parsed this one.
      const lead = peekPageLead(body)
      if (lead !== null) waiting.head.resolve(lead)
      this.#pending.set(id, { ...waiting, worker: index, lead })
      this.#load[index] = (this.#load[index] ?? 0) + 1
      if (typeof body === 'string') {
        this.#worker(index).postMessage({ id, body, source, nowSeconds } satisfies VerifyRequest)
      } else {
        const own = body.slice()
        const request: VerifyRequest = { id, body: own, source, nowSeconds }
        this.#worker(index).postMessage(request, [own.buffer])
      }
    }
    return { head: waiting.head.promise, verified: waiting.verified.promise }
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#failAll(new Error('verify pool closed'))
    await Promise.all(this.#workers.splice(0).map((w) => w.terminate()))
  }

  #failAll(err: Error): void {
    for (const w of this.#pending.values()) {
      w.head.reject(err)
      w.verified.reject(err)
    }
    this.#pending.clear()
    this.#load.fill(0)
  }

  /** The worker with the fewest pages waiting (the first of those tied). */
  #leastLoaded(): number {
    let best = 0
    for (let i = 1; i < this.size; i++) {
      if ((this.#load[i] ?? 0) < (this.#load[best] ?? 0)) best = i
    }
    return best
  }

  #worker(index: number): Worker {
    const existing = this.#workers[index]
    if (existing) return existing
    const worker = new Worker(
      workerScript(
        new URL('./verify-worker-main.ts', import.meta.url),
        new URL('./verify-worker.js', import.meta.url),
      ),
    )
    worker.unref()
    worker.on('message', (r: VerifyResponse) => this.#answer(r))
    // A dead worker fails whatever waits on the pool; the next page starts a new one.
    const fail = (err: Error) => {
      if (this.#workers[index] === worker) delete this.#workers[index]
      this.#failAll(err)
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`verify worker exited (${code})`)))
    this.#workers[index] = worker
    return worker
  }

  #answer(r: VerifyResponse): void {
    const w = this.#pending.get(r.id)
    if (!w) return
    if (r.kind === 'head') {
      w.received = r.received
      const parsed = leadOf(r)
      if (w.lead === null) w.head.resolve(parsed)
      else if (!sameLead(w.lead, parsed)) {
        w.mismatch = new MalformedPageError('page head differs from its parsed head')
      }
      return
    }
    this.#pending.delete(r.id)
    this.#load[w.worker]--
    if (r.kind === 'rows') {
      if (w.mismatch) w.verified.reject(w.mismatch)
      else
        w.verified.resolve({
          rows: columnRows(r.columns),
          invalid: r.invalid,
          received: w.received!,
        })
      return
    }
    const err = r.malformed ? new MalformedPageError(r.error) : new Error(r.error)
    w.head.reject(err)
    w.verified.reject(err)
  }

  async #inline(body: PageBody, source: string, nowSeconds: number, w: Waiting): Promise<void> {
    try {
      const page = parsePulledPage(body, source)
      const { listings, ...head } = page
      w.head.resolve(leadOf(head))
      const rows: CheckedRows = { rows: [], invalid: 0 }
      for (let from = 0; from < listings.length; from += INLINE_SLICE) {
        await new Promise((r) => setImmediate(r))
        const to = Math.min(listings.length, from + INLINE_SLICE)
        checkRows(listings, from, to, nowSeconds, this.#verify, this.#batches, rows)
      }
      w.verified.resolve({ ...rows, received: head.received })
    } catch (err) {
      w.head.reject(err as Error)
      w.verified.reject(err as Error)
    }
  }
}

function sameLead(a: PageLead, b: PageLead): boolean {
  return a.next === b.next && a.more === b.more && a.epoch === b.epoch && a.empty === b.empty
}

interface Deferred<T> {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (err: Error) => void
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (err: Error) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}
