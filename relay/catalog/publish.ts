// Accepting listings from the network (POST /v1/listings, pushes from peer relays): quotas,
// verification, storage, and the outcome of each as an HTTP status. Socket-free: the client
// address and the clock are passed in.
//
// Order matters. The address quota is charged first, before any signature is checked, so
// one address cannot make us spend unbounded CPU. The publisher quota is charged only for
// a verified listing that would be stored, so replaying someone's old records (which anyone
// can) never uses up that publisher's quota. Then the address's budgets for what it makes us
// store: publisher keys new to this relay (so 1,000 fresh keys cannot each bring their own
// quotas) and bytes per minute. Last the store's caps: per publisher, and the catalog's
// total. Each refusal is counted and said through Refusals.

import type { SignatureVerifier } from '../../shared/identity.ts'
import { ListingError, verifyListing, type Listing } from '../../shared/listing.ts'
import { VerifiedBatches } from '../../shared/listing-batch.ts'
import type { Refusals } from '../refusals.ts'
import type { RateLimiter } from '../budget/quotas.ts'
import type { CatalogStore } from './store.ts'

export type PublishCode =
  | 'malformed'
  | 'bad-signature'
  | 'too-large'
  | 'future'
  | 'stale'
  | 'quota'
  | 'publisher-full'
  | 'publishers-per-address'
  | 'catalog-bytes-per-address'
  | 'catalog-full'

type RefusedStatus = 400 | 409 | 413 | 422 | 429 | 507

export type PublishResult =
  | { status: 200; listing: Listing; cursor: number }
  | {
      status: RefusedStatus
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
  /** Publisher keys new to this relay, by address (NEW_PUBLISHERS_PER_ADDRESS_PER_HOUR). */
  newPublishersPerAddress: RateLimiter
  /** Bytes of listings stored, by address (CATALOG_BYTES_PER_ADDRESS_PER_MINUTE). */
  bytesPerAddress: RateLimiter
  refusals: Refusals
  /** Called with what was newly stored (to push it on). */
  onStored?: (listings: Listing[]) => void
}

export class ListingPublisher {
  /** v2 batches checked good: the rest of a posted batch costs a hash or two a listing. */
  readonly #batches = new VerifiedBatches()

  constructor(readonly deps: PublisherDeps) {}

  /** One result per value, in order. `nowMs` is the wall clock in milliseconds. */
  publish(values: readonly unknown[], address: string, nowMs: number): PublishResult[] {
    const { store, verify, perAddress, perPublisher, refusals } = this.deps
    const { newPublishersPerAddress, bytesPerAddress } = this.deps
    const granted = perAddress.take(address, values.length, nowMs)
    const results: PublishResult[] = new Array(values.length)
    const toStore: { index: number; listing: Listing }[] = []
    const nowSeconds = Math.floor(nowMs / 1000)
    /** Keys new to this relay already charged in this batch. */
    const newKeys = new Set<string>()

    values.forEach((value, index) => {
      if (index >= granted) {
        const retryAfter = perAddress.retryAfter(address, nowMs)
        const error = `too many listings from this address; retry in ${retryAfter} s`
        results[index] = { status: 429, code: 'quota', error, retryAfter }
        refusals.refuse('publish-rate', address, { quota: 'address' }, nowMs)
        return
      }
      let listing: Listing
      try {
        listing = verifyListing(value, nowSeconds, verify, this.#batches)
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
      const key = listing.publisher
      if (!newKeys.has(key) && store.publisherCount(key) === 0) {
        if (newPublishersPerAddress.take(address, 1, nowMs) === 0) {
          const retryAfter = newPublishersPerAddress.retryAfter(address, nowMs)
          const error = `too many new publisher keys from this address; retry in ${retryAfter} s`
          results[index] = { status: 429, code: 'publishers-per-address', error, retryAfter }
          refusals.refuse('publishers-per-address', address, { publisher: key }, nowMs)
          return
        }
        newKeys.add(key)
      }
      if (perPublisher.take(key, 1, nowMs) === 0) {
        const retryAfter = perPublisher.retryAfter(key, nowMs)
        const error = `too many listings from this publisher; retry in ${retryAfter} s`
        results[index] = { status: 429, code: 'quota', error, retryAfter }
        refusals.refuse('publish-rate', address, { quota: 'publisher', publisher: key }, nowMs)
        return
      }
      const bytes = Buffer.byteLength(JSON.stringify(listing))
      if (!bytesPerAddress.takeAll(address, bytes, nowMs)) {
        const retryAfter = Math.max(1, bytesPerAddress.retryAfter(address, nowMs, bytes))
        const error = `too many bytes of listings from this address; retry in ${retryAfter} s`
        results[index] = { status: 429, code: 'catalog-bytes-per-address', error, retryAfter }
        refusals.refuse('catalog-bytes-per-address', address, { publisher: key }, nowMs)
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
        const { maxListingsPerPublisher, maxPublisherBytes } = store.options
        results[index] = refuse(
          429,
          'publisher-full',
          `this publisher has ${maxListingsPerPublisher} listings or ${maxPublisherBytes} bytes stored here`,
        )
        refusals.refuse('publisher-full', address, { publisher: listing.publisher }, nowMs)
      } else if (put.outcome === 'catalog-full') {
        const error = `this relay's catalog is full (${store.options.maxCatalogBytes} bytes)`
        results[index] = refuse(507, 'catalog-full', error)
        refusals.refuse('catalog-full', address, { publisher: listing.publisher }, nowMs)
      } else {
        results[index] = { status: 200, listing, cursor: put.cursor! }
        stored.push(listing)
      }
    })
    if (stored.length > 0) this.deps.onStored?.(stored)
    return results
  }
}

function refuse(status: RefusedStatus, code: PublishCode, error: string) {
  return { status, code, error }
}

function stale(storedSeq: number) {
  return refuse(409, 'stale', `a listing with seq ${storedSeq} is stored; seq must be higher`)
}
