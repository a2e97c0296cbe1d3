// The relay's sealing crypto in OpenSSL (node:crypto), same bytes as noble's:
//
// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha §2: HChaCha20 subkey, then the RFC 8439 AEAD
// with the nonce's last 8 bytes) with the bulk work in OpenSSL through node:crypto: the
// same bytes as @noble/ciphers' xchacha20poly1305, which the app (browsers have no ChaCha in
// WebCrypto) and the reference use. noble runs ~20 MiB/s on these machines, OpenSSL many
// times that (bench/sealing), and a relay seals every API answer it gives over plain HTTP.
// HChaCha20 is noble's own; on a big-endian host (its word order) noble does everything.
//
// X25519 (RFC 7748 §6.1) for the key of each new sender: noble takes ~1-2 ms here, OpenSSL
// about a tenth, and anyone can make a relay derive one by sealing to it with a fresh key.

import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
} from 'node:crypto'
import { endianness } from 'node:os'
import { hchacha, xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { x25519 } from '@noble/curves/ed25519.js'
import type { SharedSecret } from '../../shared/pair-key.ts'
import type { Aead } from '../../shared/sealed/envelope.ts'

const SIGMA = new Uint32Array(Uint8Array.from(Buffer.from('expand 32-byte k')).buffer)
const TAG_BYTES = 16

function subkey(key: Uint8Array, nonce: Uint8Array): Uint8Array {
  const out = new Uint32Array(8)
  hchacha(
    SIGMA,
    // Copies of their own: a Buffer's slice() is a view that may sit at any offset of a
    // shared (pooled) ArrayBuffer, and its .buffer is that whole pool.
    new Uint32Array(new Uint8Array(key.subarray(0, 32)).buffer),
    new Uint32Array(new Uint8Array(nonce.subarray(0, 16)).buffer),
    out,
  )
  return new Uint8Array(out.buffer)
}

const native: Aead = (key, nonce, aad) => {
  const k = subkey(key, nonce)
  const iv = new Uint8Array(12)
  iv.set(nonce.subarray(16, 24), 4)
  // OpenSSL takes the parts one update each: no joined copy of a page before sealing it.
  const encryptParts = (parts: readonly Uint8Array[], output?: Uint8Array) => {
    let length = 0
    for (const part of parts) length += part.length
    if (output && output.length !== length + TAG_BYTES) {
      throw new RangeError(`output must be ${length + TAG_BYTES} bytes`)
    }
    const out = output ?? new Uint8Array(length + TAG_BYTES)
    const c = createCipheriv('chacha20-poly1305', k, iv, { authTagLength: TAG_BYTES })
    if (aad) c.setAAD(aad, { plaintextLength: length })
    let at = 0
    for (const part of parts) {
      const sealed = c.update(part)
      out.set(sealed, at)
      at += sealed.length
    }
    const tail = c.final()
    out.set(tail, at)
    out.set(c.getAuthTag(), at + tail.length)
    return out
  }
  return {
    encrypt(plaintext, output) {
      return encryptParts([plaintext], output)
    },
    encryptParts,
    decrypt(sealed) {
      if (sealed.length < TAG_BYTES) throw new RangeError('shorter than the tag')
      const body = sealed.subarray(0, sealed.length - TAG_BYTES)
      const d = createDecipheriv('chacha20-poly1305', k, iv, { authTagLength: TAG_BYTES })
      d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
      if (aad) d.setAAD(aad, { plaintextLength: body.length })
      const head = d.update(body)
      const tail = d.final() // throws when the tag does not check
      return tail.length ? new Uint8Array(Buffer.concat([head, tail])) : new Uint8Array(head)
    },
  }
}

/** XChaCha20-Poly1305 for relays: OpenSSL where it can, noble where not. */
export const relayAead: Aead = endianness() === 'LE' ? native : xchacha20poly1305

// DER wrappings of raw X25519 keys (RFC 8410 §7 and §10: OID 1.3.101.110).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex')

const opensslX25519: SharedSecret = (secret, publicKey) => {
  if (secret.length !== 32 || publicKey.length !== 32) throw new RangeError('keys are 32 bytes')
  const shared = diffieHellman({
    privateKey: createPrivateKey({
      key: Buffer.concat([PKCS8_PREFIX, secret]),
      format: 'der',
      type: 'pkcs8',
    }),
    publicKey: createPublicKey({
      key: Buffer.concat([SPKI_PREFIX, publicKey]),
      format: 'der',
      type: 'spki',
    }),
  })
  // RFC 7748 §6.1: an all-zero output means a small-order point; refuse it as noble does.
  if (shared.every((b) => b === 0)) throw new RangeError('small-order public key')
  return new Uint8Array(shared)
}

/** X25519 for relays: OpenSSL's, or noble's where node:crypto has none. */
export const relayX25519: SharedSecret = (() => {
  try {
    const probe = new Uint8Array(32).fill(1)
    opensslX25519(probe, x25519.getPublicKey(probe))
    return opensslX25519
  } catch {
    return x25519.getSharedSecret
  }
})()
