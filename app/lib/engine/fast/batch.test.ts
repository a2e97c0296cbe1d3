import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { MessageBatcher, POOLED_BATCH_BYTES } from './batch.ts'
import { BufferPool } from './buffer-pool.ts'

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill)

/** Runs `messages` (each a list of parts) through a batcher; returns every batch, in order. */
function run(batcher: MessageBatcher, messages: Uint8Array[][]): Uint8Array[] {
  const out: Uint8Array[] = []
  for (const parts of messages) out.push(...batcher.add(...parts))
  const rest = batcher.take()
  if (rest) out.push(rest)
  return out
}

const join = (chunks: Uint8Array[]) => {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) {
    all.set(c, at)
    at += c.length
  }
  return all
}

describe('MessageBatcher', () => {
  it('holds small messages until taken, then gives them as one batch', () => {
    const b = new MessageBatcher(100, 200)
    expect(b.add(bytes(10, 1))).toEqual([])
    expect(b.add(bytes(13, 2), bytes(20, 3))).toEqual([])
    expect(b.size).toBe(43)
    const batch = b.take()
    expect(batch).toEqual(join([bytes(10, 1), bytes(13, 2), bytes(20, 3)]))
    expect(b.take()).toBeNull()
  })

  it('sends a batch once it reaches the target', () => {
    const b = new MessageBatcher(100, 200)
    b.add(bytes(60, 1))
    const [batch] = b.add(bytes(50, 2))
    expect(batch.length).toBe(110)
    expect(b.size).toBe(0)
  })

  it('never lets a batch pass the maximum by joining a message to it', () => {
    const b = new MessageBatcher(100, 120)
    b.add(bytes(90, 1))
    const out = b.add(bytes(13, 2), bytes(40, 3))
    expect(out.map((x) => x.length)).toEqual([90])
    expect(b.size).toBe(53)
  })

  it('sends a message larger than the maximum on its own, uncut', () => {
    const b = new MessageBatcher(100, 120)
    b.add(bytes(5, 1))
    expect(b.add(bytes(500, 2)).map((x) => x.length)).toEqual([5, 500])
  })

  it('refuses a target above the maximum', () => {
    expect(() => new MessageBatcher(300, 200)).toThrow(RangeError)
    expect(() => new MessageBatcher(0, 200)).toThrow(RangeError)
  })

  it('keeps every byte in order, cuts only between messages, and keeps batches ≤ max', () => {
    const message = fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 3 })
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 60 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 0, max: 400 }),
        (messages, target, extra) => {
          const max = target + extra
          const batches = run(new MessageBatcher(target, max), messages)
          expect(join(batches)).toEqual(join(messages.flat()))
          // Every cut falls on a message boundary.
          const ends = new Set<number>()
          let at = 0
          for (const parts of messages) ends.add((at += parts.reduce((n, p) => n + p.length, 0)))
          let cut = 0
          for (const batch of batches) {
            cut += batch.length
            expect(ends.has(cut)).toBe(true)
          }
          // Only a lone message may be larger than max.
          for (const batch of batches) {
            if (batch.length > max) {
              const lone = messages.some(
                (m) => m.reduce((n, p) => n + p.length, 0) === batch.length,
              )
              expect(lone).toBe(true)
            }
          }
        },
      ),
    )
  })

  it('joins large batches into pooled buffers, each the start of a maximum-size one', () => {
    const pool = new BufferPool(4 * 1024 * 1024)
    const max = 256 * 1024
    const b = new MessageBatcher(128 * 1024, max, pool)
    const header = bytes(13, 9)
    const block = bytes(128 * 1024, 4)
    const [batch] = b.add(header, block)
    expect(batch).toEqual(join([header, block]))
    expect(batch!.buffer.byteLength).toBe(max)
    pool.give(batch!) // sent: its buffer comes back and is used for the next batch
    const [next] = b.add(header, bytes(128 * 1024, 5))
    expect(next!.buffer).toBe(batch!.buffer)
    expect(next).toEqual(join([header, bytes(128 * 1024, 5)]))
    // Control messages alone stay small, off the pool.
    b.add(bytes(17, 1))
    b.add(bytes(17, 2))
    const small = b.take()!
    expect(small.length).toBeLessThan(POOLED_BATCH_BYTES)
    expect(small.buffer.byteLength).toBe(34)
  })
})
