import { describe, expect, it } from 'vitest'
import { Turnstile } from './turnstile.ts'

/** A turnstile whose turns run when the test says. */
function manual(perTurn: number) {
  const turns: (() => void)[] = []
  const gate = new Turnstile(perTurn, (run) => turns.push(run))
  const turn = async () => {
    turns.shift()?.()
    await Promise.resolve()
  }
  return { gate, turn, turns }
}

describe('Turnstile', () => {
  it('lets perTurn through at once, then perTurn a turn, in order', async () => {
    const { gate, turn } = manual(2)
    const passed: number[] = []
    for (let i = 0; i < 7; i++) void gate.pass().then(() => passed.push(i))
    await Promise.resolve()
    expect(passed).toEqual([0, 1])
    await turn()
    expect(passed).toEqual([0, 1, 2, 3])
    await turn()
    await turn()
    expect(passed).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(gate.waiting).toBe(0)
  })

  it('opens again once a turn went by with nobody waiting', async () => {
    const { gate, turn, turns } = manual(1)
    await gate.pass()
    await turn()
    await turn()
    expect(turns).toHaveLength(0)
    let passed = false
    void gate.pass().then(() => (passed = true))
    await Promise.resolve()
    expect(passed).toBe(true)
  })

  it('refuses a perTurn that is not a positive integer', () => {
    expect(() => new Turnstile(0)).toThrow(RangeError)
    expect(() => new Turnstile(1.5)).toThrow(RangeError)
  })
})
