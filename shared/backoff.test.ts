import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Backoff, backoffDelay } from './backoff.ts'

const delays = (b: Backoff, n: number) => Array.from({ length: n }, () => b.next())

describe('Backoff', () => {
  it('doubles from the first delay up to the cap, and starts again after a reset', () => {
    const b = new Backoff({ minMs: 2000, maxMs: 300_000 })
    expect(delays(b, 10)).toEqual([
      2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000,
    ])
    expect(b.failures).toBe(10)
    b.reset()
    expect(b.failures).toBe(0)
    expect(b.next()).toBe(2000)
  })

  it('spaces attempts: wait counts down to the time defer set, and a reset keeps it', () => {
    const b = new Backoff({ minMs: 1000, maxMs: 10_000 })
    expect(b.wait(0)).toBe(0)
    expect(b.defer(500)).toBe(1000)
    expect(b.wait(500)).toBe(1000)
    expect(b.wait(1200)).toBe(300)
    expect(b.wait(5000)).toBe(0)
    b.reset()
    expect(b.wait(1200)).toBe(300)
    expect(b.defer(5000)).toBe(1000)
  })

  it('jitter 0.5 draws each delay from [d/2, d) with the randomness given', () => {
    const lowest = new Backoff({ minMs: 1000, maxMs: 8000, jitter: 0.5, random: () => 0 })
    expect(delays(lowest, 5)).toEqual([500, 1000, 2000, 4000, 4000])
    const highest = new Backoff({ minMs: 1000, maxMs: 8000, jitter: 0.5, random: () => 0.999 })
    expect(highest.next()).toBeCloseTo(999.5)
  })

  it('a cap of 0 retries at once, however many failures', () => {
    const b = new Backoff({ minMs: 60_000, maxMs: 0, jitter: 0.5 })
    expect(delays(b, 3)).toEqual([0, 0, 0])
  })

  it('stays finite after any number of failures', () => {
    const b = new Backoff({ minMs: 1, maxMs: Number.MAX_VALUE })
    for (let i = 0; i < 2000; i++) expect(Number.isFinite(b.next())).toBe(true)
  })

  it('refuses negative or missing delays and jitter outside [0, 1]', () => {
    expect(() => new Backoff({ minMs: -1, maxMs: 10 })).toThrow(RangeError)
    expect(() => new Backoff({ minMs: 1, maxMs: NaN })).toThrow(RangeError)
    expect(() => new Backoff({ minMs: 1, maxMs: 10, jitter: 1.5 })).toThrow(RangeError)
    expect(() => new Backoff({ minMs: 1, maxMs: 10, jitter: -0.1 })).toThrow(RangeError)
    expect(() => backoffDelay(0, { minMs: 1, maxMs: 10 })).toThrow(RangeError)
    expect(() => backoffDelay(1.5, { minMs: 1, maxMs: 10 })).toThrow(RangeError)
  })

  it('property: delays never shrink, stay within [min(min, max), max], and jitter only lowers them', () => {
    fc.assert(
      fc.property(
        fc.nat(100_000),
        fc.nat(10_000_000),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 0.999_999, noNaN: true }), {
          minLength: 1,
          maxLength: 60,
        }),
        (minMs, maxMs, jitter, draws) => {
          const plain = new Backoff({ minMs, maxMs })
          let i = 0
          const jittered = new Backoff({ minMs, maxMs, jitter, random: () => draws[i] })
          let last = 0
          for (i = 0; i < draws.length; i++) {
            const d = plain.next()
            const j = jittered.next()
            expect(d).toBeGreaterThanOrEqual(last)
            expect(d).toBeGreaterThanOrEqual(Math.min(minMs, maxMs))
            expect(d).toBeLessThanOrEqual(maxMs)
            expect(j).toBeLessThanOrEqual(d)
            expect(j).toBeGreaterThanOrEqual(d * (1 - jitter) - 1e-9)
            last = d
          }
        },
      ),
    )
  })
})
