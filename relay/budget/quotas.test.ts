import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { RateLimiter } from './quotas.ts'

describe('RateLimiter', () => {
  it('grants a minute of burst, then refills continuously', () => {
    const limiter = new RateLimiter({ perMinute: 60, maxKeys: 10 })
    expect(limiter.take('a', 50, 0)).toBe(50)
    expect(limiter.take('a', 50, 0)).toBe(10)
    expect(limiter.take('a', 1, 0)).toBe(0)
    expect(limiter.retryAfter('a', 0)).toBe(1)
    expect(limiter.take('a', 5, 5_000)).toBe(5)
    expect(limiter.take('a', 100, 10 * 60_000)).toBe(60)
  })

  it('keeps keys apart', () => {
    const limiter = new RateLimiter({ perMinute: 3, maxKeys: 10 })
    expect(limiter.take('a', 3, 0)).toBe(3)
    expect(limiter.take('b', 3, 0)).toBe(3)
    expect(limiter.take('a', 1, 0)).toBe(0)
  })

  it('tracks at most maxKeys, dropping the least recently used', () => {
    const limiter = new RateLimiter({ perMinute: 1, maxKeys: 100 })
    for (let i = 0; i < 10_000; i++) limiter.take(`k${i}`, 1, 0)
    expect(limiter.size).toBe(100)
    expect(limiter.take('k9999', 1, 0)).toBe(0)
  })

  it('drops the key used longest ago, which starts full again', () => {
    const limiter = new RateLimiter({ perMinute: 2, maxKeys: 2 })
    limiter.take('a', 2, 0)
    limiter.take('b', 2, 0)
    limiter.take('a', 1, 0)
    limiter.take('c', 2, 0)
    expect(limiter.take('a', 1, 0)).toBe(0)
    expect(limiter.take('b', 1, 0)).toBe(1)
  })

  it('never grants more than the burst plus what time earned', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(5_000), fc.nat(20)), { maxLength: 50 }), (steps) => {
        const limiter = new RateLimiter({ perMinute: 30, maxKeys: 4 })
        let now = 0
        let granted = 0
        for (const [dt, want] of steps) {
          now += dt
          const got = limiter.take('x', want, now)
          expect(got).toBeGreaterThanOrEqual(0)
          expect(got).toBeLessThanOrEqual(want)
          granted += got
        }
        expect(granted).toBeLessThanOrEqual(30 + Math.floor((now * 30) / 60_000))
      }),
    )
  })

  it('refuses nonsense options', () => {
    expect(() => new RateLimiter({ perMinute: 0, maxKeys: 1 })).toThrow(RangeError)
    expect(() => new RateLimiter({ perMinute: 1, maxKeys: 0 })).toThrow(RangeError)
    expect(() => new RateLimiter({ perMinute: 1, maxKeys: 1, burst: 0 })).toThrow(RangeError)
  })

  it('holds a burst other than a minute: an hourly budget', () => {
    const limiter = new RateLimiter({ perMinute: 1, burst: 60, maxKeys: 10 })
    expect(limiter.take('a', 100, 0)).toBe(60)
    expect(limiter.retryAfter('a', 0)).toBe(60)
    expect(limiter.take('a', 100, 3 * 60_000)).toBe(3)
    expect(limiter.take('a', 100, 10 * 3_600_000)).toBe(60)
  })

  it('takes all wanted or none, and says when all are there', () => {
    const limiter = new RateLimiter({ perMinute: 600, maxKeys: 10 })
    expect(limiter.takeAll('a', 500, 0)).toBe(true)
    expect(limiter.takeAll('a', 200, 0)).toBe(false)
    expect(limiter.take('a', 1000, 0)).toBe(100)
    expect(limiter.retryAfter('a', 0, 200)).toBe(20)
    expect(limiter.takeAll('a', 200, 20_000)).toBe(true)
  })

  it('charges work already done into debt, waited out before more', () => {
    const limiter = new RateLimiter({ perMinute: 60, maxKeys: 10 })
    limiter.charge('peer', 150, 0)
    expect(limiter.retryAfter('peer', 0)).toBe(91)
    expect(limiter.take('peer', 1, 60_000)).toBe(0)
    expect(limiter.retryAfter('peer', 91_000)).toBe(0)
  })
})
