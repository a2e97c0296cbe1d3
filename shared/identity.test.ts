import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import vectors from './test/vectors/rfc8032.json'
import {
  bytesToHex,
  createIdentity,
  hexToBytes,
  identityFromSecret,
  sign,
  verify,
} from './identity.ts'

// The order of the Ed25519 group, RFC 8032 §5.1.
const L = 2n ** 252n + 27742317777372353535851937790883648493n

describe('identity', () => {
  it.each(vectors)('matches $name', (v) => {
    const id = identityFromSecret(hexToBytes(v.secretKey))
    expect(id.id).toBe(v.publicKey)
    const sig = sign(id, hexToBytes(v.message))
    expect(bytesToHex(sig)).toBe(v.signature)
    expect(verify(sig, hexToBytes(v.message), id.publicKey)).toBe(true)
  })

  it('signs and verifies any message, and refuses any other', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        (msg, extra) => {
          const id = createIdentity()
          const sig = sign(id, msg)
          expect(verify(sig, msg, id.publicKey)).toBe(true)
          const other = new Uint8Array([...msg, ...extra])
          expect(verify(sig, other, id.publicKey)).toBe(false)
        },
      ),
      { numRuns: 50 },
    )
  })

  it('refuses a wrong key, a flipped bit and wrong lengths', () => {
    const a = createIdentity()
    const b = createIdentity()
    const msg = new TextEncoder().encode('hello')
    const sig = sign(a, msg)
    expect(verify(sig, msg, b.publicKey)).toBe(false)
    const flipped = sig.slice()
    flipped[10] ^= 1
    expect(verify(flipped, msg, a.publicKey)).toBe(false)
    expect(verify(sig.slice(0, 63), msg, a.publicKey)).toBe(false)
    expect(verify(sig, msg, a.publicKey.slice(0, 31))).toBe(false)
  })

  it('is strict: a signature with S + L (malleated) is refused', () => {
    const id = createIdentity()
    const msg = new Uint8Array([1, 2, 3])
    const sig = sign(id, msg)
    let s = 0n
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i])
    const malleated = sig.slice()
    let t = s + L
    for (let i = 0; i < 32; i++) {
      malleated[32 + i] = Number(t & 0xffn)
      t >>= 8n
    }
    expect(verify(malleated, msg, id.publicKey)).toBe(false)
  })

  it('checks secret key type and size', () => {
    expect(() => identityFromSecret(new Uint8Array(31))).toThrow(RangeError)
    expect(() => identityFromSecret('x' as never)).toThrow(TypeError)
  })
})
