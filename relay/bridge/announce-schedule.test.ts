import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { REANNOUNCE_MAX_MS, REANNOUNCE_MIN_MS } from '../../shared/reannounce.ts'
import { BridgeAnnounceSchedule, type AnnounceCheck } from './announce-schedule.ts'

const NO_JITTER = () => 0.999999
const lonely: AnnounceCheck = {
  connected: { classic: 0, webrtc: 1 },
  done: false,
  classicSeeders: 0,
}

/** The times (ms) it announces when checked each second from `from` to `to` with `check`. */
function announces(s: BridgeAnnounceSchedule, from: number, to: number, check: AnnounceCheck) {
  const at: number[] = []
  for (let now = from; now <= to; now += 1000) if (s.check(now, check)) at.push(now)
  return at
}

describe('BridgeAnnounceSchedule', () => {
  it('backs off from 2 s while a side has no peer, and stays quiet with both', () => {
    const s = new BridgeAnnounceSchedule(0, NO_JITTER)
    expect(announces(s, 0, 31_000, lonely)).toEqual([2000, 6000, 14_000, 30_000])
    const both = { ...lonely, connected: { classic: 1, webrtc: 1 } }
    expect(announces(new BridgeAnnounceSchedule(0, NO_JITTER), 0, 600_000, both)).toEqual([])
  })

  it('announces within a check of a late classic seed reaching the tracker', () => {
    const s = new BridgeAnnounceSchedule(0, NO_JITTER)
    // Five minutes alone: announces are a minute apart by now.
    announces(s, 0, 300_000, lonely)
    expect(s.check(301_000, { ...lonely, classicSeeders: 1 })).toBe(true)
    // Once: the same seed counted again is no news.
    expect(s.check(302_000, { ...lonely, classicSeeders: 1 })).toBe(false)
    // And the backed-off spacing starts short again.
    expect(s.check(301_000 + REANNOUNCE_MIN_MS, { ...lonely, classicSeeders: 1 })).toBe(true)
  })

  it('does not chase classic seeds it needs no more', () => {
    // Seeds counted at the start are met by the first announce.
    const known = new BridgeAnnounceSchedule(1, NO_JITTER)
    expect(known.check(1000, { ...lonely, classicSeeders: 1 })).toBe(false)
    // Done (it seeds; the new classic seed may be itself), or already has a classic peer.
    for (const check of [
      { ...lonely, done: true, classicSeeders: 1 },
      { ...lonely, connected: { classic: 1, webrtc: 0 }, classicSeeders: 1 },
    ]) {
      const s = new BridgeAnnounceSchedule(0, NO_JITTER)
      expect(s.check(1000, { ...lonely, classicSeeders: 0 })).toBe(false)
      expect(s.check(1500, check)).toBe(false)
    }
  })

  it('whatever a hostile tracker count does, announces at most once per 3/4 of REANNOUNCE_MIN_MS', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            dt: fc.integer({ min: 1, max: 3000 }),
            classic: fc.nat(2),
            webrtc: fc.nat(2),
            done: fc.boolean(),
            classicSeeders: fc.nat(1000),
          }),
          { maxLength: 300 },
        ),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (steps, random) => {
          const s = new BridgeAnnounceSchedule(0, () => random)
          let now = 0
          let last = -Infinity
          for (const { dt, classic, webrtc, done, classicSeeders } of steps) {
            now += dt
            const connected = { classic, webrtc }
            if (s.check(now, { connected, done, classicSeeders })) {
              expect(classic === 0 || webrtc === 0).toBe(true)
              expect(now - last).toBeGreaterThanOrEqual((REANNOUNCE_MIN_MS * 3) / 4)
              last = now
            }
          }
        },
      ),
    )
  })

  it('an empty swarm costs at most one announce a minute once backed off', () => {
    const at = announces(new BridgeAnnounceSchedule(0, NO_JITTER), 0, 3_600_000, lonely)
    expect(at.length).toBeLessThanOrEqual(3_600_000 / REANNOUNCE_MAX_MS + 5)
  })
})
