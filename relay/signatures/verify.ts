// A fast Ed25519 verifier for the relay: OpenSSL (node:crypto) instead of noble.
//
// Why: noble verifies about 800 signatures/s on our machines, OpenSSL about 9,000/s, and a
// relay syncing 100,000 listings from a peer must not spend minutes on it.
//
// The catch: every node must accept exactly the same signatures (ARCHITECTURE.md,
// "Identities and signatures"), and OpenSSL's rules differ from noble's strict mode
// (RFC 8032 §5.1.7 with canonical encodings, cofactored equation, small-order keys
// refused). So:
//  1. before OpenSSL, the checks noble makes that OpenSSL may not: S < L, canonical
//     encodings of R and A (y < p; x = 0 with the sign bit set is invalid, §5.1.3), and A
//     not one of the 8 small-order points. With them, OpenSSL saying yes implies noble says
//     yes (OpenSSL's cofactorless equation R = [S]B - [k]A implies noble's cofactored one);
//  2. when OpenSSL says no, noble decides. The two disagree only on crafted signatures
//     whose R or A carries a torsion component, which only the cofactored equation accepts.
//     Honest signatures never take this path; a forged one costs what it costs everywhere.
// relay/signatures/verify.test.ts checks the equivalence, crafted cases included.
//
// Signatures checked good are remembered (shared/listing-batch.ts), so a batch of v2
// listings costs one check, not one per listing.

import { createPublicKey, verify as opensslVerify, type KeyObject } from 'node:crypto'
import { BoundedMap } from '../../shared/bounded-map.ts'
import { verify as referenceVerify, type SignatureVerifier } from '../../shared/identity.ts'
import { passesStrictChecks } from '../../shared/ed25519-strict.ts'
import { MAX_REMEMBERED_SIGNATURES } from '../../shared/limits.ts'
import { rememberGoodSignatures } from '../../shared/listing-batch.ts'
import { MAX_CACHED_PUBLIC_KEYS } from '../limits.ts'

export { passesStrictChecks }

/** DER SubjectPublicKeyInfo header for an Ed25519 key (RFC 8410 §4); the 32 key bytes follow. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

export interface FastVerifierOptions {
  /** Public keys kept parsed, least recently used dropped first. */
  maxCachedKeys: number
  /** Decides when OpenSSL refuses (tests count the calls). */
  reference: SignatureVerifier
  /** Checks that passed, remembered (0: none). */
  maxRememberedSignatures: number
}

/** A SignatureVerifier equivalent to shared/identity.ts `verify`, mostly run by OpenSSL. */
export function createFastVerifier(options: Partial<FastVerifierOptions> = {}): SignatureVerifier {
  const opts: FastVerifierOptions = {
    maxCachedKeys: MAX_CACHED_PUBLIC_KEYS,
    reference: referenceVerify,
    maxRememberedSignatures: MAX_REMEMBERED_SIGNATURES,
    ...options,
  }
  const keys = new BoundedMap<string, KeyObject>({ maxSize: opts.maxCachedKeys, order: 'lru' })

  const keyObject = (publicKey: Uint8Array): KeyObject | null => {
    const id = Buffer.from(publicKey).toString('hex')
    let key = keys.get(id)
    if (!key) {
      try {
        key = createPublicKey({
          key: Buffer.concat([SPKI_PREFIX, publicKey]),
          format: 'der',
          type: 'spki',
        })
      } catch {
        return null
      }
      keys.set(id, key)
    }
    return key
  }

  const verify: SignatureVerifier = (signature, message, publicKey) => {
    if (!passesStrictChecks(signature, publicKey)) return false
    const key = keyObject(publicKey)
    let ok = false
    try {
      ok = key !== null && opensslVerify(null, message, key, signature)
    } catch {
      ok = false
    }
    return ok || opts.reference(signature, message, publicKey)
  }
  return opts.maxRememberedSignatures > 0
    ? rememberGoodSignatures(verify, opts.maxRememberedSignatures)
    : verify
}
