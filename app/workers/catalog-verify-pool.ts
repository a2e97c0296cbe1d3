// Listings from relays verified in workers of their own (catalog-verify.worker.ts), so that
// while the catalog worker stores and indexes one page, another core checks the next
// (issue 23: verification was over half of an import's time on one thread). A verify worker
// gets the page as the relay sent it (its JSON text: one string to copy, where a clone of a
// thousand parsed listings cost the catalog worker about as much as storing them), parses it
// itself and answers one byte per listing, good or not; the good ones are then the catalog
// worker's own values, parsed from the same text (JSON.parse gives the same values from the
// same text), so nothing but the text crosses over, never the listings back. Values without
// their text (a mesh page) are sent as values. Each worker keeps its own memos of checked
// signatures and batches (verify.ts).
//
// A sealed page (sealed-fetch.ts) can go to a verify worker still in gzip (`inflate`): the
// worker inflates and decodes it, answers the text at once, and verifies it straight on, so
// the catalog worker parses the text it gets back and its verify call finds the verdicts on
// their way. Inflating and decoding a 1,000-listing page is ~12 ms of the catalog worker's
// thread otherwise, the busiest of an import.
//
// A worker that fails (an error, an answer of the wrong shape) is dropped, the pages it held
// are verified here instead, and so is everything after: verifying is never skipped.

import type { Listing } from '../../shared/listing.ts'
import { BodyTooLargeError } from '../../shared/capped-body.ts'
import { inflateText } from '../catalog/sealed-fetch.ts'
import { checkedListings, verdictsOf, type Verified } from '../catalog/verify.ts'

/** Verify workers at most: the catalog worker keeps a core of its own to store and index,
 * and a sync holds three pages per relay in flight, so more would mostly wait. */
export const MAX_VERIFY_WORKERS = 2

/** Inflated pages whose verdicts are kept for the verify call that follows at once (the
 * catalog worker parses the text and asks). A text it could not use is never asked for: it
 * is dropped when newer ones push it out, or after INFLATED_KEPT_MS, so a relay's junk holds
 * at most this many texts (each under MAX_ANSWER_BYTES) for a few seconds. */
const MAX_INFLATED = 4
const INFLATED_KEPT_MS = 5000
/** How much later than its inflating a page's verify call may come and still take the
 * verdicts made then: a listing refused as from the future a minute ago is asked again. */
const MAX_VERDICT_AGE_S = 60

export interface VerifyRequest {
  id: number
  /** The values to verify, or the text of a relay page whose `listings` they are, or that
   * page in gzip, to inflate (at most `maxBytes`) and answer as text first. */
  values?: readonly unknown[]
  text?: string
  gzip?: Uint8Array
  maxBytes?: number
  nowSeconds: number
}

export type VerifyReply =
  | {
      id: number
      /** 1 where the value at that index is a good listing, 0 where it is refused. */
      good: Uint8Array
    }
  /** An inflated page's text, before its verdicts. */
  | { id: number; text: string }
  /** A page in gzip that did not inflate: over its `maxBytes`, or not gzip. */
  | { id: number; error: 'too-large' | 'unreadable' }

/** What the pool needs of a Worker (a fake in tests). */
export interface VerifyPort {
  postMessage(message: VerifyRequest): void
  onmessage: ((event: MessageEvent) => void) | null
  onerror: ((event: ErrorEvent) => void) | null
  terminate(): void
}

/** Verifiers to use here: a core each but the catalog worker's, at most MAX_VERIFY_WORKERS;
 * none on one core, or when the browser does not say how many it has. The page is idle while
 * a catalog arrives, so it needs no core of its own. Measured on 2 cores (catalog-browser,
 * 100,000 v2 listings, three alternating pairs, 2026-12-07): 12,966/s median with one
 * verify worker sent each page's text (13,466 / 12,966 / 12,750) against 11,723/s verified
 * in the catalog worker (11,723 / 11,708 / 12,208). Earlier rounds, on a slower 2-core
 * machine with an earlier import, found none (8,159/s without, 8,604/s with one; with the
 * page's text 8,062/s without, 6,765/s with), so two cores had no verify worker until then. */
export function verifyWorkerCount(cores: number | undefined): number {
  return Math.max(0, Math.min(MAX_VERIFY_WORKERS, (cores ?? 1) - 1))
}

/** A request a worker holds: values (or a page's text) to verify, or a page in gzip. */
type Pending = VerifyPending | InflatePending

interface VerifyPending {
  values: readonly unknown[]
  nowSeconds: number
  resolve: (verified: Verified) => void
  reject: (err: unknown) => void
}

interface InflatePending {
  gzip: Uint8Array
  maxBytes: number
  nowSeconds: number
  text: { resolve: (text: string) => void; reject: (err: unknown) => void }
  /** Set once its text came: where its verdicts go. */
  verdicts: { resolve: (good: Uint8Array) => void; reject: (err: unknown) => void } | null
}

