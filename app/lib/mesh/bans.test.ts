import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BAN_MS, MAX_BANNED_PEERS } from '../../../shared/mesh/limits.ts'
import { Bans } from './bans.ts'

describe('Bans', () => {
  it('holds a ban for BAN_MS, then forgets it', () => {
    const bans = new Bans()
    bans.add('x', 'flooded PEX', 1000)
    expect(bans.has('x', 1000 + BAN_MS - 1)).toBe(true)
    expect(bans.has('x', 1000 + BAN_MS)).toBe(false)
    expect(bans.size).toBe(0)
  })

  it('keeps a ban when the clock runs backwards', () => {
    const bans = new Bans()
    bans.add('x', 'flood', 1000)
    expect(bans.has('x', 0)).toBe(true)
  })

  it('lists bans newest first, at most `limit`, a renewed ban as new', () => {
    const bans = new Bans()
    bans.add('a', 'one', 1)
    bans.add('b', 'two', 2)
    bans.add('a', 'three', 3)
    expect(bans.newest(3, 10)).toEqual([
      { peerId: 'a', reason: 'three', at: 3 },
      { peerId: 'b', reason: 'two', at: 2 },
    ])
    expect(bans.newest(3, 1)).toHaveLength(1)
  })

  it('never holds more than MAX_BANNED_PEERS, the newest kept', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 * MAX_BANNED_PEERS }), (n) => {
        const bans = new Bans()
        for (let i = 0; i < n; i++) bans.add(`p${i}`, 'flood', i)
        expect(bans.size).toBe(Math.min(n, MAX_BANNED_PEERS))
        if (n > 0) expect(bans.has(`p${n - 1}`, n)).toBe(true)
      }),
      { numRuns: 20 },
    )
  })
})
