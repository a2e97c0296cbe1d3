import { describe, expect, it } from 'vitest'
import { RecentPieces, type ChunkStore } from './recent-pieces.ts'

/** An in-memory store that counts its reads; `failPut` makes writes fail. */
class CountingStore implements ChunkStore {
  readonly chunkLength = 4
  readonly data = new Map<number, Uint8Array>()
  reads = 0
  failPut = false
  closed = false
  put(index: number, buf: Uint8Array, cb: (err: Error | null) => void = () => {}) {
    if (this.failPut) return queueMicrotask(() => cb(new Error('disk full')))
    this.data.set(index, buf.slice())
    queueMicrotask(() => cb(null))
  }
  get(
    index: number,
    opts: { offset?: number; length?: number } | null,
    cb: (err: Error | null, buf?: Uint8Array) => void,
  ) {
    this.reads++
    const buf = this.data.get(index)
    const offset = opts?.offset ?? 0
    const length = opts?.length ?? (buf?.length ?? 0) - offset
    if (!buf || offset + length > buf.length) return queueMicrotask(() => cb(new Error('missing')))
    queueMicrotask(() => cb(null, buf.slice(offset, offset + length)))
  }
  close(cb: (err: Error | null) => void = () => {}) {
    this.closed = true
    queueMicrotask(() => cb(null))
  }
  destroy(cb: (err: Error | null) => void = () => {}) {
    this.close(cb)
  }
}

const put = (s: ChunkStore, i: number, buf: Uint8Array) =>
  new Promise<void>((resolve, reject) => s.put(i, buf, (err) => (err ? reject(err) : resolve())))
const get = (s: ChunkStore, i: number, opts: { offset?: number; length?: number } | null = null) =>
  new Promise<Uint8Array>((resolve, reject) =>
    s.get(i, opts, (err, buf) => (err ? reject(err) : resolve(buf!))),
  )

