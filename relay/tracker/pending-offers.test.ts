import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PendingOffers } from './pending-offers.ts'

describe('PendingOffers', () => {
  it('answers who an offer came from until it is forgotten', () => {
    const offers = new PendingOffers<string>(4)
    offers.add('id-1', 'alice')
    offers.add('id-2', 'bob')
    expect(offers.latest('id-1')).toBe('alice')
    expect(offers.latest('id-2')).toBe('bob')
    expect(offers.latest('id-3')).toBeUndefined()
    offers.forget('id-1')
    expect(offers.latest('id-1')).toBeUndefined()
    expect(offers.latest('id-2')).toBe('bob')
  })

  it('lets the latest offer with a reused id win, and forgets every copy at once', () => {
    const offers = new PendingOffers<string>(4)
    offers.add('same', 'alice')
    offers.add('same', 'mallory')
    expect(offers.latest('same')).toBe('mallory')
    offers.forget('same')
    expect(offers.latest('same')).toBeUndefined()
  })

  it('holds at most `capacity` offers, forgetting the oldest', () => {
    const offers = new PendingOffers<number>(3)
    for (let i = 0; i < 10; i++) offers.add(`id-${i}`, i)
    expect(offers.latest('id-6')).toBeUndefined()
    expect([7, 8, 9].map((i) => offers.latest(`id-${i}`))).toEqual([7, 8, 9])
  })

  it('holds nothing after clear', () => {
    const offers = new PendingOffers<number>(3)
    offers.add('a', 1)
    offers.clear()
    expect(offers.latest('a')).toBeUndefined()
    offers.add('b', 2)
    expect(offers.latest('b')).toBe(2)
  })

  it('refuses a capacity that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, NaN]) expect(() => new PendingOffers(bad)).toThrow(RangeError)
  })

  it('survives a flood of distinct ids with memory held to the capacity', () => {
    const offers = new PendingOffers<number>(256)
    for (let i = 0; i < 100_000; i++) offers.add(String(i).padStart(20, '0'), i)
    let held = 0
    for (let i = 0; i < 100_000; i++)
      if (offers.latest(String(i).padStart(20, '0')) !== undefined) held++
    expect(held).toBe(256)
  })

  it('answers as a log of the last `capacity` offers would (property)', () => {
    const op = fc.oneof(
      fc.record({ add: fc.integer({ min: 0, max: 6 }), from: fc.nat(3) }),
      fc.record({ forget: fc.integer({ min: 0, max: 6 }) }),
    )
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 60 }), (cap, ops) => {
        const offers = new PendingOffers<number>(cap)
        // The reference: every add in order, each forgotten or not.
        const log: { id: string; from: number; forgotten: boolean }[] = []
        for (const o of ops) {
          if ('add' in o) {
            offers.add(`id${o.add}`, o.from)
            log.push({ id: `id${o.add}`, from: o.from, forgotten: false })
          } else {
            offers.forget(`id${o.forget}`)
            for (const e of log) if (e.id === `id${o.forget}`) e.forgotten = true
          }
          for (let id = 0; id <= 6; id++) {
            const held = log.slice(-cap).filter((e) => e.id === `id${id}` && !e.forgotten)
            expect(offers.latest(`id${id}`)).toBe(held.at(-1)?.from)
          }
        }
      }),
    )
  })
})
