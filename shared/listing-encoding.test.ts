// The hand-written encodings against the `bencode` package, byte for byte, for any fields.

import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import bencode from 'bencode'
import { referenceSigningBytes } from './test/signing-reference.ts'
import { bytesToHex, hexToBytes } from './identity.ts'
import {
  encodeBatchStatement,
  encodeSigningFields,
  type SigningFields,
} from './listing-encoding.ts'

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }))
const count = fc.oneof(fc.maxSafeNat(), fc.nat(1000), fc.constant(0))
const hex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map(bytesToHex)

const fields: fc.Arbitrary<SigningFields> = fc.record({
  category: text,
  description: text,
  files: count,
  fileList: fc.array(fc.record({ path: text, size: count }), { maxLength: 5 }),
  infoHash: hex(20),
  name: text,
  publisher: hex(32),
  seq: count,
  size: count,
  ts: count,
  v: fc.constantFrom(1, 2),
})

describe('listing encodings', () => {
  it('writes the signing dictionary exactly as the bencode package does', () => {
    fc.assert(
      fc.property(fields, (l) => {
        expect(bytesToHex(encodeSigningFields(l))).toBe(bytesToHex(referenceSigningBytes(l)))
      }),
      { numRuns: 500 },
    )
  })

  it('writes lone surrogates and astral characters as the bencode package does', () => {
    const l = fc.sample(fields, { numRuns: 1, seed: 1 })[0]
    for (const name of ['\ud800', 'a\udfffb', '🎵 東京', '\u0000\u007f\u0080']) {
      const odd = { ...l, name, fileList: [{ path: name, size: 1 }] }
      expect(bytesToHex(encodeSigningFields(odd))).toBe(bytesToHex(referenceSigningBytes(odd)))
    }
  })

  it('writes the batch statement exactly as the bencode package does', () => {
    fc.assert(
      fc.property(fc.nat(1 << 20), hex(32), hex(32), text, fc.nat(9), (n, pk, root, t, v) => {
        const expected = bencode.encode({ n, pk: hexToBytes(pk), root: hexToBytes(root), t, v })
        expect(bytesToHex(encodeBatchStatement(n, pk, root, t, v))).toBe(bytesToHex(expected))
      }),
      { numRuns: 300 },
    )
  })
})
