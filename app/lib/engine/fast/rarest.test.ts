import { describe, expect, it } from 'vitest'
import { RarestPicker } from './torrent.ts'

/** Picks with one filter until none is left; each piece picked is taken (as the request loop
 * reserves it), so it is no longer usable. */
function drain(picker: RarestPicker, usable: Set<number>): number[] {
  const filter = (i: number) => usable.has(i)
  const out: number[] = []
  for (let i = picker.pick(filter, filter); i !== -1; i = picker.pick(filter, filter)) {
    out.push(i)
    usable.delete(i)
  }
  return out
}

describe('RarestPicker', () => {
  it('picks the rarest usable pieces first, each once, then the next rarest', () => {
    const availability = [2, 1, 3, 1, 1, 2, undefined, 1]
    const picker = new RarestPicker(() => availability, availability.length)
    const usable = new Set([0, 1, 2, 3, 5, 6, 7]) // piece 4 is not (verified, say)
    const order = drain(picker, usable)
    expect(order.slice(0, 3).sort()).toEqual([1, 3, 7])
    expect(order.slice(3, 5).sort()).toEqual([0, 5])
    expect(order.slice(5)).toEqual([2]) // no peer has 6 (availability unknown): never picked
  })

  it('checks each candidate again: one that stopped being usable is skipped', () => {
    const availability = [1, 1, 1, 1]
    const picker = new RarestPicker(() => availability, 4)
    const usable = new Set([0, 1, 2, 3])
    const filter = (i: number) => usable.has(i)
    const first = picker.pick(filter, filter)
    usable.clear()
    usable.add(first === 0 ? 1 : 0)
    expect(picker.pick(filter, filter)).toBe(first === 0 ? 1 : 0)
  })

  it('chooses among equally rare pieces at random', () => {
    const availability = new Array(4).fill(1)
    const picker = new RarestPicker(() => availability, 4)
    const seen = new Set<number>()
    for (let n = 0; n < 200; n++) {
      const filter = () => true // a new filter each time: a new run of the request loop
      seen.add(picker.pick(filter, filter))
    }
    expect([...seen].sort()).toEqual([0, 1, 2, 3])
  })

  it('scans afresh for a new filter, seeing availability as it is now', () => {
    const availability = [1, 2]
    const picker = new RarestPicker(() => availability, 2)
    const all = () => true
    expect(picker.pick(all, all)).toBe(0)
    availability[0] = 5 // more peers announced piece 0
    const next = () => true
    expect(picker.pick(next, next)).toBe(1)
    expect(new RarestPicker(() => [], 0).pick(all, all)).toBe(-1)
  })

  it('answers -1 after one scan when nothing is usable', () => {
    let scans = 0
    const picker = new RarestPicker(() => {
      scans++
      return [1, 1, 1]
    }, 3)
    const none = () => false
    expect(picker.pick(none, none)).toBe(-1)
    expect(scans).toBe(1)
  })
})
