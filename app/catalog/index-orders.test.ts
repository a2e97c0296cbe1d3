import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { SortOrders, orderable, sortedByValue } from './index-orders.ts'

/** An ordering over `values` built by one full sort, NaN as the least value: the model. */
const sorted = (values: (number | string)[]) => {
  const vs = values.map(orderable)
  return vs.map((_, doc) => doc).sort((a, b) => (vs[a] < vs[b] ? -1 : vs[a] > vs[b] ? 1 : a - b))
}

describe('SortOrders', () => {
  it('keeps each ordering equal to a full sort through additions and changes', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), value: fc.nat(9) }),
      fc.record({ kind: fc.constant('change' as const), doc: fc.nat(200), value: fc.nat(9) }),
      fc.record({ kind: fc.constant('look' as const), key: fc.constantFrom('n', 's') }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const numbers: number[] = []
        const orders = new SortOrders<'n' | 's'>({
          docs: () => numbers.length,
          values: (key) => (key === 'n' ? numbers : numbers.map((v) => `v${v}`)),
          value: (key, doc) => (key === 'n' ? numbers[doc] : `v${numbers[doc]}`),
        })
        for (const o of ops) {
          if (o.kind === 'add') numbers.push(o.value)
          else if (o.kind === 'change' && o.doc < numbers.length) {
            numbers[o.doc] = o.value
            orders.touch(['n', 's'], [o.doc])
          } else if (o.kind === 'look') orders.order(o.key)
        }
        expect([...orders.order('n')]).toEqual(sorted(numbers))
        expect([...orders.order('s')]).toEqual(sorted(numbers.map((v) => `v${v}`)))
        const rank = orders.rank('n')
        orders.order('n').forEach((doc, i) => expect(rank[doc]).toBe(i))
      }),
      { numRuns: 200 },
    )
  })

  it('renumbers an ordering without sorting again', () => {
    const values = [5, 1, 4, 1, 3]
    let calls = 0
    const orders = new SortOrders<'k'>({
      docs: () => values.length,
      values: () => (calls++, values),
      value: (_, doc) => values[doc],
    })
    expect([...orders.order('k')]).toEqual([1, 3, 4, 2, 0])
    orders.renumber(Int32Array.from([0, -1, 1, 2, -1]), 3)
    values.splice(0, 5, 5, 4, 1)
    expect([...orders.order('k')]).toEqual([2, 1, 0])
    expect(calls).toBe(1)
  })
})

describe('sortedByValue', () => {
  it('orders as a comparator would, ties by document, whatever the values', () => {
    const values = fc.oneof(
      fc.array(
        fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, 1e300, 2 ** 53, Number.NaN)),
        {
          maxLength: 80,
        },
      ),
      fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('a\u0000b', 'a', '')), {
        maxLength: 80,
      }),
    )
    fc.assert(
      fc.property(values, (vs) => {
        expect([...sortedByValue(vs, vs.length)]).toEqual(sorted(vs))
      }),
      { numRuns: 300 },
    )
  })

  it('puts a value that is not a number first, in one full sort and in a merge alike', () => {
    expect([...sortedByValue([0, Number.NaN, 0, -5e-324], 4)]).toEqual([1, 3, 0, 2])
    const values = [3, Number.NaN, 1]
    const orders = new SortOrders<'k'>({
      docs: () => values.length,
      values: () => values,
      value: (_, doc) => values[doc],
    })
    expect([...orders.order('k')]).toEqual([1, 2, 0])
    values.push(Number.NaN, 2)
    expect([...orders.order('k')]).toEqual([1, 3, 2, 4, 0])
  })
})
