import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FileChunkStore, pieceLengthFor } from './file-chunk-store.ts'

function get(store: FileChunkStore, index: number, opts?: { offset?: number; length?: number }) {
  return new Promise<Uint8Array>((resolve, reject) =>
    store.get(index, opts ?? null, (err, buf) => (err ? reject(err) : resolve(buf!))),
  )
}

describe('FileChunkStore', () => {
  it('reads every chunk, and any range of one, across file boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 64 }),
        fc.nat(),
        fc.nat(),
        async (parts, chunkLength, a, b) => {
          const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
          parts.reduce((at, p) => (all.set(p, at), at + p.length), 0)
          fc.pre(all.length > 0)
          const store = new FileChunkStore(
            chunkLength,
            parts.map((p) => new Blob([p])),
          )
          const chunks = Math.ceil(all.length / chunkLength)
          const read = await Promise.all(Array.from({ length: chunks }, (_, i) => get(store, i)))
          expect(Buffer.concat(read)).toEqual(Buffer.from(all))

          const index = a % chunks
          const size = Math.min(chunkLength, all.length - index * chunkLength)
          const offset = b % size
          const length = (a + b) % (size - offset + 1)
          const range = await get(store, index, { offset, length })
          const from = index * chunkLength + offset
          expect(Buffer.from(range)).toEqual(Buffer.from(all.subarray(from, from + length)))
        },
      ),
    )
  })

  it('refuses chunks and ranges it does not have, and writes', async () => {
    const store = new FileChunkStore(4, [new Blob(['abcdef'])])
    await expect(get(store, 2)).rejects.toThrow('no chunk 2')
    await expect(get(store, -1)).rejects.toThrow('no chunk -1')
    await expect(get(store, 1, { offset: 1, length: 2 })).rejects.toThrow('outside chunk 1')
    await expect(
      new Promise((resolve, reject) =>
        store.put(0, new Uint8Array(4), (e) => (e ? reject(e) : resolve(0))),
      ),
    ).rejects.toThrow('read-only')
    store.close()
    await expect(get(store, 0)).rejects.toThrow('closed')
  })

  it('picks about 1,024 pieces, within 16 KiB..4 MiB', () => {
    expect(pieceLengthFor(1)).toBe(16 * 1024)
    expect(pieceLengthFor(8 * 1024 * 1024)).toBe(16 * 1024)
    expect(pieceLengthFor(256 * 1024 * 1024)).toBe(256 * 1024)
    expect(pieceLengthFor(512 * 1024 * 1024)).toBe(512 * 1024)
    expect(pieceLengthFor(1024 ** 4)).toBe(4 * 1024 * 1024)
  })

  it('keeps pieces at 512 KiB at most while that makes no more than 4,096 pieces', () => {
    const MiB = 1024 * 1024
    expect(pieceLengthFor(1024 * MiB)).toBe(MiB / 2)
    expect(pieceLengthFor(2048 * MiB)).toBe(MiB / 2)
    expect(pieceLengthFor(2048 * MiB + 1)).toBe(MiB)
    expect(pieceLengthFor(3072 * MiB)).toBe(MiB)
    expect(pieceLengthFor(4096 * MiB)).toBe(MiB)
    expect(pieceLengthFor(4096 * MiB + 1)).toBe(2 * MiB)
    expect(pieceLengthFor(8192 * MiB)).toBe(2 * MiB)
    expect(pieceLengthFor(16384 * MiB)).toBe(4 * MiB)
    for (let mib = 1; mib <= 65536; mib = Math.ceil(mib * 1.3)) {
      const n = pieceLengthFor(mib * MiB)
      expect(Math.log2(n) % 1).toBe(0)
      expect(n).toBeLessThanOrEqual(4 * MiB)
      expect(n <= MiB / 2 || mib * MiB > 2048 * MiB).toBe(true)
      expect(n <= MiB || mib * MiB > 4096 * MiB).toBe(true)
    }
  })
})
