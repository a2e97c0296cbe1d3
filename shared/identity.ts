// Node identities: an Ed25519 key pair (RFC 8032) per node, browser or relay. The node id is
// the hex public key. Verification is strict (RFC 8032 §5.1.7 with canonical encodings, not
// ZIP-215), so every node accepts exactly the same signatures.

import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'

export interface NodeIdentity {
  /** 32-byte Ed25519 seed. Keep it secret. */
  readonly secretKey: Uint8Array
  /** 32-byte public key. */
  readonly publicKey: Uint8Array
  /** The public key as 64 lowercase hex chars. */
  readonly id: string
}

/** A new identity from 32 random bytes (pass your own source in tests). */
export function createIdentity(
  randomBytes: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n)),
): NodeIdentity {
  return identityFromSecret(randomBytes(32))
}

export function identityFromSecret(secretKey: Uint8Array): NodeIdentity {
  if (!(secretKey instanceof Uint8Array)) throw new TypeError('secret key must be bytes')
  if (secretKey.length !== 32) throw new RangeError('secret key must be 32 bytes')
  const publicKey = ed25519.getPublicKey(secretKey)
  return { secretKey: secretKey.slice(), publicKey, id: bytesToHex(publicKey) }
}

export function sign(identity: NodeIdentity, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, identity.secretKey)
}

/**
 * Checks a signature: true only for a valid one, false for anything else (never throws).
 * `verify` below is the reference; a faster one may be injected where it matters (the relay
 * uses OpenSSL, see relay/signatures/verify.ts) as long as it accepts exactly the same set.
 */
export type SignatureVerifier = (
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
) => boolean

/** Strict RFC 8032 verification; false for any malformed key or signature. */
export const verify: SignatureVerifier = (signature, message, publicKey) => {
  if (signature.length !== 64 || publicKey.length !== 32) return false
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}

export { bytesToHex, hexToBytes }
