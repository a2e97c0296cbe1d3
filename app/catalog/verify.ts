// The one place the browser checks listings it receives from relays (signature, fields,
// clock skew; shared/listing.ts). Everything the worker stores or indexes passes here.
//
// Signatures go to WebCrypto's Ed25519 (native, about 10x noble's ~1,300/s in Chromium)
// after the strict pre-checks of shared/ed25519-strict.ts; with them a native "yes" is a
// noble "yes" too. A native "no" is decided by noble, as on the relay
// (relay/signatures/verify.ts), so every node accepts exactly the same signatures. Without
// WebCrypto Ed25519 (older browsers) noble does it all.

import { BoundedMap } from '../../shared/bounded-map.ts'
import { passesStrictChecks } from '../../shared/ed25519-strict.ts'
import { bytesToHex, verify as referenceVerify } from '../../shared/identity.ts'
import { verifyListing, type Listing } from '../../shared/listing.ts'

/** Listings checked between two yields to the worker's event loop, so a search typed during
 * a sync is answered between chunks. */
const CHUNK = 64
/** Publisher keys kept imported; a sync page holds a few hundred publishers at most. */
const MAX_CACHED_KEYS = 1024

interface SignatureCheck {
  signature: Uint8Array
  message: Uint8Array
  publicKey: Uint8Array
}

const keys = new BoundedMap<string, Promise<CryptoKey | null>>({
  maxSize: MAX_CACHED_KEYS,
  order: 'oldest',
})
let webCrypto: boolean | null = null

function importKey(publicKey: Uint8Array): Promise<CryptoKey | null> {
  const id = bytesToHex(publicKey)
  let key = keys.get(id)
  if (!key) {
    key = crypto.subtle
      .importKey('raw', publicKey as BufferSource, { name: 'Ed25519' }, false, ['verify'])
      .catch(() => null)
    keys.set(id, key)
  }
  return key
}

/** One signature, as strict as noble: native where possible, noble where native says no. */
async function checkSignature(c: SignatureCheck): Promise<boolean> {
  if (!passesStrictChecks(c.signature, c.publicKey)) return false
  if (webCrypto !== false) {
    try {
      const key = await importKey(c.publicKey)
      const ok =
        key !== null &&
        (await crypto.subtle.verify(
          { name: 'Ed25519' },
          key,
          c.signature as BufferSource,
          c.message as BufferSource,
        ))
      webCrypto = true
      if (ok) return true
    } catch {
      // No Ed25519 in this browser's WebCrypto: noble from now on.
      if (webCrypto === null) webCrypto = false
    }
  }
  return referenceVerify(c.signature, c.message, c.publicKey)
}

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
  for (let start = 0; start < values.length; start += CHUNK) {
    if (start > 0) await yieldToEvents()
    // Fields, canonical form and clock skew are checked at once; each signature is noted
    // here and checked below, all of the chunk's in parallel.
    const chunk: { listing: Listing; check: SignatureCheck }[] = []
    for (const value of values.slice(start, start + CHUNK)) {
      let check: SignatureCheck | null = null
      try {
        const listing = verifyListing(value, nowSeconds, (signature, message, publicKey) => {
          check = { signature, message, publicKey }
          return true
        })
        chunk.push({ listing, check: check! })
      } catch {
        invalid++
      }
    }
    const ok = await Promise.all(chunk.map((c) => checkSignature(c.check)))
    chunk.forEach((c, i) => (ok[i] ? listings.push(c.listing) : invalid++))
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
