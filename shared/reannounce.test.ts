import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { REANNOUNCE_MAX_MS, REANNOUNCE_MIN_MS, Reannounce } from './reannounce.ts'

/** The times (ms from 0) a torrent lacking peers throughout announces, checked each second. */
function announces(r: Reannounce, untilMs: number): number[] {
  const at: number[] = []
  for (let now = 0; now <= untilMs; now += 1000) if (r.due(now, true)) at.push(now)
  return at
}

describe('Reannounce', () => {
  it('asks again after 2 s, then twice as long each time, up to a minute', () => {
    // random() = 1 - tiny: no jitter taken off.
    const at = announces(new Reannounce(() => 0.999999), 300_000)
    expect(at.slice(0, 5)).toEqual([2000, 6000, 14_000, 30_000, 62_000])
    const gaps = at.slice(1).map((t, i) => t - at[i])
    expect(Math.max(...gaps)).toBeLessThanOrEqual(REANNOUNCE_MAX_MS + 1000)
    expect(gaps.at(-1)).toBeGreaterThanOrEqual(REANNOUNCE_MAX_MS)
  })

  it('never announces while the torrent has its peers, and starts short again after', () => {
    const r = new Reannounce(() => 0.999999)
    announces(r, 100_000)
    for (let now = 101_000; now < 500_000; now += 1000) expect(r.due(now, false)).toBe(false)
    expect(r.due(500_000, true)).toBe(false)
    expect(r.due(500_000 + REANNOUNCE_MIN_MS, true)).toBe(true)
  })

  it('announces at once when the peer it lacks arrives, then spaces from 2 s again', () => {
    const r = new Reannounce(() => 0.999999)
    const at = announces(r, 200_000)
    // Long since backed off to a minute apiece.
    expect(at.at(-1)! - at.at(-2)!).toBeGreaterThanOrEqual(REANNOUNCE_MAX_MS)
    expect(r.arrived(200_500)).toBe(true)
    expect(r.due(201_500, true)).toBe(false)
    expect(r.due(200_500 + REANNOUNCE_MIN_MS, true)).toBe(true)
  })

  it('answers arrivals at most once per REANNOUNCE_MIN_MS, however many come', () => {
    const r = new Reannounce(() => 0.5)
    let yes = 0
    for (let now = 0; now < 60_000; now += 10) if (r.arrived(now)) yes++
    expect(yes).toBe(60_000 / REANNOUNCE_MIN_MS)
  })

  it('whatever the checks, arrivals and jitter, never announces twice within 3/4 of REANNOUNCE_MIN_MS', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 1, max: 5000 }),
            fc.constantFrom('lacking', 'has-peers', 'arrived'),
          ),
          { maxLength: 300 },
        ),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (steps, random) => {
          const r = new Reannounce(() => random)
          let now = 0
          let last = -Infinity
          for (const [dt, step] of steps) {
            now += dt
            const announce = step === 'arrived' ? r.arrived(now) : r.due(now, step === 'lacking')
            if (announce) {
              expect(step).not.toBe('has-peers')
              // Jitter takes off at most a quarter.
              expect(now - last).toBeGreaterThanOrEqual((REANNOUNCE_MIN_MS * 3) / 4)
              last = now
            }
          }
        },
      ),
    )
  })
})
