import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { IndexRows } from './index-rows.ts'
import type { IndexedListing } from './search-index.ts'

const hash = (n: number) => n.toString(16).padStart(40, '0')
const listing = (p: number, h: number, extra: Partial<IndexedListing> = {}): IndexedListing => ({
  key: `${String(p).repeat(64)}:${hash(h)}`,
  infoHash: hash(h),
  name: `name ${p} ${h} é`,
  description: '',
  category: ['movie', 'book'][h % 2],
  size: h,
  ts: p,
  ...extra,
})

describe('IndexRows', () => {
  it('finds each live row by key, through replacements, removals and compaction', () => {
    const op = fc.record({ p: fc.nat(3), h: fc.nat(40), remove: fc.boolean() })
    fc.assert(
      fc.property(fc.array(op, { maxLength: 3000 }), (ops) => {
        const rows = new IndexRows()
        const model = new Map<string, IndexedListing>()
        for (const { p, h, remove } of ops) {
          const l = listing(p, h, { ts: model.size })
          if (remove) {
            expect(rows.remove(l.key)).toBe(model.has(l.key))
            model.delete(l.key)
          } else {
            rows.add(l, [])
            model.set(l.key, l)
          }
          rows.maybeCompact()
        }
        expect(rows.c.live).toBe(model.size)
        for (const [key, l] of model) {
          const doc = rows.docOf(key)
          expect(rows.keyOf(doc)).toBe(key)
          expect(rows.name(doc)).toBe(l.name)
          expect(rows.c.ts[doc]).toBe(l.ts)
        }
        // Per-category bitmaps hold exactly the live rows of their category.
        rows.categoryBits.forEach((bits, code) => {
          let n = 0
          for (let doc = 0; doc < rows.c.docs; doc++) {
            if (bits[doc >>> 5] & (1 << (doc & 31))) {
              n++
              expect(rows.isAlive(doc) && rows.c.category[doc] === code).toBe(true)
            }
          }
          expect(n).toBe(rows.categoryLive[code])
        })
      }),
      { numRuns: 40 },
    )
  })

  it('compacts once dead rows outnumber live ones, keeping the order of those kept', () => {
    const rows = new IndexRows()
    for (let round = 0; round < 3; round++) {
      for (let h = 0; h < 600; h++) rows.add(listing(1, h, { ts: round }), [])
    }
    const renumber = rows.maybeCompact()
    expect(renumber).not.toBeNull()
    expect(rows.c.docs).toBe(600)
    const kept = [...renumber!].filter((d) => d >= 0)
    expect(kept).toEqual(kept.map((_, i) => i))
    expect(rows.c.ts[rows.docOf(listing(1, 5).key)]).toBe(2)
  })

  it('refuses more categories than its 16-bit codes hold', () => {
    const rows = new IndexRows()
    rows.c.categories.length = 0xffff
    expect(() => rows.add(listing(1, 1, { category: 'one too many' }), [])).toThrow(RangeError)
  })
})
