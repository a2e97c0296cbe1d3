import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { concatBytes } from '@noble/hashes/utils.js'
import {
  SnapshotError,
  decodeSnapshot,
  encodeSnapshot,
  encodeSnapshotParts,
} from './index-snapshot.ts'

const sections = fc.record({
  a: fc.uint8Array({ maxLength: 40 }),
  b: fc.array(fc.nat(0xffff), { maxLength: 20 }).map((x) => Uint16Array.from(x)),
  c: fc.uint32Array({ maxLength: 20 }),
  d: fc.int32Array({ maxLength: 20 }),
  e: fc.float64Array({ maxLength: 10, noDefaultInfinity: true, noNaN: true }),
})

describe('index snapshots', () => {
  it('round-trips meta and typed arrays, wherever the bytes sit', () => {
    fc.assert(
      fc.property(sections, fc.jsonValue(), fc.nat(7), (s, meta, shift) => {
        const bytes = encodeSnapshot(meta, s)
        const moved = new Uint8Array(bytes.length + shift).subarray(shift)
        moved.set(bytes)
        const out = decodeSnapshot(moved)
        expect(out.meta).toEqual(JSON.parse(JSON.stringify(meta)))
        for (const [name, section] of Object.entries(s)) {
          const got = out.sections.get(name)!
          expect(got.constructor).toBe(section.constructor)
          expect([...got]).toEqual([...section])
        }
      }),
    )
  })

  it('makes parts that are the sections themselves, however their bytes are aligned', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 30 }), { maxLength: 5 }),
        fc.nat(3),
        (arrays, shift) => {
          // Sections at odd offsets of their buffers: the checksum reads them byte by byte.
          const s = Object.fromEntries(
            arrays.map((a, i) => {
              const at = new Uint8Array(a.length + shift).subarray(shift)
              at.set(a)
              return [`s${i}`, at]
            }),
          )
          const parts = encodeSnapshotParts(null, s)
          for (const section of Object.values(s)) {
            if (section.length) expect(parts.some((p) => p.buffer === section.buffer)).toBe(true)
          }
          const out = decodeSnapshot(concatBytes(...parts))
          arrays.forEach((a, i) => expect([...out.sections.get(`s${i}`)!]).toEqual([...a]))
        },
      ),
    )
  })

  it('refuses every truncation and every changed byte', () => {
    const bytes = encodeSnapshot({ n: 1 }, { x: Uint32Array.from([1, 2, 3]), y: new Uint8Array(5) })
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(() => decodeSnapshot(bytes.subarray(0, cut))).toThrow(SnapshotError)
    }
    for (let at = 0; at < bytes.length; at++) {
      const bad = bytes.slice()
      bad[at] ^= 0x10
      expect(() => decodeSnapshot(bad)).toThrow(SnapshotError)
    }
  })

  it('refuses extra bytes and a header that lies about its sections', () => {
    const bytes = encodeSnapshot(null, { x: new Uint8Array(8) })
    const longer = new Uint8Array(bytes.length + 8)
    longer.set(bytes)
    expect(() => decodeSnapshot(longer)).toThrow(SnapshotError)
    expect(() => decodeSnapshot(new Uint8Array(1 << 12))).toThrow(SnapshotError)
  })

  it('checksums as an independent four-lane FNV-1a over the words after the prefix', () => {
    fc.assert(
      fc.property(sections, fc.jsonValue(), (s, meta) => {
        const bytes = encodeSnapshot(meta, s)
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
        const lanes = [0x811c9dc5, 0x811c9dc5, 0x811c9dc5, 0x811c9dc5]
        const words = (bytes.length - 16) / 4
        for (let k = 0; k < words; k++) {
          lanes[k % 4] = Math.imul(lanes[k % 4] ^ view.getUint32(16 + 4 * k, true), 0x01000193)
        }
        let h = 0x811c9dc5
        for (const lane of [...lanes, words]) h = Math.imul(h ^ lane, 0x01000193)
        expect(view.getUint32(12, true)).toBe(h >>> 0)
      }),
    )
  })

  it('refuses a snapshot of another version, even with a valid checksum', () => {
    const bytes = encodeSnapshot({ n: 1 }, { x: Uint32Array.from([1, 2, 3]) })
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    expect(view.getUint32(4, true)).toBe(3)
    for (const version of [0, 1, 2, 4]) {
      const old = bytes.slice()
      new DataView(old.buffer).setUint32(4, version, true)
      expect(() => decodeSnapshot(old)).toThrow(/version/)
    }
  })
})
