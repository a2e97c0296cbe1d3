import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  BLOCK_BYTES,
  HANDSHAKE_KEY,
  REQUEST_MAX_BYTES,
  agreedRequestBytes,
  mergeRuns,
} from './requests.ts'

const block = (index: number, n: number, length = BLOCK_BYTES) => ({
  index,
  offset: n * BLOCK_BYTES,
  length,
})

describe('mergeRuns', () => {
  it('joins consecutive blocks of a piece up to the maximum', () => {
    const asked = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => block(3, n))
    expect(mergeRuns(asked, 4 * BLOCK_BYTES)).toEqual([
      { index: 3, offset: 0, length: 4 * BLOCK_BYTES },
      { index: 3, offset: 4 * BLOCK_BYTES, length: 4 * BLOCK_BYTES },
      { index: 3, offset: 8 * BLOCK_BYTES, length: 2 * BLOCK_BYTES },
    ])
  })

  it('keeps gaps, other pieces and out-of-order blocks apart, in the order asked', () => {
    const asked = [block(1, 0), block(1, 2), block(2, 3), block(2, 4), block(2, 1), block(1, 1)]
    expect(mergeRuns(asked, REQUEST_MAX_BYTES)).toEqual([
      block(1, 0),
      block(1, 2),
      { index: 2, offset: 3 * BLOCK_BYTES, length: 2 * BLOCK_BYTES },
      block(2, 1),
      block(1, 1),
    ])
  })

  it('takes a short last block of a piece into the run', () => {
    expect(mergeRuns([block(0, 0), block(0, 1, 100)], REQUEST_MAX_BYTES)).toEqual([
      { index: 0, offset: 0, length: BLOCK_BYTES + 100 },
    ])
  })

  it('covers exactly the bytes asked for, in runs no larger than the maximum', () => {
    const asked = fc.array(
      fc.record({ index: fc.integer({ min: 0, max: 3 }), n: fc.integer({ min: 0, max: 15 }) }),
      { maxLength: 80 },
    )
    fc.assert(
      fc.property(asked, fc.integer({ min: 1, max: 8 }), (xs, blocks) => {
        const requests = xs.map((x) => block(x.index, x.n))
        const runs = mergeRuns(requests, blocks * BLOCK_BYTES)
        const cut = runs.flatMap((r) =>
          Array.from({ length: r.length / BLOCK_BYTES }, (_, k) =>
            block(r.index, r.offset / BLOCK_BYTES + k),
          ),
        )
        expect(cut).toEqual(requests)
        for (const r of runs) expect(r.length).toBeLessThanOrEqual(blocks * BLOCK_BYTES)
      }),
    )
  })
})

describe('agreedRequestBytes', () => {
  it('takes the smaller of the two maxima, in whole blocks', () => {
    expect(agreedRequestBytes({ [HANDSHAKE_KEY]: 64 * 1024 })).toBe(64 * 1024)
    expect(agreedRequestBytes({ [HANDSHAKE_KEY]: 1 << 30 })).toBe(REQUEST_MAX_BYTES)
    expect(agreedRequestBytes({ [HANDSHAKE_KEY]: 3 * BLOCK_BYTES + 5 })).toBe(3 * BLOCK_BYTES)
  })

  it('is 0 (plain 16 KiB requests) for stock peers and for anything odd', () => {
    for (const hostile of [
      {},
      null,
      undefined,
      'x',
      { [HANDSHAKE_KEY]: BLOCK_BYTES },
      { [HANDSHAKE_KEY]: 100 },
      { [HANDSHAKE_KEY]: -1 },
      { [HANDSHAKE_KEY]: Number.NaN },
      { [HANDSHAKE_KEY]: 2 ** 60 },
      { [HANDSHAKE_KEY]: new Uint8Array(4) },
      { [HANDSHAKE_KEY]: '131072' },
    ]) {
      expect(agreedRequestBytes(hostile)).toBe(0)
    }
  })
})