/** A page inflated by a worker, with its verdicts to come. */
interface Inflated {
  text: string
  nowSeconds: number
  verdicts: Promise<Uint8Array>
  /** Drops it after INFLATED_KEPT_MS; cleared once it is taken or pushed out, so the timer
   * never holds a text on. */
  expiry: ReturnType<typeof setTimeout> | null
}

interface Verifier {
  port: VerifyPort
  pending: Map<number, Pending>
}

export class VerifyPool {
  readonly #spawn: () => VerifyPort
  readonly #size: number
  readonly #verifiers: Verifier[] = []
  /** Set once a worker failed: from then on every page is verified here. */
  #broken = false
  #nextId = 0
  /** Pages inflated by a worker, newest last, at most MAX_INFLATED. */
  readonly #inflated: Inflated[] = []

  constructor(spawn: () => VerifyPort, size: number) {
    this.#spawn = spawn
    this.#size = size
  }

  /** The values that are good listings, and how many were refused: verifyListings' answer,
   * from a verify worker when one works. */
  verify(values: readonly unknown[], nowSeconds: number, text?: string): Promise<Verified> {
    const inflated = text === undefined ? null : this.#takeInflated(text, nowSeconds)
    if (inflated) {
      return inflated.verdicts.then(
        (good) =>
          good.length === values.length
            ? fromVerdicts(values, good)
            : checkedListings(values, nowSeconds),
        () => checkedListings(values, nowSeconds),
      )
    }
    // An empty page (a start's first, after a complete sync) starts no worker.
    const verifier = this.#broken || values.length === 0 ? null : this.#leastBusy()
    if (!verifier) return checkedListings(values, nowSeconds)
    const id = ++this.#nextId
    return new Promise<Verified>((resolve, reject) => {
      verifier.pending.set(id, { values, nowSeconds, resolve, reject })
      try {
        verifier.port.postMessage(
          text === undefined ? { id, values, nowSeconds } : { id, text, nowSeconds },
        )
      } catch {
        // Values that cannot be cloned (not from JSON): checked here, as any other.
        verifier.pending.delete(id)
        checkedListings(values, nowSeconds).then(resolve, reject)
      }
    })
  }

  /**
   * A sealed page's gzip bytes as text, at most `maxBytes` of it inflated (BodyTooLargeError
   * past that), inflated and decoded by a verify worker, which then verifies its listings as
   * of `nowSeconds`: a verify call for that text soon after takes those verdicts. Here, when
   * no worker works.
   */
  inflate(gzip: Uint8Array, maxBytes: number, nowSeconds: number): Promise<string> {
    const verifier = this.#broken ? null : this.#leastBusy()
    if (!verifier) return inflateText(gzip, maxBytes)
    const id = ++this.#nextId
    return new Promise<string>((resolve, reject) => {
      const text = { resolve, reject }
      verifier.pending.set(id, { gzip, maxBytes, nowSeconds, text, verdicts: null })
      try {
        // A copy, not a transfer: a worker that fails leaves the bytes to inflate here.
        verifier.port.postMessage({ id, gzip, maxBytes, nowSeconds })
      } catch {
        verifier.pending.delete(id)
        inflateText(gzip, maxBytes).then(resolve, reject)
      }
    })
  }

