// The one place the browser checks listings it receives from relays (signature, fields,
// clock skew; shared/listing.ts). Everything the worker stores or indexes passes here, so
// a faster signature check (WebCrypto Ed25519) can replace the default in this file alone.

import { verifyListing, type Listing } from '../../shared/listing.ts'

/** Listings checked between two yields to the worker's event loop: noble verifies about a
 * thousand a second, so a whole page at once would hold a search up for a second. */
const CHUNK = 64

export interface Verified {
  listings: Listing[]
  /** Values refused: malformed, forged, too large or from the future. */
  invalid: number
}

/** Verifies untrusted values (parsed JSON) as listings; bad ones are counted, not thrown. */
export async function verifyListings(
  values: readonly unknown[],
  nowSeconds: number,
): Promise<Verified> {
  const listings: Listing[] = []
  let invalid = 0
  for (let i = 0; i < values.length; i++) {
    if (i > 0 && i % CHUNK === 0) await yieldToEvents()
    try {
      listings.push(verifyListing(values[i], nowSeconds))
    } catch {
      invalid++
    }
  }
  return { listings, invalid }
}

/** Lets queued messages (a search typed meanwhile) run before the next chunk. A message
 * to ourselves rather than setTimeout(0), which browsers clamp to 4 ms when nested. */
function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel()
    channel.port1.onmessage = () => {
      channel.port1.close()
      resolve()
    }
    channel.port2.postMessage(null)
  })
}
