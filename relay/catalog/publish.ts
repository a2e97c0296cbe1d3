// Accepting listings from the network (POST /v1/listings, pushes from peer relays): quotas,
// verification, storage, and the outcome of each as an HTTP status. Socket-free: the client
// address and the clock are passed in.
//
// Order matters. The address quota is charged first, before any signature is checked, so
// one address cannot make us spend unbounded CPU. The publisher quota is charged only for
// a verified listing that would be stored, so replaying someone's old records (which anyone
// can) never uses up that publisher's quota.

import type { SignatureVerifier } from '../../shared/identity.ts'
import { ListingError, verifyListing, type Listing } from '../../shared/listing.ts'
import type { RateLimiter } from './quotas.ts'
import type { CatalogStore } from './store.ts'

export type PublishCode =
  'malformed' | 'bad-signature' | 'too-large' | 'future' | 'stale' | 'quota' | 'publisher-full'

export type PublishResult =
  | { status: 200; listing: Listing; cursor: number }
  | {
      status: 400 | 409 | 413 | 422 | 429
      code: PublishCode
      error: string
      /** Seconds until the quota allows another, on a 429. */
      retryAfter?: number
    }

const STATUS_OF: Record<ListingError['code'], 400 | 413 | 422> = {
  malformed: 400,
  'bad-signature': 400,
  'too-large': 413,
  future: 422,
}

export interface PublisherDeps {
  store: CatalogStore
  verify: SignatureVerifier
  perAddress: RateLimiter
  perPublisher: RateLimiter
  /** Called with what was newly stored (to push it on). */
  onStored?: (listings: Listing[]) => void
}

export class ListingPublisher {
  constructor(readonly deps: PublisherDeps) {}

  /** One result per value, in order. `nowMs` is the wall clock in milliseconds. */
  publish(values: readonly unknown[], address: string, nowMs: number): PublishResult[] {
    const { store, verify, perAddress, perPublisher } = this.deps
    const granted = perAddress.take(address, values.length, nowMs)
    const results: PublishResult[] = new Array(values.length)
    const toStore: { index: number; listing: Listing }[] = []
    const nowSeconds = Math.floor(nowMs / 1000)

    values.forEach((value, index) => {
      if (index >= granted) {
        const retryAfter = perAddress.retryAfter(address, nowMs)
        const error = `too many listings from this address; retry in ${retryAfter} s`
        results[index] = { status: 429, code: 'quota', error, retryAfter }
        return
      }
      let listing: Listing
      try {
        listing = verifyListing(value, nowSeconds, verify)
      } catch (err) {
        if (!(err instanceof ListingError)) throw err
        results[index] = refuse(STATUS_OF[err.code], err.code, err.message)
        return
      }
      const storedSeq = store.storedSeq(listing.publisher, listing.infoHash)
      if (storedSeq !== undefined && listing.seq <= storedSeq) {
        results[index] = stale(storedSeq)
        return
      }
      if (perPublisher.take(listing.publisher, 1, nowMs) === 0) {
        const retryAfter = perPublisher.retryAfter(listing.publisher, nowMs)
        const error = `too many listings from this publisher; retry in ${retryAfter} s`
        results[index] = { status: 429, code: 'quota', error, retryAfter }
        return
      }
      toStore.push({ index, listing })
    })

    const stored: Listing[] = []
    const outcomes = store.putMany(toStore.map((t) => t.listing))
    toStore.forEach(({ index, listing }, i) => {
      const put = outcomes[i]
      if (put.outcome === 'stale') {
        results[index] = stale(put.storedSeq!)
      } else if (put.outcome === 'full') {
        results[index] = refuse(
          429,
          'publisher-full',
          `this publisher has ${store.options.maxListingsPerPublisher} listings stored here`,
        )
      } else {
        results[index] = { status: 200, listing, cursor: put.cursor! }
        stored.push(listing)
      }
    })
    if (stored.length > 0) this.deps.onStored?.(stored)
    return results
  }
}

function refuse(status: 400 | 409 | 413 | 422 | 429, code: PublishCode, error: string) {
  return { status, code, error }
}

function stale(storedSeq: number) {
  return refuse(409, 'stale', `a listing with seq ${storedSeq} is stored; seq must be higher`)
}
