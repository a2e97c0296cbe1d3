import { describe, expect, it } from 'vitest'
import {
  LOOKUP_TIMEOUT_MS,
  LOOKUPS_SENT_PER_MINUTE,
  MAX_PENDING_LOOKUPS,
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
    expect(lookups.answered('b', query, 0)).toBe('h')
    expect(lookups.answered('b', query, 0)).toBeUndefined()
    expect(lookups.answered('c', query, 0)).toBe('h')
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
})
