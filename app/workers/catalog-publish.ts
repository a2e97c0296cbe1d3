// Publishing from this browser: its node identity (made once, kept in storage) signs the
// listing with a `seq` that only goes up, and the relay is asked to take it. What a relay
// refuses becomes a sentence the page shows as it is.

import { createIdentity, identityFromSecret, type NodeIdentity } from '../../shared/identity.ts'
import { createListing, type Listing, type ListingDraft } from '../../shared/listing.ts'
import { RelayError, relayHost, type fetchRelayJson } from '../catalog/relay-client.ts'
import type { CatalogStorage } from './catalog-storage.ts'

/** This browser's identity: read from storage, or made and stored on first use. */
export async function loadIdentity(storage: CatalogStorage): Promise<NodeIdentity> {
  const secret = await storage.getNodeValue<Uint8Array>('identity')
  if (secret) return identityFromSecret(secret)
  const fresh = createIdentity()
  await storage.setNodeValue('identity', fresh.secretKey)
  return fresh
}

/** Signs `draft` and POSTs it to `relay`; returns the listing once the relay took it. */
export async function publishListing(
  deps: { storage: CatalogStorage; fetchJson: typeof fetchRelayJson; now: () => number },
  author: NodeIdentity,
  draft: ListingDraft,
  relay: string,
): Promise<Listing> {
  const { storage } = deps
  // seq only goes up, even when two listings are signed within one second.
  const now = Math.floor(deps.now() / 1000)
  const seq = Math.max(now, ((await storage.getNodeValue<number>('seq')) ?? 0) + 1)
  await storage.setNodeValue('seq', seq)
  const listing = createListing(draft, author, { seq, ts: now })
  try {
    await deps.fetchJson(`${relay}/v1/listings`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(listing),
    })
  } catch (err) {
    if (!(err instanceof RelayError)) throw err
    const host = relayHost(relay)
    if (err.status === null) throw new Error(`Could not publish the listing: ${err.message}.`)
    const wait =
      err.retryAfter && !/retry|again/i.test(err.message)
        ? ` Try again in ${Math.ceil(err.retryAfter)} s.`
        : ''
    throw new Error(`${host} refused the listing (HTTP ${err.status}): ${err.message}.${wait}`)
  }
  return listing
}
