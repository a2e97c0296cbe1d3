import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { DocTable, InfoHashTable, grown } from './index-tables.ts'

const hex40 = fc.stringMatching(/^[0-9a-f]{40}$/)

describe('InfoHashTable', () => {
  it('interns each hash once and gives its text back', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(hex40, fc.string({ maxLength: 8 })), { maxLength: 300 }),
        (hashes) => {
          const table = new InfoHashTable()
          const ids = new Map<string, number>()
          for (const h of hashes) {
            const id = table.intern(h)
            if (ids.has(h)) expect(id).toBe(ids.get(h))
            ids.set(h, id)
          }
          expect(table.count).toBe(ids.size)
          for (const [h, id] of ids) {
            expect(table.find(h)).toBe(id)
            expect(table.text(id)).toBe(h)
          }
          const restored = InfoHashTable.restore(table.bytes, table.count, table.oddEntries())
          for (const [h, id] of ids) expect(restored.find(h)).toBe(id)
          const saved = InfoHashTable.restore(
            table.bytes,
            table.count,
            table.oddEntries(),
            table.slots.slice(),
          )
          for (const [h, id] of ids) expect(saved.find(h)).toBe(id)
        },
      ),
    )
  })

  it('renumbers, forgetting the ids dropped', () => {
    const table = new InfoHashTable()
    const a = 'a'.repeat(40)
    const b = 'b'.repeat(40)
    table.intern(a)
    table.intern('odd')
    table.intern(b)
    table.renumber(Int32Array.from([-1, 0, 1]), 2)
    expect([table.find(a), table.find('odd'), table.find(b)]).toEqual([-1, 0, 1])
    expect(table.text(1)).toBe(b)
  })

  it('finds nothing for a hash never interned, uppercase included', () => {
    const table = new InfoHashTable()
    table.intern('ab'.repeat(20))
    expect(table.find('AB'.repeat(20))).toBe(-1)
    expect(table.find('')).toBe(-1)
  })
})

describe('DocTable', () => {
  it('agrees with a Map through sets, replacements, deletions and rehashes', () => {
    const op = fc.record({ a: fc.nat(20), b: fc.nat(20), del: fc.boolean() })
    fc.assert(
      fc.property(fc.array(op, { maxLength: 500 }), (ops) => {
        const first: number[] = []
        const second: number[] = []
        const table = new DocTable(
          (d) => first[d],
          (d) => second[d],
        )
        const model = new Map<string, number>()
        for (const { a, b, del } of ops) {
          if (del) {
            table.delete(a, b)
            model.delete(`${a},${b}`)
          } else {
            const doc = first.push(a) - 1
            second.push(b)
            table.set(doc)
            model.set(`${a},${b}`, doc)
          }
        }
        for (let a = 0; a <= 20; a++) {
          for (let b = 0; b <= 20; b++) expect(table.get(a, b)).toBe(model.get(`${a},${b}`) ?? -1)
        }
      }),
      { numRuns: 100 },
    )
  })

  it('files distinct pairs afresh with reset, and keeps working after it', () => {
    const pair = fc.tuple(fc.nat(50), fc.nat(50))
    fc.assert(
      fc.property(
        fc.uniqueArray(pair, { maxLength: 300, selector: ([a, b]) => `${a},${b}` }),
        (pairs) => {
          const first = pairs.map(([a]) => a)
          const second = pairs.map(([, b]) => b)
          const table = new DocTable(
            (d) => first[d],
            (d) => second[d],
          )
          const half = Math.floor(pairs.length / 2)
          table.reset(
            Uint32Array.from({ length: half }, (_, d) => d),
            half,
          )
          // The rest set one by one: the table grows past what reset sized it for.
          for (let d = half; d < pairs.length; d++) table.set(d)
          pairs.forEach(([a, b], d) => expect(table.get(a, b)).toBe(d))
          expect(table.get(51, 0)).toBe(-1)
        },
      ),
      { numRuns: 100 },
    )
  })
})

describe('saved lookup slots', () => {
  const hashes = ['a', 'b', 'c'].map((x) => x.repeat(40))
  const table = new InfoHashTable()
  hashes.forEach((h) => table.intern(h))
  table.intern('odd')
  const restore = (slots: Int32Array) =>
    InfoHashTable.restore(table.bytes, table.count, table.oddEntries(), slots)

  it('refuses hash slots that would misfile or never end a probe', () => {
    const at = (value: number) => {
      const slots = table.slots.slice()
      slots[slots.indexOf(0)] = value
      return slots
    }
    expect(() => restore(at(99))).toThrow(RangeError)
    expect(() => restore(at(1 + 3))).toThrow(RangeError) // the odd hash's id
    expect(() => restore(at(table.slots.find((s) => s > 0)!))).toThrow(RangeError)
    expect(() => restore(new Int32Array(64))).toThrow(RangeError)
    expect(() => restore(new Int32Array(96))).toThrow(RangeError)
    expect(() => restore(new Int32Array(64).fill(-1))).toThrow(RangeError)
  })

  it('takes a DocTable saved, and refuses rows the caller does not vouch for', () => {
    const first = [1, 2, 3, 4]
    const table = new DocTable(
      (d) => first[d],
      (d) => first[d] * 2,
    )
    table.reset(Uint32Array.of(0, 1, 2, 3), 4)
    const restored = new DocTable(
      (d) => first[d],
      (d) => first[d] * 2,
    )
    restored.restore(table.slots.slice(), 4, () => true)
    first.forEach((a, d) => expect(restored.get(a, a * 2)).toBe(d))
    restored.set(first.push(5) - 1)
    expect(restored.get(5, 10)).toBe(4)
    expect(() => restored.restore(table.slots.slice(), 4, (d) => d !== 2)).toThrow(RangeError)
    expect(() => restored.restore(table.slots.slice(), 3, () => true)).toThrow(RangeError)
  })
})

describe('grown', () => {
  it('keeps the contents and grows only when needed', () => {
    const a = Float64Array.from([1, 2])
    expect(grown(a, 2)).toBe(a)
    const b = grown(a, 3)
    expect(b.length).toBeGreaterThanOrEqual(3)
    expect([...b.subarray(0, 2)]).toEqual([1, 2])
  })
})
