import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  FORWARD_BURST,
  FORWARD_BURST_PER_PAIR,
  FORWARDS_PER_SECOND_PER_PAIR,
  MAX_FORWARD_PAIRS,
} from '../../../shared/mesh/limits.ts'
import { ForwardBudget } from './forward-budget.ts'

describe('ForwardBudget', () => {
  it('lets a pair burst, then refills it at its rate', () => {
    const budget = new ForwardBudget(0)
    let taken = 0
    while (budget.take('a', 'b', 0)) taken++
    expect(taken).toBe(FORWARD_BURST_PER_PAIR)
    expect(budget.take('a', 'c', 0)).toBe(true) // another pair is another budget
    expect(budget.take('a', 'b', 1000 / FORWARDS_PER_SECOND_PER_PAIR)).toBe(true)
  })

  it('caps all forwards together; a spent pair does not spend the total', () => {
    const budget = new ForwardBudget(0)
    for (let i = 0; i < 100; i++) budget.take('a', 'b', 0)
    let taken = 0
    for (let i = 0; i < 1000; i++) if (budget.take(`p${i}`, 'b', 0)) taken++
    expect(taken).toBe(FORWARD_BURST - FORWARD_BURST_PER_PAIR)
  })

  it('remembers at most MAX_FORWARD_PAIRS pairs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 * MAX_FORWARD_PAIRS }), (n) => {
        const budget = new ForwardBudget(0)
        for (let i = 0; i < n; i++) budget.take(`p${i}`, 'b', 0)
        expect(budget.pairs).toBe(Math.min(n, MAX_FORWARD_PAIRS))
      }),
      { numRuns: 10 },
    )
  })
})
