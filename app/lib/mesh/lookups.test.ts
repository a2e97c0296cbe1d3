import { describe, expect, it } from 'vitest'
import {
  LOOKUP_TIMEOUT_MS,
  LOOKUPS_SENT_PER_MINUTE,
  MAX_PENDING_LOOKUPS,
  REFERRALS_FOLLOWED_PER_LOOKUP,
} from '../../../shared/mesh/limits.ts'
import { Lookups } from './lookups.ts'

describe('Lookups', () => {
  it('takes one answer per neighbour asked, for the hash asked about', () => {
    const lookups = new Lookups(0)
    const query = lookups.next(0)!
    lookups.sent('b', query, 'h', 0)
    lookups.sent('c', query, 'h', 0)
    expect(lookups.answered('x', query, 0)).toBeUndefined()
    expect(lookups.answered('b', query + 1, 0)).toBeUndefined()
    expect(lookups.answered('b', query, 0)).toEqual({ infoHash: 'h', at: 0, referred: false })
    expect(lookups.answered('b', query, 0)).toBeUndefined()
    expect(lookups.answered('c', query, 0)?.infoHash).toBe('h')
  })

  it('drops answers later than LOOKUP_TIMEOUT_MS, and forgets such lookups', () => {
    const lookups = new Lookups(0)
    const query = lookups.next(0)!
    lookups.sent('b', query, 'h', 0)
    lookups.sent('c', query, 'h', 0)
    expect(lookups.answered('b', query, LOOKUP_TIMEOUT_MS)).toBeUndefined()
    lookups.expire(LOOKUP_TIMEOUT_MS)
    expect(lookups.size).toBe(0)
  })

  it('asks at most LOOKUPS_SENT_PER_MINUTE a minute, and holds at most MAX_PENDING_LOOKUPS', () => {
    const lookups = new Lookups(0)
    let asked = 0
    while (lookups.next(0) !== null) asked++
    expect(asked).toBe(LOOKUPS_SENT_PER_MINUTE)
    expect(lookups.next(60_000)).not.toBeNull()
    for (let i = 0; i < MAX_PENDING_LOOKUPS + 10; i++) lookups.sent(`p${i}`, 1, 'h', 0)
    expect(lookups.size).toBe(MAX_PENDING_LOOKUPS)
  })

  it('follows a referral to a peer the round has not asked, a few a round, never twice', () => {
    const lookups = new Lookups(0)
    const query = lookups.next(0)!
    lookups.sent('b', query, 'h', 0)
    lookups.sent('c', query, 'h', 0)
    // b and c refer to each other: both were asked already.
    expect(lookups.refer(query, 'c', 0)).toBe(false)
    expect(lookups.refer(query, 'b', 0)).toBe(false)
    expect(lookups.refer(query + 1, 'd', 0)).toBe(false) // a round we never began
    expect(lookups.refer(query, 'd', 0)).toBe(true)
    lookups.sent('d', query, 'h', 0, true)
    expect(lookups.refer(query, 'd', 0)).toBe(false)
    expect(lookups.answered('d', query, 0)).toMatchObject({ infoHash: 'h', referred: true })
    let more = 1
    while (lookups.refer(query, `p${more}`, 0)) lookups.sent(`p${more++}`, query, 'h', 0, true)
    expect(more).toBe(REFERRALS_FOLLOWED_PER_LOOKUP)
    // A round past its answers' deadline follows nothing.
    const late = lookups.next(0)!
    expect(lookups.refer(late, 'x', LOOKUP_TIMEOUT_MS)).toBe(false)
    lookups.expire(LOOKUP_TIMEOUT_MS)
    expect(lookups.refer(late, 'x', 0)).toBe(false)
  })

  it('remembers at most LOOKUPS_SENT_PER_MINUTE rounds', () => {
    const lookups = new Lookups(0)
    const first = lookups.next(0)!
    for (let t = 1; t <= 2 * LOOKUPS_SENT_PER_MINUTE; t++) lookups.next(t * 60_000)
    expect(lookups.refer(first, 'x', 0)).toBe(false)
  })
})
