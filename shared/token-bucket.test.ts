import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { TokenBucket } from './token-bucket.ts'

describe('TokenBucket', () => {
  it('starts full, then earns at its rate up to the burst', () => {
    const bucket = new TokenBucket({ tokens: 10, everyMs: 1000, burst: 3 }, 1000)
    expect([1, 2, 3, 4].map(() => bucket.take(1, 1000))).toEqual([true, true, true, false])
    expect(bucket.take(1, 1100)).toBe(true)
    expect(bucket.take(1, 1100)).toBe(false)
    expect(bucket.level(60_000)).toBe(3)
  })

  it('takes all wanted or none; takeUpTo takes whole tokens only', () => {
    const bucket = new TokenBucket({ tokens: 600, everyMs: 60_000, burst: 600 }, 0)
    expect(bucket.take(500, 0)).toBe(true)
    expect(bucket.take(200, 0)).toBe(false)
    expect(bucket.takeUpTo(1000, 0)).toBe(100)
    expect(bucket.takeUpTo(5, 50)).toBe(0)
    expect(bucket.level(50)).toBeCloseTo(0.5)
  })

  it('charges into debt, and says how long until it is paid', () => {
    const bucket = new TokenBucket({ tokens: 60, everyMs: 60_000, burst: 60 }, 0)
    bucket.charge(150, 0)
    expect(bucket.level(0)).toBe(-90)
    expect(bucket.msUntil(1, 0)).toBe(91_000)
    expect(bucket.take(1, 60_000)).toBe(false)
    expect(bucket.msUntil(1, 91_000)).toBe(0)
  })

  it('earns nothing from a clock that runs backwards, nor twice when it catches up', () => {
    const bucket = new TokenBucket({ tokens: 1, everyMs: 1000, burst: 10 }, 10_000)
    bucket.charge(10, 10_000)
    expect(bucket.level(5_000)).toBe(0)
    expect(bucket.level(10_000)).toBe(0)
    expect(bucket.level(12_000)).toBe(2)
  })

  it('never grants more than the burst plus what time earned', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.array(fc.tuple(fc.nat(5_000), fc.nat(50), fc.boolean()), { maxLength: 60 }),
        (tokens, burst, steps) => {
          const bucket = new TokenBucket({ tokens, everyMs: 1000, burst }, 0)
          let now = 0
          let granted = 0
          for (const [dt, wanted, all] of steps) {
            now += dt
            const got = all ? (bucket.take(wanted, now) ? wanted : 0) : bucket.takeUpTo(wanted, now)
            expect(got).toBeGreaterThanOrEqual(0)
            expect(got).toBeLessThanOrEqual(wanted)
            granted += got
            expect(bucket.level(now)).toBeLessThanOrEqual(burst)
          }
          expect(granted).toBeLessThanOrEqual(burst + (now * tokens) / 1000 + 1e-6)
        },
      ),
    )
  })

  it('refuses a rate that is not positive', () => {
    for (const rate of [
      { tokens: 0, everyMs: 1000, burst: 1 },
      { tokens: 1, everyMs: 0, burst: 1 },
      { tokens: 1, everyMs: 1000, burst: 0 },
      { tokens: NaN, everyMs: 1000, burst: 1 },
      { tokens: 1, everyMs: 1000, burst: -1 },
    ]) {
      expect(() => new TokenBucket(rate, 0)).toThrow(RangeError)
    }
  })
})
