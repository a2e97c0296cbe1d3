import { describe, expect, it } from 'vitest'
import { SealedError } from '../../shared/sealed/envelope.ts'
import { quietRefusals } from '../refusals.ts'
import { SealedSessionBudget } from './session-budget.ts'

const options = { perSecond: 50, perAddressPerSecond: 2, perAddressBurst: 4, maxAddresses: 100 }
const takes = (budget: SealedSessionBudget, address: string, n: number, nowMs = 0) => {
  let taken = 0
  for (let i = 0; i < n; i++) {
    try {
      budget.take(address, nowMs)
      taken++
    } catch (err) {
      expect(err).toBeInstanceOf(SealedError)
      expect(err).toMatchObject({ code: 'busy' })
    }
  }
  return taken
}

describe('SealedSessionBudget', () => {
  it('holds one address to its own burst, counted, and leaves the rest to others', () => {
    const refusals = quietRefusals()
    const budget = new SealedSessionBudget(refusals, options)
    expect(takes(budget, '10.0.0.9', 100)).toBe(4)
    expect(refusals.count('sealed-sessions-per-address')).toBe(96)
    for (let i = 1; i <= 10; i++) expect(takes(budget, `10.0.1.${i}`, 4)).toBe(4)
    // A second later the address has earned two more.
    expect(takes(budget, '10.0.0.9', 10, 1000)).toBe(2)
  })

  it('charges a junk envelope to its sender twice', () => {
    const budget = new SealedSessionBudget(quietRefusals(), options)
    budget.take('10.0.0.9', 0)
    budget.junk('10.0.0.9', 0)
    budget.take('10.0.0.9', 0)
    budget.junk('10.0.0.9', 0)
    expect(takes(budget, '10.0.0.9', 1)).toBe(0)
    expect(takes(budget, '10.0.0.10', 1)).toBe(1)
  })

  it('caps the relay in all, above any one address', () => {
    const refusals = quietRefusals()
    const budget = new SealedSessionBudget(refusals, options)
    let taken = 0
    for (let i = 0; i < 40; i++) taken += takes(budget, `10.0.2.${i}`, 4)
    expect(taken).toBe(50)
    expect(refusals.count('sealed-sessions-full')).toBe(110)
  })
})
