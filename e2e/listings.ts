// Listings made outside any browser: signed in Node with the same code the app uses
// (shared/listing.ts, noble), and published straight to a relay's HTTP API.

import { createHash } from 'node:crypto'
import { createIdentity, type NodeIdentity } from '../shared/identity.ts'
import { createListing, type Listing, type ListingDraft } from '../shared/listing.ts'

/** A plausible draft; the info hash is derived from the name unless given. */
export function draft(name: string, extra: Partial<ListingDraft> = {}): ListingDraft {
  return {
    infoHash: createHash('sha1').update(name).digest('hex'),
    name,
    size: 1_000_000,
    files: 1,
    category: 'misc',
    description: '',
    fileList: [],
    ...extra,
  }
}

/** Signs drafts with one key, `ageSeconds` before now (a listing's date added is its ts). */
export function sign(
  drafts: ListingDraft[],
  identity: NodeIdentity = createIdentity(),
  ageSeconds: (i: number) => number = () => 0,
): Listing[] {
  const now = Math.floor(Date.now() / 1000)
  return drafts.map((d, i) => {
    const ts = now - ageSeconds(i)
    return createListing(d, identity, { seq: ts, ts })
  })
}

/** POSTs listings to a relay (in batches it accepts); fails the test on any refusal. */
export async function publish(relay: string, listings: Listing[]): Promise<void> {
  for (let i = 0; i < listings.length; i += 100) {
    const batch = listings.slice(i, i + 100)
    const response = await fetch(`${relay}/v1/listings`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ listings: batch }),
    })
    const body = (await response.json()) as { stored?: number }
    if (!response.ok || body.stored !== batch.length) {
      throw new Error(`relay stored ${body.stored} of ${batch.length}: ${JSON.stringify(body)}`)
    }
  }
}
