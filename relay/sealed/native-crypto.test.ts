import fc from 'fast-check'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { describe, expect, it } from 'vitest'
import { x25519 } from '@noble/curves/ed25519.js'
import { relayAead, relayX25519 } from './native-crypto.ts'

describe('relayAead (OpenSSL XChaCha20-Poly1305)', () => {
  it('gives exactly the bytes of @noble/ciphers, and opens what noble sealed', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 24, maxLength: 24 }),
        fc.uint8Array({ maxLength: 2000 }),
        fc.option(fc.uint8Array({ maxLength: 100 }), { nil: undefined }),
        (key, nonce, plaintext, aad) => {
          const ours = relayAead(key, nonce, aad).encrypt(plaintext)
          const noble = xchacha20poly1305(key, nonce, aad).encrypt(plaintext)
          expect(ours).toEqual(noble)
          expect(relayAead(key, nonce, aad).decrypt(noble)).toEqual(plaintext)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('seals into the output it is given, at an offset of a larger buffer, as noble does', () => {
    const key = new Uint8Array(32).fill(3)
    const nonce = new Uint8Array(24).fill(4)
    const plaintext = Uint8Array.from({ length: 3000 }, (_, i) => i % 251)
    const room = new Uint8Array(10 + plaintext.length + 16 + 5).fill(0xaa)
    const output = room.subarray(10, 10 + plaintext.length + 16)
    expect(relayAead(key, nonce).encrypt(plaintext, output)).toBe(output)
    expect(output).toEqual(xchacha20poly1305(key, nonce).encrypt(plaintext))
    // Nothing written outside it.
    expect([...room.subarray(0, 10), ...room.subarray(10 + output.length)]).toEqual(
      new Array(15).fill(0xaa),
    )
    expect(() => relayAead(key, nonce).encrypt(plaintext, new Uint8Array(16))).toThrow(RangeError)
  })

  it('seals parts as noble seals their concatenation', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 500 }), { maxLength: 5 }),
        fc.uint8Array({ maxLength: 40 }),
        (parts, aad) => {
          const key = new Uint8Array(32).fill(6)
          const nonce = new Uint8Array(24).fill(8)
          const joined = new Uint8Array(parts.flatMap((p) => [...p]))
          const output = new Uint8Array(joined.length + 16)
          expect(relayAead(key, nonce, aad).encryptParts!(parts, output)).toBe(output)
          expect(output).toEqual(xchacha20poly1305(key, nonce, aad).encrypt(joined))
        },
      ),
      { numRuns: 100 },
    )
  })

  it('takes keys and nonces that are views into a larger buffer (a pooled Buffer)', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i + 1)
    const nonce = Uint8Array.from({ length: 24 }, (_, i) => 200 - i)
    const pool = Buffer.alloc(100, 0xee)
    pool.set(key, 7)
    pool.set(nonce, 50)
    const viewKey = pool.subarray(7, 39)
    const viewNonce = pool.subarray(50, 74)
    const text = Buffer.from('sealed at an offset')
    expect(relayAead(viewKey, viewNonce).encrypt(text)).toEqual(
      xchacha20poly1305(key, nonce).encrypt(text),
    )
  })

  it('refuses a flipped bit anywhere, a wrong associated data and a short input', () => {
    const key = new Uint8Array(32).fill(7)
    const nonce = new Uint8Array(24).fill(9)
    const aad = new Uint8Array([1, 2, 3])
    const sealed = relayAead(key, nonce, aad).encrypt(new Uint8Array(40).fill(5))
    for (let i = 0; i < sealed.length; i++) {
      const bad = sealed.slice()
      bad[i] ^= 0x10
      expect(() => relayAead(key, nonce, aad).decrypt(bad)).toThrow()
    }
    expect(() => relayAead(key, nonce, new Uint8Array([1, 2])).decrypt(sealed)).toThrow()
    expect(() => relayAead(key, nonce, aad).decrypt(sealed.subarray(0, 15))).toThrow()
  })
})

describe('relayX25519 (OpenSSL X25519)', () => {
  it('agrees with noble on any key pair, and refuses a small-order public key', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (a, b) => {
          const publicB = x25519.getPublicKey(b)
          expect(relayX25519(a, publicB)).toEqual(x25519.getSharedSecret(a, publicB))
        },
      ),
      { numRuns: 50 },
    )
    expect(() => relayX25519(new Uint8Array(32).fill(3), new Uint8Array(32))).toThrow()
  })
})
