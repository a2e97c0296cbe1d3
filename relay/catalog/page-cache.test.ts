import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PageCache, type PageSnapshot } from './page-cache.ts'

const options = { maxBytes: 10_000, maxEntries: 100, maxAgeMs: 60_000 }

function snapshot(bytes: number, immutable = true, latest = 10): PageSnapshot {
  return { json: Buffer.alloc(bytes, 0x20), immutable, latest, next: 0, tag: `t${bytes}` }
}

describe('PageCache', () => {
  it('serves a page with rows after it until it is maxAgeMs old, whatever arrives', () => {
    const cache = new PageCache(options)
    const page = cache.put('0:10', snapshot(100), 0)
    expect(cache.get('0:10', 10, 59_999)).toBe(page)
    expect(cache.get('0:10', 99, 59_999)).toBe(page)
    expect(cache.get('0:10', 10, 60_000)).toBeUndefined()
    expect(cache.size).toBe(0)
    expect(cache.bytes).toBe(0)
  })

  it('serves the last page (which grows) only while the store latest cursor is unchanged', () => {
    const cache = new PageCache(options)
    const page = cache.put('0:10', snapshot(100, false, 10), 0)
    expect(cache.get('0:10', 10, 1000)).toBe(page)
    expect(cache.get('0:10', 11, 1000)).toBeUndefined()
    expect(cache.get('0:10', 10, 1000)).toBeUndefined()
  })

  it('counts compressed forms and drops the least recently served page over the budget', () => {
    const cache = new PageCache(options)
    const a = cache.put('a', snapshot(4000), 0)
    cache.put('b', snapshot(4000), 0)
    expect(cache.get('a', 10, 1)).toBe(a)
    cache.resize(a, 1000)
    expect(cache.bytes).toBe(9000)
    cache.put('c', snapshot(2000), 0)
    expect(cache.get('b', 10, 1)).toBeUndefined()
    expect(cache.get('a', 10, 1)).toBe(a)
    expect(cache.bytes).toBe(7000)
  })

  it('does not keep a page larger than the whole budget, nor count forms of a dropped page', () => {
    const cache = new PageCache(options)
    const huge = cache.put('h', snapshot(20_000), 0)
    expect(cache.size).toBe(0)
    cache.resize(huge, 5000)
    expect(cache.bytes).toBe(0)
    const small = cache.put('s', snapshot(100), 0)
    cache.put('s', snapshot(200), 1)
    cache.resize(small, 5000)
    expect(cache.bytes).toBe(200)
  })

  it('stays within its byte and entry budgets under any flood of distinct pages', () => {
    const op = fc.oneof(
      fc.record({ put: fc.nat(5000), size: fc.nat(12_000), immutable: fc.boolean() }),
      fc.record({ get: fc.nat(5000), latest: fc.nat(3) }),
      fc.record({ encode: fc.nat(5000), size: fc.nat(4000) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const cache = new PageCache({ ...options, maxEntries: 20 })
        const held = new Map<string, ReturnType<PageCache['put']>>()
        let now = 0
        for (const o of ops) {
          now += 100
          if ('put' in o) {
            const key = String(o.put)
            held.set(key, cache.put(key, snapshot(o.size, o.immutable, 1), now))
          } else if ('get' in o) cache.get(String(o.get), o.latest, now)
          else {
            const page = held.get(String(o.encode))
            if (page) cache.resize(page, o.size)
          }
          expect(cache.bytes).toBeLessThanOrEqual(options.maxBytes)
          expect(cache.bytes).toBeGreaterThanOrEqual(0)
          expect(cache.size).toBeLessThanOrEqual(20)
        }
      }),
    )
  })
})