describe('RecentPieces', () => {
  it('answers reads of pieces it just wrote from memory, whole or in part', async () => {
    const inner = new CountingStore()
    const s = new RecentPieces(inner, 8)
    await put(s, 0, Uint8Array.of(1, 2, 3, 4))
    expect(await get(s, 0)).toEqual(Uint8Array.of(1, 2, 3, 4))
    expect(await get(s, 0, { offset: 1, length: 2 })).toEqual(Uint8Array.of(2, 3))
    expect(inner.reads).toBe(0)
  })

  it('keeps only the newest pieces within its budget, reading older ones from the store', async () => {
    const inner = new CountingStore()
    const s = new RecentPieces(inner, 8)
    for (let i = 0; i < 3; i++) await put(s, i, Uint8Array.of(i, i, i, i))
    expect(await get(s, 2)).toEqual(Uint8Array.of(2, 2, 2, 2))
    expect(await get(s, 1)).toEqual(Uint8Array.of(1, 1, 1, 1))
    expect(inner.reads).toBe(0)
    expect(await get(s, 0)).toEqual(Uint8Array.of(0, 0, 0, 0))
    expect(inner.reads).toBe(1)
  })

  it('does not keep a piece the store failed to write', async () => {
    const inner = new CountingStore()
    const s = new RecentPieces(inner, 8)
    inner.failPut = true
    await expect(put(s, 0, Uint8Array.of(1, 2, 3, 4))).rejects.toThrow('disk full')
    await expect(get(s, 0)).rejects.toThrow('missing')
  })

  it('refuses a range outside the piece', async () => {
    const inner = new CountingStore()
    const s = new RecentPieces(inner, 8)
    await put(s, 0, Uint8Array.of(1, 2, 3, 4))
    await expect(get(s, 0, { offset: 3, length: 5 })).rejects.toThrow('outside chunk 0')
    await expect(get(s, 0, { offset: -1, length: 2 })).rejects.toThrow('outside chunk 0')
  })

  it('reads a piece it does not hold once, whole, and answers parts of it as views', async () => {
    const inner = new CountingStore()
    inner.data.set(0, Uint8Array.of(1, 2, 3, 4))
    const s = new RecentPieces(inner, 8)
    const [a, b, c] = await Promise.all([
      get(s, 0, { offset: 0, length: 2 }),
      get(s, 0, { offset: 2, length: 2 }),
      get(s, 0),
    ])
    expect(inner.reads).toBe(1)
    expect([a, b, c]).toEqual([Uint8Array.of(1, 2), Uint8Array.of(3, 4), Uint8Array.of(1, 2, 3, 4)])
    // No copies: every answer is a view of the one piece read.
    expect(a.buffer).toBe(c.buffer)
    expect(b.buffer).toBe(c.buffer)
    expect(await get(s, 0, { offset: 1, length: 1 })).toEqual(Uint8Array.of(2))
    expect(inner.reads).toBe(1)
  })

  it('passes a failed read to every reader waiting on it, and keeps nothing', async () => {
    const inner = new CountingStore()
    const s = new RecentPieces(inner, 8)
    const reads = [get(s, 5), get(s, 5, { offset: 1, length: 1 })]
    for (const r of reads) await expect(r).rejects.toThrow('missing')
    expect(inner.reads).toBe(1)
    await expect(get(s, 5)).rejects.toThrow('missing')
    expect(inner.reads).toBe(2)
  })

  it('keeps the bytes of a write, not those of a read that began before it', async () => {
    const inner = new CountingStore()
    inner.data.set(0, Uint8Array.of(0, 0, 0, 0))
    const s = new RecentPieces(inner, 8)
    const stale = get(s, 0)
    await put(s, 0, Uint8Array.of(9, 9, 9, 9))
    expect(await stale).toEqual(Uint8Array.of(0, 0, 0, 0))
    expect(await get(s, 0)).toEqual(Uint8Array.of(9, 9, 9, 9))
  })

  it('keeps the pieces read most recently within its budget', async () => {
    const inner = new CountingStore()
    for (let i = 0; i < 3; i++) inner.data.set(i, Uint8Array.of(i, i, i, i))
    const s = new RecentPieces(inner, 8)
    await get(s, 0)
    await get(s, 1)
    await get(s, 0) // 0 is now the newer of the two
    await get(s, 2) // drops 1
    expect(inner.reads).toBe(3)
    await get(s, 0)
    await get(s, 2)
    expect(inner.reads).toBe(3)
    await get(s, 1)
    expect(inner.reads).toBe(4)
  })

  it('reads pieces too large to keep two of in part, as asked', async () => {
    const inner = new CountingStore()
    inner.data.set(0, Uint8Array.of(1, 2, 3, 4))
    const s = new RecentPieces(inner, 7)
    expect(await get(s, 0, { offset: 1, length: 2 })).toEqual(Uint8Array.of(2, 3))
    expect(await get(s, 0, { offset: 1, length: 2 })).toEqual(Uint8Array.of(2, 3))
    expect(inner.reads).toBe(2)
  })

  it('forgets everything when closed, and closes the store', async () => {
    const inner = new CountingStore()
    const s = new RecentPieces(inner, 8)
    await put(s, 0, Uint8Array.of(1, 2, 3, 4))
    await new Promise((resolve) => s.close(resolve))
    expect(inner.closed).toBe(true)
    await get(s, 0)
    expect(inner.reads).toBe(1)
  })

  it('refuses a negative budget', () => {
    expect(() => new RecentPieces(new CountingStore(), -1)).toThrow(RangeError)
  })

  it('recycles a piece the store handed back once it lets go of it unserved, never a served one', async () => {
    /** A store that takes each buffer and hands its bytes back in a new one, as the OPFS
     * store does with a pooled piece (the memory moves to the worker and back). */
    class HandingBack extends CountingStore {
      override put(
        index: number,
        buf: Uint8Array,
        cb: (err: Error | null, kept?: Uint8Array) => void = () => {},
      ) {
        this.data.set(index, buf.slice())
        const back = new Uint8Array(
          structuredClone(buf.buffer, { transfer: [buf.buffer as ArrayBuffer] }),
        )
        queueMicrotask(() => cb(null, back))
      }
    }
    const recycled: Uint8Array[] = []
    const s = new RecentPieces(new HandingBack(), 8, (b) => recycled.push(b))
    const p0 = Uint8Array.of(1, 2, 3, 4)
    await put(s, 0, p0)
    expect(p0.length).toBe(0) // moved
    await put(s, 1, Uint8Array.of(5, 6, 7, 8))
    expect(await get(s, 1, { offset: 2, length: 2 })).toEqual(Uint8Array.of(7, 8)) // served
    await put(s, 2, Uint8Array.of(9, 9, 9, 9)) // over budget: piece 0 goes, unserved
    expect(recycled).toEqual([Uint8Array.of(1, 2, 3, 4)])
    await put(s, 3, Uint8Array.of(0, 0, 0, 0)) // piece 1 goes, but a view of it went out
    await put(s, 2, Uint8Array.of(8, 8, 8, 8)) // written again: the old piece 2 goes
    expect(recycled).toEqual([Uint8Array.of(1, 2, 3, 4), Uint8Array.of(9, 9, 9, 9)])
    expect(await get(s, 2)).toEqual(Uint8Array.of(8, 8, 8, 8))
  })

  it('never recycles a piece of a store that keeps what it is given', async () => {
    const recycled: Uint8Array[] = []
    const s = new RecentPieces(new CountingStore(), 4, (b) => recycled.push(b))
    for (let i = 0; i < 4; i++) await put(s, i, new Uint8Array(4).fill(i))
    expect(recycled).toEqual([])
  })
})
