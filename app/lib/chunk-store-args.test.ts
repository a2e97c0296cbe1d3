import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ChunkLayout,
  asError,
  callbackOf,
  failSoon,
  rangeOf,
  spanIn,
  type Callback,
} from './chunk-store-args.ts'

describe('ChunkLayout', () => {
  it('cuts any length into chunks that add up to it, only the last one shorter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.nat(1024), (chunkLength, length) => {
        const layout = new ChunkLayout(chunkLength, length)
        let total = 0
        for (let i = 0; i < layout.count; i++) {
          const size = layout.size(i)
          expect(size).toBeGreaterThan(0)
          if (i < layout.count - 1) expect(size).toBe(chunkLength)
          else expect(size).toBeLessThanOrEqual(chunkLength)
          total += size
        }
        expect(total).toBe(length)
        expect(layout.has(layout.count)).toBe(false)
        expect(layout.refusal(layout.count)?.message).toBe(`no chunk ${layout.count}`)
      }),
    )
  })

  it('names no chunk for a negative, fractional or non-number index, or no bytes at all', () => {
    const layout = new ChunkLayout(4, 10)
    for (const index of [-1, 0.5, NaN, Infinity, 3]) expect(layout.has(index)).toBe(false)
    expect(layout.refusal(2)).toBeNull()
    expect(layout.refusal(-1)).toBeInstanceOf(RangeError)
    expect(new ChunkLayout(4, 0).has(0)).toBe(false)
  })

  it('refuses a chunk length that is not a positive integer, a length that is not a count', () => {
    for (const chunkLength of [0, -4, 1.5, NaN, Infinity]) {
      expect(() => new ChunkLayout(chunkLength, 10)).toThrow(RangeError)
    }
    for (const length of [-1, 0.5, NaN, 2 ** 53]) {
      expect(() => new ChunkLayout(4, length)).toThrow(RangeError)
    }
  })
})

describe('spanIn', () => {
  it('defaults to offset 0 and the rest of the chunk', () => {
    expect(spanIn(0, 4, null)).toEqual({ offset: 0, length: 4 })
    expect(spanIn(0, 4, {})).toEqual({ offset: 0, length: 4 })
    expect(spanIn(0, 4, { offset: 1 })).toEqual({ offset: 1, length: 3 })
    expect(spanIn(0, 4, { length: 2 })).toEqual({ offset: 0, length: 2 })
    expect(spanIn(0, 4, { offset: 4 })).toEqual({ offset: 4, length: 0 })
  })

  it('takes exactly the whole-number ranges inside the chunk', () => {
    fc.assert(
      fc.property(
        fc.nat(64),
        fc.oneof(fc.integer({ min: -70, max: 70 }), fc.double()),
        fc.oneof(fc.integer({ min: -70, max: 70 }), fc.double()),
        (size, offset, length) => {
          const span = spanIn(7, size, { offset, length })
          const inside =
            Number.isInteger(offset) &&
            Number.isInteger(length) &&
            offset >= 0 &&
            length >= 0 &&
            offset + length <= size
          if (inside) expect(span).toEqual({ offset, length })
          else expect((span as Error).message).toMatch(/is outside chunk 7$/)
        },
      ),
    )
  })
})

describe('get() arguments', () => {
  it('reads get(index, cb) and get(index, opts, cb) alike', () => {
    const cb: Callback<Uint8Array> = () => {}
    expect(rangeOf(cb)).toBeNull()
    expect(callbackOf(cb, undefined)).toBe(cb)
    expect(rangeOf(undefined)).toBeNull()
    expect(rangeOf({ offset: 1 })).toEqual({ offset: 1 })
    expect(callbackOf({ offset: 1 }, cb)).toBe(cb)
    // No callback at all: one that does nothing, never a throw.
    expect(() => callbackOf(null, undefined)(null)).not.toThrow()
  })

  it('fails later, never within the call, with an Error', async () => {
    let returned = false
    const err = await new Promise<Error | null>((resolve) => {
      failSoon((e) => resolve(returned ? e : new Error('too soon')), 'no chunk 1')
      returned = true
    })
    expect(err?.message).toBe('no chunk 1')
    expect(asError('text')).toEqual(new Error('text'))
    const given = new TypeError('x')
    expect(asError(given)).toBe(given)
  })
})
