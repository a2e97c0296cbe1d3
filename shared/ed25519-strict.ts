// Strict Ed25519 checks that need no curve arithmetic (RFC 8032 §5.1.3 and §5.1.7): S < L,
// canonical encodings of R and A, and A not of small order. Native verifiers (OpenSSL on the
// relay, BoringSSL behind WebCrypto in the browser) skip some of them; run these first and
// a native "yes" means the reference (noble, zip215: false) says yes too, because their
// cofactorless equation implies noble's cofactored one. See relay/signatures/verify.ts.

import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'

/** The group order L = 2^252 + 27742317777372353535851937790883648493 (RFC 8032 §5.1), LE. */
const L_LE = hexToBytes('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010')
/** The field prime p = 2^255 - 19 (RFC 8032 §5.1), little-endian. */
const P_LE = hexToBytes('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')

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
  return !SMALL_ORDER.has(bytesToHex(publicKey))
}
