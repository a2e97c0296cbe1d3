// Publishing from this browser: its node identity (made once, kept in storage) signs the
// listing with a `seq` that only goes up, and the relay is asked to take it. What a relay
// refuses becomes a sentence the page shows as it is; a relay out of reach is no refusal
// (the replica has stored the listing first, and the browser mesh passes it on).

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

/** Signs `draft` with this browser's key and a `seq` that only goes up. */
export async function signListing(
  storage: CatalogStorage,
  author: NodeIdentity,
  draft: ListingDraft,
  nowMs: number,
): Promise<Listing> {
  // seq only goes up, even when two listings are signed within one second.
  const now = Math.floor(nowMs / 1000)
  const seq = Math.max(now, ((await storage.getNodeValue<number>('seq')) ?? 0) + 1)
  await storage.setNodeValue('seq', seq)
  return createListing(draft, author, { seq, ts: now })
}

/** POSTs a signed listing to `relay`: true once it took it, false when it could not be
 * reached (the listing waits in this browser's catalog, which the mesh passes on). A
 * refusal throws, with the relay's reason in words. */
export async function postListing(
  fetchJson: typeof fetchRelayJson,
  relay: string,
  listing: Listing,
): Promise<boolean> {
  try {
    await fetchJson(`${relay}/v1/listings`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(listing),
    })
    return true
  } catch (err) {
    if (!(err instanceof RelayError)) throw err
    if (err.status === null) return false
    const wait =
      err.retryAfter && !/retry|again/i.test(err.message)
        ? ` Try again in ${Math.ceil(err.retryAfter)} s.`
        : ''
    throw new Error(
      `${relayHost(relay)} refused the listing (HTTP ${err.status}): ${err.message}.${wait}`,
    )
  }
}

/** Listings kept to post again after their relay was out of reach: a user publishes a few. */
export const MAX_UNSENT_LISTINGS = 64
const UNSENT = 'unsent'

interface Unsent {
  relay: string
  listing: Listing
}

/** Remembers a listing its relay did not get, to post it at the next sync pass. */
export async function noteUnsent(storage: CatalogStorage, relay: string, listing: Listing) {
  const unsent = (await storage.getNodeValue<Unsent[]>(UNSENT)) ?? []
  await storage.setNodeValue(UNSENT, [...unsent, { relay, listing }].slice(-MAX_UNSENT_LISTINGS))
}

/** Posts each remembered listing again; those taken or refused are forgotten, those whose
 * relay is still out of reach kept. */
export async function postUnsent(
  storage: CatalogStorage,
  fetchJson: typeof fetchRelayJson,
): Promise<void> {
  const unsent = (await storage.getNodeValue<Unsent[]>(UNSENT)) ?? []
  if (unsent.length === 0) return
  const kept: Unsent[] = []
  for (const u of unsent) {
    const reached = await postListing(fetchJson, u.relay, u.listing).catch(() => true)
    if (!reached) kept.push(u)
  }
  await storage.setNodeValue(UNSENT, kept)
}
