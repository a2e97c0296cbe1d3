// A symmetric key for one pair of nodes, from their Ed25519 node keys alone: each side
// converts its own secret and the other's public key to X25519 (RFC 7748; the birational map
// libsodium's crypto_sign_ed25519_*_to_curve25519 uses), agrees on the shared secret, and
// expands it with HKDF-SHA256 (RFC 5869) salted by both ids in sorted order and labelled by
// purpose. Both sides compute the same key with no message exchanged, so a relay can MAC
// each request to a peer it knows for the cost of an HMAC instead of a signature.
//
// The node keys it starts from are checked keys (shared/identity.ts strict verification
// refuses small-order public keys in records), and noble refuses an all-zero shared secret.

import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js'

/** X25519 of a secret and a public key (RFC 7748 §6.1); noble's unless one is passed that
 * gives the same bytes faster (a relay's OpenSSL, relay/sealed/native-crypto.ts). */
export type SharedSecret = (secret: Uint8Array, publicKey: Uint8Array) => Uint8Array

/** `purpose` names what the key is for: keys for different purposes are unrelated. */
export function pairKey(
  mySecretKey: Uint8Array,
  myId: string,
  peerId: string,
  purpose: string,
  dh: SharedSecret = x25519.getSharedSecret,
) {
  const shared = dh(
    ed25519.utils.toMontgomerySecret(mySecretKey),
    ed25519.utils.toMontgomery(hexToBytes(peerId)),
  )
  const salt = utf8ToBytes([myId, peerId].sort().join(''))
  return hkdf(sha256, shared, salt, utf8ToBytes(`monsoon-pair-key-v1:${purpose}`), 32)
}
