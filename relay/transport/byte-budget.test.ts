import { describe, expect, it } from 'vitest'
import { ByteBudget } from './byte-budget.ts'

describe('ByteBudget', () => {
  it('holds bytes within the share of an address and the total, and gives them back', () => {
    const budget = new ByteBudget({ maxTotal: 100, maxPerAddress: 40 })
    expect(budget.reserve('a', 30)).toBe(true)
    expect(budget.reserve('a', 11)).toBe(false)
    expect(budget.reserve('a', 10)).toBe(true)
    expect(budget.holdsShare('a')).toBe(true)
    expect(budget.reserve('b', 40)).toBe(true)
    // 80 held: the total refuses what the share of `c` would allow.
    expect(budget.reserve('c', 21)).toBe(false)
    expect(budget.reserve('c', 20)).toBe(true)
    expect(budget.total).toBe(100)
    budget.release('a', 40)
    budget.release('b', 40)
    budget.release('c', 25)
    expect([budget.total, budget.addresses, budget.heldBy('c')]).toEqual([0, 0, 0])
  })

  it('says when an address holds a part of its share, and refuses nonsense', () => {
    const budget = new ByteBudget({ maxTotal: 100, maxPerAddress: 40 })
    budget.reserve('a', 20)
    expect(budget.holdsShare('a', 0.5)).toBe(true)
    expect(budget.holdsShare('a')).toBe(false)
    expect(budget.reserve('a', 0)).toBe(true)
    expect(() => budget.reserve('a', -1)).toThrow(RangeError)
    expect(() => budget.reserve('a', Infinity)).toThrow(RangeError)
    expect(() => new ByteBudget({ maxTotal: 0, maxPerAddress: 1 })).toThrow(RangeError)
  })
})
