import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ChangePacer, type PacerClock } from './change-pacer.ts'

/** A clock moved by hand: timers fire when `advance` passes them. */
function manualClock() {
  let now = 0
  let timers: { at: number; fire: () => void; id: number }[] = []
  let ids = 0
  const clock: PacerClock = {
    now: () => now,
    setTimeout(fire, ms) {
      const id = ++ids
      timers.push({ at: now + ms, fire, id })
      return id
    },
    clearTimeout(id) {
      timers = timers.filter((t) => t.id !== id)
    },
  }
  const advance = (ms: number) => {
    const end = now + ms
    for (;;) {
      const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0]
      if (!due) break
      timers = timers.filter((t) => t !== due)
      now = due.at
      due.fire()
    }
    now = end
  }
  return { clock, advance, pending: () => timers.length }
}

describe('ChangePacer', () => {
  it('passes the first change on at once and the rest at most once an interval', () => {
    const { clock, advance } = manualClock()
    const fired: number[] = []
    const pacer = new ChangePacer(() => fired.push(clock.now()), 1000, clock)
    pacer.changed()
    expect(fired).toEqual([0])
    for (let i = 0; i < 10; i++) {
      advance(100)
      pacer.changed()
    }
    // Ten changes within [100, 1000]: one at 1000 (the interval's end), one at 2000.
    advance(5000)
    expect(fired).toEqual([0, 1000, 2000])
  })

  it('never loses the last change', () => {
    const { clock, advance } = manualClock()
    let fired = 0
    const pacer = new ChangePacer(() => fired++, 500, clock)
    pacer.changed()
    advance(10)
    pacer.changed()
    expect(fired).toBe(1)
    advance(490)
    expect(fired).toBe(2)
  })

  it('cancel drops a waiting change', () => {
    const { clock, advance, pending } = manualClock()
    let fired = 0
    const pacer = new ChangePacer(() => fired++, 500, clock)
    pacer.changed()
    pacer.changed()
    pacer.cancel()
    expect(pending()).toBe(0)
    advance(1000)
    expect(fired).toBe(1)
  })

  it('refuses a negative or NaN interval', () => {
    expect(() => new ChangePacer(() => undefined, -1)).toThrow(RangeError)
    expect(() => new ChangePacer(() => undefined, NaN)).toThrow(RangeError)
  })

  it('whatever the timing of changes: fires at most once an interval, and after the last', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 50 }), (gaps) => {
        const { clock, advance } = manualClock()
        const fired: number[] = []
        const pacer = new ChangePacer(() => fired.push(clock.now()), 1000, clock)
        let lastChange = -1
        for (const gap of gaps) {
          advance(gap)
          pacer.changed()
          lastChange = clock.now()
        }
        advance(10_000)
        for (let i = 1; i < fired.length; i++) {
          expect(fired[i] - fired[i - 1]).toBeGreaterThanOrEqual(1000)
        }
        if (lastChange >= 0) expect(fired.at(-1)!).toBeGreaterThanOrEqual(lastChange)
      }),
    )
  })
})
