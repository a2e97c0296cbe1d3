import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { BoundedMap, type EvictionOrder } from './bounded-map.ts'

/** The reference: an array of entries, eldest first, rewritten on every operation. */
class Model {
  entries: [number, number][] = []
  evicted: [number, number][] = []
  constructor(
    readonly maxSize: number,
    readonly order: EvictionOrder,
  ) {}
  #index(key: number): number {
    return this.entries.findIndex(([k]) => k === key)
  }
  get(key: number): number | undefined {
    const i = this.#index(key)
    if (i < 0) return undefined
    const entry = this.entries[i]!
    if (this.order === 'lru') this.entries = [...this.entries.filter((_, j) => j !== i), entry]
    return entry[1]
  }
  set(key: number, value: number): void {
    this.entries = [...this.entries.filter(([k]) => k !== key), [key, value]]
    if (this.entries.length > this.maxSize) this.evicted.push(this.entries.shift()!)
  }
  delete(key: number): boolean {
    const before = this.entries.length
    this.entries = this.entries.filter(([k]) => k !== key)
    return this.entries.length < before
  }
}

const operation = fc.oneof(
  fc.tuple(fc.constant('get' as const), fc.nat(12), fc.constant(0)),
  fc.tuple(fc.constant('set' as const), fc.nat(12), fc.integer()),
  fc.tuple(fc.constant('delete' as const), fc.nat(12), fc.constant(0)),
  fc.tuple(fc.constant('has' as const), fc.nat(12), fc.constant(0)),
  fc.tuple(fc.constant('clear' as const), fc.nat(12), fc.constant(0)),
)

describe.each(['oldest', 'lru'] as const)('BoundedMap, %s first', (order) => {
  it('behaves as the reference model, evictions included', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(operation), (maxSize, ops) => {
        const evicted: [number, number][] = []
        const map = new BoundedMap<number, number>({
          maxSize,
          order,
          onEvict: (k, v) => evicted.push([k, v]),
        })
        const model = new Model(maxSize, order)
        for (const [op, key, value] of ops) {
          if (op === 'get') expect(map.get(key)).toBe(model.get(key))
          else if (op === 'set') {
            expect(map.set(key, value)).toBe(map)
            model.set(key, value)
          } else if (op === 'delete') expect(map.delete(key)).toBe(model.delete(key))
          else if (op === 'clear') {
            map.clear()
            model.entries.length = 0
          } else expect(map.has(key)).toBe(model.entries.some(([k]) => k === key))
          expect([...map]).toEqual(model.entries)
          expect(map.size).toBeLessThanOrEqual(maxSize)
        }
        expect(evicted).toEqual(model.evicted)
      }),
    )
  })

  it('stays at maxSize under a flood of new keys', () => {
    const map = new BoundedMap<string, number>({ maxSize: 100, order })
    for (let i = 0; i < 10_000; i++) map.set(`k${i}`, i)
    expect(map.size).toBe(100)
    expect([...map.keys()][0]).toBe('k9900')
  })

  it('replaces a held key without evicting another', () => {
    const map = new BoundedMap<string, number>({ maxSize: 2, order })
    map.set('a', 1).set('b', 2).set('a', 3)
    expect([...map.entries()]).toEqual([
      ['b', 2],
      ['a', 3],
    ])
  })

  it('keeps an undefined value as a value', () => {
    const map = new BoundedMap<string, number | undefined>({ maxSize: 2, order })
    map.set('a', undefined).set('b', 1)
    expect(map.has('a')).toBe(true)
    expect(map.get('a')).toBeUndefined()
  })
})

describe('eviction orders', () => {
  it("'oldest' evicts the eldest write even if it was just read", () => {
    const map = new BoundedMap<string, number>({ maxSize: 2, order: 'oldest' })
    map.set('a', 1).set('b', 2)
    expect(map.get('a')).toBe(1)
    map.set('c', 3)
    expect([...map.keys()]).toEqual(['b', 'c'])
  })

  it("'lru' keeps what was just read", () => {
    const map = new BoundedMap<string, number>({ maxSize: 2, order: 'lru' })
    map.set('a', 1).set('b', 2)
    expect(map.get('a')).toBe(1)
    expect(map.has('b')).toBe(true)
    map.set('c', 3)
    expect([...map.keys()]).toEqual(['a', 'c'])
  })

  it('calls onEvict for evictions only, not for delete or clear', () => {
    const evicted: string[] = []
    const map = new BoundedMap<string, number>({
      maxSize: 1,
      order: 'lru',
      onEvict: (k) => evicted.push(k),
    })
    map.set('a', 1).set('b', 2)
    map.delete('b')
    map.set('c', 3)
    map.clear()
    expect(evicted).toEqual(['a'])
    expect(map.size).toBe(0)
  })
})

describe('bad options', () => {
  it('refuses a size that is not a positive integer', () => {
    for (const maxSize of [0, -1, 1.5, NaN, Infinity]) {
      expect(() => new BoundedMap({ maxSize, order: 'lru' })).toThrow(RangeError)
    }
  })

  it('refuses an unknown eviction order', () => {
    expect(() => new BoundedMap({ maxSize: 1, order: 'fifo' as EvictionOrder })).toThrow(TypeError)
  })
})
