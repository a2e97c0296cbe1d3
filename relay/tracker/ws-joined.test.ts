import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { JoinedSwarms } from './ws-joined.ts'

describe('JoinedSwarms', () => {
  it('holds several ids for one hash and one id for several hashes', () => {
    const joined = new JoinedSwarms()
    joined.add('h1', 'a')
    joined.add('h1', 'b')
    joined.add('h1', 'a')
    joined.add('h2', 'a')
    expect(joined.size).toBe(3)
    expect([joined.has('h1', 'b'), joined.has('h2', 'b'), joined.has('h3', 'a')]).toEqual([
      true,
      false,
      false,
    ])
    joined.delete('h1', 'a')
    joined.delete('h1', 'x')
    expect([...joined.pairs()]).toEqual([
      ['h1', 'b'],
      ['h2', 'a'],
    ])
    joined.clear()
    expect([joined.size, [...joined.pairs()]]).toEqual([0, []])
  })

  it('answers as a set of (hash, id) pairs would, whatever the adds and deletes (property)', () => {
    const op = fc.tuple(
      fc.constantFrom('add', 'delete', 'has') as fc.Arbitrary<'add' | 'delete' | 'has'>,
      fc.constantFrom('h1', 'h2', 'h3'),
      fc.constantFrom('a', 'b', 'c'),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const joined = new JoinedSwarms()
        const reference = new Set<string>()
        for (const [kind, hash, id] of ops) {
          const key = `${hash} ${id}`
          if (kind === 'add') {
            joined.add(hash, id)
            reference.add(key)
          } else if (kind === 'delete') {
            joined.delete(hash, id)
            reference.delete(key)
          } else {
            expect(joined.has(hash, id)).toBe(reference.has(key))
          }
          expect(joined.size).toBe(reference.size)
        }
        const pairs = [...joined.pairs()].map(([hash, id]) => `${hash} ${id}`)
        expect(pairs.sort()).toEqual([...reference].sort())
      }),
    )
  })
})
