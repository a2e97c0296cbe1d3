import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { OpfsChunkStore, fileSpan, isQuotaError, opfsStoreOf, savedFile } from './opfs-store.ts'
import { MemoryFiles } from './memory-chunk-files.ts'
import { countPieces, fullBitfield } from './persist.ts'
import { pieceBuffers } from './engine/fast/buffer-pool.ts'

const put = (s: OpfsChunkStore, i: number, b: Uint8Array) =>
  new Promise<void>((resolve, reject) => s.put(i, b, (err) => (err ? reject(err) : resolve())))
const get = (s: OpfsChunkStore, i: number, opts?: { offset?: number; length?: number }) =>
  new Promise<Uint8Array>((resolve, reject) =>
    s.get(i, opts ?? null, (err, buf) => (err ? reject(err) : resolve(buf!))),
  )

describe('OpfsChunkStore', () => {
  it('refuses the chunks of a new file at once, after asking the file once', async () => {
    const files = new MemoryFiles()
    const store = new OpfsChunkStore(4, { length: 16, key: 'new', backend: files })
    // WebTorrent checks every piece of a new torrent before it starts.
    for (const i of [0, 1, 2, 3]) await expect(get(store, i)).rejects.toThrow()
    expect(files.reads).toBe(1)
    await put(store, 2, new Uint8Array([1, 2, 3, 4]))
    expect(await get(store, 2)).toEqual(new Uint8Array([1, 2, 3, 4]))
    await expect(get(store, 3)).rejects.toThrow('chunk 3 is not stored')
    expect(files.reads).toBe(2)

    // A file that holds data (a download resumed) is asked every time.
    const again = new OpfsChunkStore(4, { length: 16, key: 'new', backend: files })
    expect(await get(again, 2)).toEqual(new Uint8Array([1, 2, 3, 4]))
    expect(await get(again, 3)).toEqual(new Uint8Array(4))
    expect(files.reads).toBe(4)
  })

  it('keeps every chunk at its offset in one file, and reads any range back', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 500 }),
        fc.integer({ min: 1, max: 64 }),
        fc.nat(),
        fc.nat(),
        async (all, chunkLength, a, b) => {
          const files = new MemoryFiles()
          const store = new OpfsChunkStore(chunkLength, {
            length: all.length,
            key: 'abc',
            backend: files,
          })
          const chunks = Math.ceil(all.length / chunkLength)
          // Written out of order, as pieces arrive from a swarm.
          const order = Array.from({ length: chunks }, (_, i) => i).reverse()
          for (const i of order) {
            await put(store, i, all.subarray(i * chunkLength, (i + 1) * chunkLength))
          }
          expect(Buffer.from(files.data.get('abc')!)).toEqual(Buffer.from(all))
          const index = a % chunks
          const size = Math.min(chunkLength, all.length - index * chunkLength)
          const offset = b % size
          const part = await get(store, index, { offset, length: size - offset })
          const at = index * chunkLength + offset
          expect(Buffer.from(part)).toEqual(Buffer.from(all.subarray(at, at + size - offset)))
        },
      ),
    )
  })

  it('refuses chunks of the wrong size, out of range, and after close', async () => {
    const store = new OpfsChunkStore(10, { length: 25, key: 'k', backend: new MemoryFiles() })
    await expect(put(store, 0, new Uint8Array(9))).rejects.toThrow(/must be 10 bytes/)
    await expect(put(store, 2, new Uint8Array(10))).rejects.toThrow(/must be 5 bytes/)
    await expect(put(store, 3, new Uint8Array(5))).rejects.toThrow(/no chunk 3/)
    await expect(put(store, -1, new Uint8Array(10))).rejects.toThrow(/no chunk/)
    await put(store, 2, new Uint8Array(5).fill(1))
    await expect(get(store, 2, { offset: 3, length: 3 })).rejects.toThrow(/outside chunk/)
    await new Promise<void>((resolve) => store.close(() => resolve()))
    await expect(get(store, 2)).rejects.toThrow(/closed/)
    expect(() => new OpfsChunkStore(0, { length: 1, key: 'k' })).toThrow(RangeError)
    expect(() => new OpfsChunkStore(1, { length: 1, key: '../x' })).toThrow(TypeError)
  })

  it('takes the whole length at the first write; a torrent that does not fit fails with QuotaExceededError, others keep their pieces', async () => {
    const files = new MemoryFiles(50)
    const kept = new OpfsChunkStore(10, { length: 30, key: 'kept', backend: files })
    await put(kept, 2, new Uint8Array(10).fill(7))
    expect(files.data.get('kept')!.length).toBe(30)
    await put(kept, 0, new Uint8Array(10).fill(8))
    const big = new OpfsChunkStore(10, { length: 40, key: 'big', backend: files })
    const err = await put(big, 0, new Uint8Array(10)).catch((e: unknown) => e)
    expect(isQuotaError(err)).toBe(true)
    expect(Buffer.from(await get(kept, 0))).toEqual(Buffer.alloc(10, 8))
    expect(Buffer.from(await get(kept, 2))).toEqual(Buffer.alloc(10, 7))
  })

  it('destroy deletes the file', async () => {
    const files = new MemoryFiles()
    const store = new OpfsChunkStore(4, { length: 4, key: 'd', backend: files })
    await put(store, 0, new Uint8Array(4))
    await new Promise<void>((resolve) => store.destroy(() => resolve()))
    expect(files.data.has('d')).toBe(false)
  })
})

