// Ed25519 signing with OpenSSL (node:crypto), for tests and benchmarks that need thousands of
// signatures: noble signs about 800/s on our machines. Ed25519 is deterministic (RFC 8032
// §5.1.6), so the bytes are the ones noble would make for the same key and message.

import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto'

/** DER PKCS#8 header of an Ed25519 private key (RFC 8410 §7); the 32-byte seed follows. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

export class OpenSslSigner {
  /** Public key, 64 hex chars: the node or publisher id. */
  readonly id: string
  readonly secretKey: Uint8Array
  readonly #key: KeyObject

  constructor(secretKey: Uint8Array = crypto.getRandomValues(new Uint8Array(32))) {
    this.secretKey = secretKey
    this.#key = createPrivateKey({
      key: Buffer.concat([PKCS8_PREFIX, secretKey]),
      format: 'der',
      type: 'pkcs8',
    })
    const spki = createPublicKey(this.#key).export({ format: 'der', type: 'spki' })
    this.id = spki.subarray(spki.length - 32).toString('hex')
  }

  /** The signature of `message`, 64 bytes (a ListingSigner, shared/listing-batch.ts). */
  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, message, this.#key))
  }

  /** The signature of `message`, 128 hex chars. */
  signHex(message: Uint8Array): string {
    return sign(null, message, this.#key).toString('hex')
  }
}
