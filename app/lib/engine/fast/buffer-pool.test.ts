import { afterEach, describe, expect, it, vi } from 'vitest'
import { BufferPool, POOL_IDLE_MS } from './buffer-pool.ts'

afterEach(() => vi.useRealTimers())

describe('BufferPool', () => {
  it('hands a buffer given back out again, for the same length only', () => {
    const pool = new BufferPool(1024)
    const a = pool.take(256)
    a.fill(7)
    pool.give(a)
    expect(pool.size).toBe(256)
    expect(pool.take(128).buffer).not.toBe(a.buffer)
    const again = pool.take(256)
    expect(again.buffer).toBe(a.buffer)
    expect(again.length).toBe(256)
    expect(pool.size).toBe(0)
  })

  it('takes back only its own buffers, once each, within its budget', () => {
    const pool = new BufferPool(512)
    pool.give(new Uint8Array(256)) // not made here
    expect(pool.size).toBe(0)
    const a = pool.take(256)
    pool.give(a)
    pool.give(a) // twice would hand it out twice
    expect(pool.size).toBe(256)
    expect(pool.take(256).buffer).toBe(a.buffer)
    expect(pool.take(256).buffer).not.toBe(a.buffer)
    const [b, c, d] = [pool.take(256), pool.take(256), pool.take(256)]
    for (const x of [b, c, d]) pool.give(x)
    expect(pool.size).toBe(512) // the third did not fit
  })

  it('takes a buffer back from any view of it, but owns() only the whole of one', () => {
    const pool = new BufferPool(1024)
    const whole = pool.take(256)
    const part = whole.subarray(0, 100)
    expect(pool.owns(whole)).toBe(true)
    expect(pool.owns(part)).toBe(false)
    expect(pool.owns(new Uint8Array(256))).toBe(false)
    pool.give(part)
    expect(pool.size).toBe(256)
  })

  it('counts a buffer moved away and handed back as its own (adopt)', () => {
    const pool = new BufferPool(1024)
    const a = pool.take(64)
    a.fill(3)
    // What a worker does: the buffer moves (the old one is detached) and comes back.
    const moved = structuredClone(a.buffer as ArrayBuffer, { transfer: [a.buffer as ArrayBuffer] })
    expect(a.byteLength).toBe(0)
    expect(pool.owns(a)).toBe(false)
    pool.give(a) // a detached buffer is nothing to reuse
    expect(pool.size).toBe(0)
    const back = pool.adopt(moved)
    expect(back).toEqual(new Uint8Array(64).fill(3))
    expect(pool.owns(back)).toBe(true)
    pool.give(back)
    expect(pool.take(64).buffer).toBe(moved)
  })

  it('lets go of its free buffers once nothing was taken for a while', () => {
    vi.useFakeTimers()
    const pool = new BufferPool(1024)
    const a = pool.take(100)
    const b = pool.take(100)
    pool.give(a)
    vi.advanceTimersByTime(POOL_IDLE_MS - 1)
    pool.take(100) // still in use: the timer looks again later
    pool.give(b)
    vi.advanceTimersByTime(POOL_IDLE_MS)
    expect(pool.size).toBe(100)
    vi.advanceTimersByTime(POOL_IDLE_MS)
    expect(pool.size).toBe(0)
    expect(pool.take(100).buffer).not.toBe(b.buffer)
  })
})
