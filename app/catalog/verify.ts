// The one place the browser checks listings it receives from relays (signature, fields,
// clock skew; shared/listing.ts). Everything the worker stores or indexes passes here.
//
// Signatures go to WebCrypto's Ed25519 (native, about 10x noble's ~1,300/s in Chromium)
// after the strict pre-checks of shared/ed25519-strict.ts; with them a native "yes" is a
// noble "yes" too. A native "no" is decided by noble, as on the relay
// (relay/signatures/verify.ts), so every node accepts exactly the same signatures. Without
// WebCrypto Ed25519 (older browsers) noble does it all.
//
// A batch of v2 listings (shared/listing-batch.ts) shares one signature over its batch
// statement: it is checked when the batch's first listing comes, and the batch is then
// remembered (VerifiedBatches), so its other listings cost a hash or two each. Checks are
// also remembered by their exact bytes, passed or failed (the same bytes always get the
// same answer), so a batch offered again is not checked again.

import { BoundedMap } from '../../shared/bounded-map.ts'
import { passesStrictChecks } from '../../shared/ed25519-strict.ts'
import { bytesToHex, verify as referenceVerify } from '../../shared/identity.ts'
import { MAX_REMEMBERED_SIGNATURES } from '../../shared/limits.ts'
import {
  LISTING_BATCH_VERSION,
  checkListing,
  verifyListing,
  type Listing,
} from '../../shared/listing.ts'
import { VerifiedBatches, signatureMemoKey } from '../../shared/listing-batch.ts'
import { sha256 } from '../../shared/sha256.ts'

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
/** v2 batches whose signature checked good; their leaf and node hashes (about two a listing)
 * by shared/sha256.ts, about twice noble's speed on inputs this short. */
const batches = new VerifiedBatches(undefined, sha256)
/** Checks made or under way, by their bytes. */
const checks = new BoundedMap<string, Promise<boolean>>({
  maxSize: MAX_REMEMBERED_SIGNATURES,
  order: 'lru',
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

/** One signature, checked once however often the same bytes come. */
function checkSignatureOnce(c: SignatureCheck): Promise<boolean> {
  const key = signatureMemoKey(c.signature, c.message, c.publicKey)
  if (key === null) return checkSignature(c)
  let check = checks.get(key)
  if (!check) {
    check = checkSignature(c)
    checks.set(key, check)
  }
  return check
}

/** A listing, null when refused, or one waiting on its (v1) signature check (in an object,
 * so awaiting verifyOne does not wait for it). */
type Slot = Listing | null | { pending: Promise<Listing | null> }

/** verifyListing (a copy of the listing), or checkListing (the value itself) where only the
 * answer is wanted. */
type Check = typeof verifyListing

/** Checks one value: fields, canonical form, clock skew and the proof at once; a v1
 * signature is left under way (the chunk's run in parallel); a v2 batch's signature is
 * awaited the first time (verifyInBatch), so the rest of its batch needs none and is
 * answered at once, without a turn of the event loop. */
function verifyOne(value: unknown, nowSeconds: number, check: Check): Slot | Promise<Slot> {
  const isBatch = (value as { v?: unknown } | null)?.v === LISTING_BATCH_VERSION
  let captured: SignatureCheck | null = null
  try {
    const listing = check(
      value,
      nowSeconds,
      (signature, message, publicKey) => {
        captured = { signature, message, publicKey }
        // A batch is never taken on trust: "no" until its signature is known good.
        return !isBatch
      },
      batches,
    )
    const signature = captured as SignatureCheck | null
    return signature
      ? { pending: checkSignatureOnce(signature).then((ok) => (ok ? listing : null)) }
      : listing
  } catch {
    const signature = captured as SignatureCheck | null
    return isBatch && signature ? verifyInBatch(value, nowSeconds, signature, check) : null
  }
}

/** A v2 listing whose batch is not known yet: its batch signature (`check`) is checked,
 * and if good the listing is checked again with that one answer, which remembers the
 * batch for its other listings. */
async function verifyInBatch(
  value: unknown,
  nowSeconds: number,
  signature: SignatureCheck,
  check: Check,
): Promise<Slot> {
  if (!(await checkSignatureOnce(signature))) return null
  const key = signatureMemoKey(signature.signature, signature.message, signature.publicKey)
  try {
    return check(
      value,
      nowSeconds,
      (signature, message, publicKey) =>
        key !== null && signatureMemoKey(signature, message, publicKey) === key,
      batches,
    )
  } catch {
    return null
  }
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
  return verifiedOf(await verifyEach(values, nowSeconds, verifyListing))
}

/** verifyListings' answer for values only the caller holds (parsed from a relay's page just
 * now): the good values themselves, typed, not copies (checkListing: a good one holds no
 * field but a listing's). A copy of every listing of a sync costs time and garbage. */
export async function checkedListings(
  values: readonly unknown[],
  nowSeconds: number,
): Promise<Verified> {
  return verifiedOf(await verifyEach(values, nowSeconds, checkListing))
}

function verifiedOf(slots: readonly (Listing | null)[]): Verified {
  const listings: Listing[] = []
  let invalid = 0
  for (const slot of slots) {
    if (slot) listings.push(slot)
    else invalid++
  }
  return { listings, invalid }
}

/** One byte per value, in order: 1 where it is a good listing, 0 where it is refused. The
 * same checks as verifyListings, without copying the good ones. */
export async function verdictsOf(
  values: readonly unknown[],
  nowSeconds: number,
): Promise<Uint8Array> {
  const slots = await verifyEach(values, nowSeconds, checkListing)
  return Uint8Array.from(slots, (slot) => (slot ? 1 : 0))
}

/** Each value verified, in order: the listing, or null where refused. */
async function verifyEach(
  values: readonly unknown[],
  nowSeconds: number,
  check: Check,
): Promise<(Listing | null)[]> {
  const out: (Listing | null)[] = []
  for (let start = 0; start < values.length; start += CHUNK) {
    if (start > 0) await yieldToEvents()
    const slots: Slot[] = []
    for (let i = start; i < Math.min(values.length, start + CHUNK); i++) {
      const slot = verifyOne(values[i], nowSeconds, check)
      slots.push(slot instanceof Promise ? await slot : slot)
    }
    const settled = slots.map((slot) => (slot && 'pending' in slot ? slot.pending : slot))
    out.push(...(await Promise.all(settled)))
  }
  return out
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
