// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha §2: HChaCha20 subkey, then the RFC 8439 AEAD
// with the nonce's last 8 bytes) with the bulk work in OpenSSL through node:crypto: the
// same bytes as @noble/ciphers' xchacha20poly1305, which the app (browsers have no ChaCha in
// WebCrypto) and the reference use. noble runs ~20 MiB/s on these machines, OpenSSL many
// times that (bench/sealing), and a relay seals every API answer it gives over plain HTTP.
// HChaCha20 is noble's own; on a big-endian host (its word order) noble does everything.

import { createCipheriv, createDecipheriv } from 'node:crypto'
import { endianness } from 'node:os'
import { hchacha, xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import type { Aead } from '../../shared/sealed/envelope.ts'

const SIGMA = new Uint32Array(Uint8Array.from(Buffer.from('expand 32-byte k')).buffer)
const TAG_BYTES = 16

function subkey(key: Uint8Array, nonce: Uint8Array): Uint8Array {
  const out = new Uint32Array(8)
  hchacha(
    SIGMA,
    new Uint32Array(key.slice(0, 32).buffer),
    new Uint32Array(nonce.slice(0, 16).buffer),
    out,
  )
  return new Uint8Array(out.buffer)
}

const native: Aead = (key, nonce, aad) => {
  const k = subkey(key, nonce)
  const iv = new Uint8Array(12)
  iv.set(nonce.subarray(16, 24), 4)
  return {
    encrypt(plaintext) {
      const c = createCipheriv('chacha20-poly1305', k, iv, { authTagLength: TAG_BYTES })
      if (aad) c.setAAD(aad, { plaintextLength: plaintext.length })
      const head = c.update(plaintext)
      const tail = c.final()
      const out = new Uint8Array(head.length + tail.length + TAG_BYTES)
      out.set(head)
      out.set(tail, head.length)
      out.set(c.getAuthTag(), head.length + tail.length)
      return out
    },
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
