import { describe, expect, it } from 'vitest'
import { quietRefusals } from '../refusals.ts'
import { RequestRate } from './request-rate.ts'

describe('RequestRate', () => {
  it('allows the burst, then the rate; an address over it is refused at accept for the penalty', () => {
    const refusals = quietRefusals()
    const rate = new RequestRate({
      perSecond: 10,
      burst: 20,
      penaltyMs: 1000,
      maxAddresses: 100,
      refusals,
    })
    let ok = 0
    for (let i = 0; i < 30; i++) if (rate.take('192.0.2.1', 0)) ok++
    expect(ok).toBe(20)
    expect(rate.penalized('192.0.2.1', 500)).toBe(true)
    expect(rate.penalized('192.0.2.2', 500)).toBe(false)
    expect(rate.take('192.0.2.2', 500)).toBe(true)
    // The penalty ends; a second's refill (10) is there again.
    expect(rate.penalized('192.0.2.1', 1001)).toBe(false)
    expect(rate.take('192.0.2.1', 1001)).toBe(true)
    expect(refusals.count('request-rate')).toBe(11)
  })

  it('keeps at most maxAddresses penalties', () => {
    const rate = new RequestRate({
      perSecond: 1,
      burst: 1,
      penaltyMs: 60_000,
      maxAddresses: 3,
      refusals: quietRefusals(),
    })
    for (let i = 0; i < 10; i++) {
      rate.take(`10.0.0.${i}`, 0)
      rate.take(`10.0.0.${i}`, 0)
    }
    const held = Array.from({ length: 10 }, (_, i) => rate.penalized(`10.0.0.${i}`, 1)).filter(
      Boolean,
    )
    expect(held).toHaveLength(3)
  })
})