describe('saving from the data file', () => {
  it('places each file of a torrent at the sum of the lengths before it (BEP 3)', () => {
    expect(fileSpan([5], 0)).toEqual({ start: 0, end: 5 })
    expect(fileSpan([5, 0, 7], 1)).toEqual({ start: 5, end: 5 })
    expect(fileSpan([5, 0, 7], 2)).toEqual({ start: 5, end: 12 })
    // Past 4 GiB: plain numbers, no 32-bit wrap.
    expect(fileSpan([2 ** 32, 3], 1)).toEqual({ start: 2 ** 32, end: 2 ** 32 + 3 })
    expect(() => fileSpan([5], 1)).toThrow(RangeError)
    expect(() => fileSpan([5], -1)).toThrow(RangeError)
    expect(() => fileSpan([5], 0.5)).toThrow(RangeError)
  })

  it("gives each file's exact bytes from the stored torrent", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 16 }),
        fc.nat(),
        async (parts, chunkLength, pick) => {
          const all = Buffer.concat(parts)
          fc.pre(all.length > 0)
          const store = new OpfsChunkStore(chunkLength, {
            length: all.length,
            key: 'saved',
            backend: new MemoryFiles(),
          })
          for (let i = 0; i * chunkLength < all.length; i++) {
            await put(store, i, all.subarray(i * chunkLength, (i + 1) * chunkLength))
          }
          const index = pick % parts.length
          const lengths = parts.map((p) => p.length)
          const blob = await savedFile(store, lengths, index, 'video/webm')
          expect(blob.type).toBe('video/webm')
          expect(Buffer.from(await blob.arrayBuffer())).toEqual(Buffer.from(parts[index]!))
        },
      ),
    )
  })

  it("finds a torrent's open store by key, and forgets it once closed or destroyed", async () => {
    const files = new MemoryFiles()
    const a = new OpfsChunkStore(4, { length: 8, key: 'found', backend: files })
    expect(opfsStoreOf('found')).toBe(a)
    expect(opfsStoreOf('other')).toBeUndefined()
    await new Promise<void>((resolve) => a.close(() => resolve()))
    expect(opfsStoreOf('found')).toBeUndefined()
    await expect(a.snapshot()).rejects.toThrow(/closed/)
    const b = new OpfsChunkStore(4, { length: 8, key: 'found', backend: files })
    expect(opfsStoreOf('found')).toBe(b)
    await new Promise<void>((resolve) => b.destroy(() => resolve()))
    expect(opfsStoreOf('found')).toBeUndefined()
  })
})

describe('bitfields', () => {
  it('counts the pieces a full bitfield marks, high bit first (BEP 3)', () => {
    expect(Array.from(fullBitfield(10))).toEqual([0xff, 0xc0])
    fc.assert(fc.property(fc.nat(200), (n) => countPieces(fullBitfield(n), n) === n))
    expect(countPieces(new Uint8Array([0b10100000]), 8)).toBe(2)
  })
})

describe('OpfsChunkStore, a pooled piece', () => {
  it('moves a pooled piece to the files and back instead of copying it; any other is copied', async () => {
    const files = new MemoryFiles()
    const store = new OpfsChunkStore(4, { length: 8, key: 'pooled', backend: files })
    const piece = pieceBuffers.take(4)
    piece.set([1, 2, 3, 4])
    const kept = await new Promise<Uint8Array | undefined>((resolve, reject) =>
      store.put(0, piece, (err, back) => (err ? reject(err) : resolve(back))),
    )
    expect(piece.length).toBe(0) // moved
    expect(kept).toEqual(Uint8Array.of(1, 2, 3, 4))
    expect(pieceBuffers.owns(kept!)).toBe(true) // the pool's again

    const plain = Uint8Array.of(5, 6, 7, 8)
    const none = await new Promise<Uint8Array | undefined>((resolve, reject) =>
      store.put(1, plain, (err, back) => (err ? reject(err) : resolve(back))),
    )
    expect(none).toBeUndefined()
    expect(plain).toEqual(Uint8Array.of(5, 6, 7, 8)) // the caller's, untouched
    expect(await get(store, 0)).toEqual(Uint8Array.of(1, 2, 3, 4))
    expect(await get(store, 1)).toEqual(Uint8Array.of(5, 6, 7, 8))
  })
})
