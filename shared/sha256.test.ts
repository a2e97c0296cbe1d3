import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { sha256 } from './sha256.ts'

const ascii = (s: string) => new TextEncoder().encode(s)
const native = (data: Uint8Array) => createHash('sha256').update(data).digest('hex')

describe('sha256', () => {
  it('gives the FIPS 180-4 example digests', () => {
    expect(bytesToHex(sha256(ascii('')))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    )
    expect(bytesToHex(sha256(ascii('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    )
    // 56 bytes: the length no longer fits the first padded block.
    expect(
      bytesToHex(sha256(ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
    ).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1')
    expect(bytesToHex(sha256(new Uint8Array(1_000_000).fill(0x61)))).toBe(
      'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    )
  })

  it('agrees with node:crypto and noble at every length around the block edges', () => {
    for (let n = 0; n <= 200; n++) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 151 + n) & 0xff)
      expect(bytesToHex(sha256(data))).toBe(native(data))
    }
  })

  it('agrees with node:crypto on any bytes, call after call', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 1200 }), { maxLength: 5 }), (messages) => {
        for (const m of messages) {
          const got = bytesToHex(sha256(m))
          expect(got).toBe(native(m))
          expect(got).toBe(bytesToHex(nobleSha256(m)))
        }
      }),
    )
  })

  it('reads a view at an offset, and leaves its input and earlier answers alone', () => {
    const buffer = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff)
    const view = buffer.subarray(37, 237)
    const copy = view.slice()
    const first = sha256(view)
    const kept = first.slice()
    sha256(ascii('something else'))
    expect(view).toEqual(copy)
    expect(first).toEqual(kept)
    expect(bytesToHex(first)).toBe(native(copy))
  })
})
