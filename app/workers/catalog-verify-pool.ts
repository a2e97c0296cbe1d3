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
// A worker that fails (an error, an answer of the wrong shape) is dropped, the pages it held
// are verified here instead, and so is everything after: verifying is never skipped.

import type { Listing } from '../../shared/listing.ts'
import { checkedListings, verdictsOf, type Verified } from '../catalog/verify.ts'

/** Verify workers at most: the catalog worker keeps a core of its own to store and index,
 * and a sync holds three pages per relay in flight, so more would mostly wait. */
export const MAX_VERIFY_WORKERS = 2

export interface VerifyRequest {
  id: number
  /** The values to verify, or the text of a relay page whose `listings` they are. */
  values?: readonly unknown[]
  text?: string
  nowSeconds: number
}

export interface VerifyReply {
  id: number
  /** 1 where the value at that index is a good listing, 0 where it is refused. */
  good: Uint8Array
}

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

interface Pending {
  values: readonly unknown[]
  nowSeconds: number
  resolve: (verified: Verified) => void
  reject: (err: unknown) => void
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

  constructor(spawn: () => VerifyPort, size: number) {
    this.#spawn = spawn
    this.#size = size
  }

  /** The values that are good listings, and how many were refused: verifyListings' answer,
   * from a verify worker when one works. */
  verify(values: readonly unknown[], nowSeconds: number, text?: string): Promise<Verified> {
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
    const reply = data as Partial<VerifyReply> | null
    const pending = typeof reply?.id === 'number' ? verifier.pending.get(reply.id) : undefined
    if (!pending || !(reply!.good instanceof Uint8Array)) return this.#failed(verifier)
    if (reply!.good.length !== pending.values.length) return this.#failed(verifier)
    verifier.pending.delete(reply!.id!)
    pending.resolve(fromVerdicts(pending.values, reply!.good))
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
      checkedListings(p.values, p.nowSeconds).then(p.resolve, p.reject)
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

/** The `listings` of a relay page's text (relay-client.ts parseListingPage), or none. */
function pageListings(text: string | undefined): readonly unknown[] {
  try {
    const listings = (JSON.parse(text ?? '') as { listings?: unknown } | null)?.listings
    return Array.isArray(listings) ? listings : []
  } catch {
    return []
  }
}