  #takeInflated(text: string, nowSeconds: number): Inflated | null {
    // The very string the worker sent is found by identity at once, however long; another
    // page's text of the same length differs within its first listing.
    const at = this.#inflated.findIndex((p) => p.text === text)
    if (at < 0) return null
    const inflated = this.#inflated[at]
    this.#forget(inflated)
    const age = nowSeconds - inflated.nowSeconds
    return age >= 0 && age <= MAX_VERDICT_AGE_S ? inflated : null
  }

  #forget(inflated: Inflated): void {
    if (inflated.expiry !== null) clearTimeout(inflated.expiry)
    inflated.expiry = null
    const at = this.#inflated.indexOf(inflated)
    if (at >= 0) this.#inflated.splice(at, 1)
  }

  /** Ends the workers; pages they held are verified here. */
  close(): void {
    this.#broken = true
    for (const verifier of this.#verifiers.splice(0)) this.#drop(verifier)
  }

  #leastBusy(): Verifier | null {
    if (this.#verifiers.length < this.#size) {
      const idle = this.#verifiers.find((v) => v.pending.size === 0)
      if (idle) return idle
      try {
        return this.#start()
      } catch {
        // No workers in this context (or none allowed): verified here.
        if (this.#verifiers.length === 0) this.#broken = true
      }
    }
    let best: Verifier | null = null
    for (const v of this.#verifiers) if (!best || v.pending.size < best.pending.size) best = v
    return best
  }

  #start(): Verifier {
    const verifier: Verifier = { port: this.#spawn(), pending: new Map() }
    verifier.port.onmessage = ({ data }) => this.#answered(verifier, data)
    verifier.port.onerror = () => this.#failed(verifier)
    this.#verifiers.push(verifier)
    return verifier
  }

  #answered(verifier: Verifier, data: unknown): void {
    const reply = data as { id?: unknown; good?: unknown; text?: unknown; error?: unknown } | null
    const id = typeof reply?.id === 'number' ? reply.id : NaN
    const pending = verifier.pending.get(id)
    if (!pending) return this.#failed(verifier)
    if ('gzip' in pending && pending.verdicts === null) {
      // A page in gzip: its text, or why there is none, comes first.
      if (typeof reply!.text === 'string') return this.#inflatedText(pending, reply!.text)
      if (reply!.error !== 'too-large' && reply!.error !== 'unreadable') {
        return this.#failed(verifier)
      }
      verifier.pending.delete(id)
      pending.text.reject(
        reply!.error === 'too-large'
          ? new BodyTooLargeError(pending.maxBytes)
          : new TypeError('the page did not inflate'),
      )
      return
    }
    if (!(reply!.good instanceof Uint8Array)) return this.#failed(verifier)
    // An inflated page's verdicts are checked against its values when its verify call comes.
    if (!('gzip' in pending) && reply!.good.length !== pending.values.length) {
      return this.#failed(verifier)
    }
    verifier.pending.delete(id)
    if ('gzip' in pending) return pending.verdicts!.resolve(reply!.good)
    pending.resolve(fromVerdicts(pending.values, reply!.good))
  }

  /** A page's text from the worker that inflated it: answered, and kept with its verdicts to
   * come for the verify call that follows. */
  #inflatedText(pending: InflatePending, text: string): void {
    const verdicts = new Promise<Uint8Array>((resolve, reject) => {
      pending.verdicts = { resolve, reject }
    })
    // Never an unhandled rejection: the verify call reads it, or none comes.
    verdicts.catch(() => undefined)
    const inflated: Inflated = { text, nowSeconds: pending.nowSeconds, verdicts, expiry: null }
    inflated.expiry = setTimeout(() => this.#forget(inflated), INFLATED_KEPT_MS)
    this.#inflated.push(inflated)
    if (this.#inflated.length > MAX_INFLATED) this.#forget(this.#inflated[0])
    pending.text.resolve(text)
  }

  /** A worker that failed is dropped for good, with every later page verified here. */
  #failed(verifier: Verifier): void {
    this.#broken = true
    const at = this.#verifiers.indexOf(verifier)
    if (at >= 0) this.#verifiers.splice(at, 1)
    this.#drop(verifier)
  }

  #drop(verifier: Verifier): void {
    verifier.port.onmessage = null
    verifier.port.onerror = null
    verifier.port.terminate()
    for (const p of verifier.pending.values()) {
      if (!('gzip' in p)) {
        checkedListings(p.values, p.nowSeconds).then(p.resolve, p.reject)
      } else if (p.verdicts === null) {
        // Its text not come yet: inflated here; its verify call will verify here too.
        inflateText(p.gzip, p.maxBytes).then(p.text.resolve, p.text.reject)
      } else {
        // Its verify call verifies here.
        p.verdicts.reject(new Error('the verify worker failed'))
      }
    }
    verifier.pending.clear()
  }
}

/** The good values (1 in `good`) as listings, and how many were not. */
export function fromVerdicts(values: readonly unknown[], good: Uint8Array): Verified {
  const listings: Listing[] = []
  let invalid = 0
  for (let i = 0; i < values.length; i++) {
    if (good[i] === 1) listings.push(values[i] as Listing)
    else invalid++
  }
  return { listings, invalid }
}

/** What a verify worker answers for one request. A page text that does not parse to a page
 * is answered with no verdicts, which the pool takes as a failed worker. */
export async function verdicts(request: VerifyRequest): Promise<VerifyReply> {
  const values = request.values ?? pageListings(request.text)
  return { id: request.id, good: await verdictsOf(values, request.nowSeconds) }
}

/** A verify worker's answers to one request, sent by `send` as they come: for a page in gzip
 * its text (or why not), then its verdicts; otherwise its verdicts (verdicts). A text that is
 * not a page gets no verdicts of its listings, but an empty answer, as the pool expects:
 * the catalog worker refuses such a text before it asks. */
export async function answer(
  request: VerifyRequest,
  send: (reply: VerifyReply) => void,
): Promise<void> {
  if (request.gzip === undefined) return send(await verdicts(request))
  let text: string
  try {
    text = await inflateText(request.gzip, request.maxBytes ?? 0)
  } catch (err) {
    return send({
      id: request.id,
      error: err instanceof BodyTooLargeError ? 'too-large' : 'unreadable',
    })
  }
  send({ id: request.id, text })
  send({ id: request.id, good: await verdictsOf(pageListings(text), request.nowSeconds) })
}

/** The `listings` of a relay page's text (relay-client.ts parseListingPage), or none. */
function pageListings(text: string | undefined): readonly unknown[] {
  try {
    const listings = (JSON.parse(text ?? '') as { listings?: unknown } | null)?.listings
    return Array.isArray(listings) ? listings : []
  } catch {
    return []
  }
}
