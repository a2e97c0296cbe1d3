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

  it("leaves a bad range to the store's own error", async () => {
    const inner = new CountingStore()
    const s = new RecentPieces(inner, 8)
    await put(s, 0, Uint8Array.of(1, 2, 3, 4))
    await expect(get(s, 0, { offset: 3, length: 5 })).rejects.toThrow('missing')
    expect(inner.reads).toBe(1)
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
})
