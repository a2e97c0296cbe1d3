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
// relay/catalog/verify.test.ts checks the equivalence, crafted cases included.

import { createPublicKey, verify as opensslVerify, type KeyObject } from 'node:crypto'
import { verify as referenceVerify, type SignatureVerifier } from '../../shared/identity.ts'
import { MAX_CACHED_PUBLIC_KEYS } from '../limits.ts'

/** DER SubjectPublicKeyInfo header for an Ed25519 key (RFC 8410 §4); the 32 key bytes follow. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

/** The group order L = 2^252 + 27742317777372353535851937790883648493 (RFC 8032 §5.1), LE. */
const L_LE = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex')
/** The field prime p = 2^255 - 19 (RFC 8032 §5.1), little-endian. */
const P_LE = Buffer.from('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex')

/** Canonical encodings of the 8 points of order dividing 8 (x = 0 ones without sign bit). */
const SMALL_ORDER = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
])

/** a < b for 32-byte little-endian numbers; `topMask` clears high bits of a's last byte. */
function lessThanLE(a: Uint8Array, offset: number, b: Uint8Array, topMask = 0xff): boolean {
  for (let i = 31; i >= 0; i--) {
    const x = i === 31 ? a[offset + i] & topMask : a[offset + i]
    if (x !== b[i]) return x < b[i]
  }
  return false
}

/** RFC 8032 §5.1.3 strict decoding rules that need no curve arithmetic: y < p, and not
 * "x = 0 with x_0 = 1" (x is 0 exactly for y = 1 and y = p - 1). */
function isCanonicalPoint(bytes: Uint8Array, offset: number): boolean {
  if (!lessThanLE(bytes, offset, P_LE, 0x7f)) return false
  if ((bytes[offset + 31] & 0x80) === 0) return true
  let one = bytes[offset] === 1
  let minusOne = bytes[offset] === 0xec
  for (let i = 1; i < 31 && (one || minusOne); i++) {
    one &&= bytes[offset + i] === 0
    minusOne &&= bytes[offset + i] === 0xff
  }
  one &&= bytes[offset + 31] === 0x80
  minusOne &&= bytes[offset + 31] === 0xff
  return !(one || minusOne)
}

/** The checks of step 1 above; false means noble would refuse too. */
export function passesStrictChecks(signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false
  if (!lessThanLE(signature, 32, L_LE)) return false
  if (!isCanonicalPoint(signature, 0) || !isCanonicalPoint(publicKey, 0)) return false
  return !SMALL_ORDER.has(Buffer.from(publicKey).toString('hex'))
}

export interface FastVerifierOptions {
  /** Public keys kept parsed, least recently used dropped first. */
  maxCachedKeys: number
  /** Decides when OpenSSL refuses (tests count the calls). */
  reference: SignatureVerifier
}

/** A SignatureVerifier equivalent to shared/identity.ts `verify`, mostly run by OpenSSL. */
export function createFastVerifier(options: Partial<FastVerifierOptions> = {}): SignatureVerifier {
  const opts: FastVerifierOptions = {
    maxCachedKeys: MAX_CACHED_PUBLIC_KEYS,
    reference: referenceVerify,
    ...options,
  }
  const keys = new Map<string, KeyObject>()

  const keyObject = (publicKey: Uint8Array): KeyObject | null => {
    const id = Buffer.from(publicKey).toString('hex')
    let key = keys.get(id)
    if (key) {
      keys.delete(id)
    } else {
      try {
        key = createPublicKey({
          key: Buffer.concat([SPKI_PREFIX, publicKey]),
          format: 'der',
          type: 'spki',
        })
      } catch {
        return null
      }
      if (keys.size >= opts.maxCachedKeys) keys.delete(keys.keys().next().value!)
    }
    keys.set(id, key)
    return key
  }

  return (signature, message, publicKey) => {
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
}
