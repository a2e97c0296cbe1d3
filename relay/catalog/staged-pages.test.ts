import { afterEach, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { CatalogStore } from './store.ts'
import { listingRow, type ListingRow } from './listing-row.ts'
import { StagedPages, type StagedPage } from './staged-pages.ts'
import { FastSigner, sampleDraft } from './test-support.ts'

const NOW = 1_764_115_200
const PEER = 'http://peer'
const signers = [new FastSigner(), new FastSigner()]
const opened: CatalogStore[] = []
afterEach(() => opened.splice(0).forEach((s) => s.close()))

function open(): CatalogStore {
  const store = new CatalogStore(':memory:', { synchronous: 'normal' })
  opened.push(store)
  return store
}

const row = (signer: number, item: number, seq = 1) =>
  listingRow(signers[signer].listing(sampleDraft(item), { seq, ts: NOW + seq }))

/** A page of `rows` pulled after `after`, ending at `next`. */
function page(after: number, next: number, rows: ListingRow[], epoch = 'e1'): StagedPage {
  return { after, next, epoch, rows, received: rows.length + 1, invalid: 1 }
}

describe('StagedPages', () => {
  it('holds pages until their rows reach the commit size, then commits them as one', () => {
    const store = open()
    const a = [row(0, 1), row(0, 2)]
    const b = [row(1, 1)]
    const staged = new StagedPages(store, PEER, a[0].bytes + a[1].bytes + 1)
    expect(staged.cursor()).toBe(0)
    expect(staged.epoch()).toBeUndefined()
    expect(staged.add(page(0, 5, a))).toBe(false)
    // The puller reads its cursor here while the page waits; nothing is stored yet.
    expect(staged.cursor()).toBe(5)
    expect(staged.epoch()).toBe('e1')
    expect(store.count()).toBe(0)
    expect(store.peerCursor(PEER)).toBeUndefined()
    expect(staged.add(page(5, 9, b))).toBe(true)
    expect(staged.bytes).toBe(a[0].bytes + a[1].bytes + b[0].bytes)
    const committed = staged.commit()
    expect(committed.map((c) => [c.page.next, c.results.map((r) => r.outcome)])).toEqual([
      [5, ['inserted', 'inserted']],
      [9, ['inserted']],
    ])
    expect(store.peerCursor(PEER)).toMatchObject({ cursor: 9, fetched: 5 })
    expect([staged.size, staged.bytes, staged.cursor()]).toEqual([0, 0, 9])
    expect(staged.commit()).toEqual([])
  })

  it('refuses a page of another epoch than those held', () => {
    const staged = new StagedPages(open(), PEER, 1 << 20)
    staged.add(page(0, 5, [row(0, 1)]))
    expect(() => staged.add(page(5, 6, [row(0, 2)], 'e2'))).toThrow(RangeError)
    staged.commit()
    expect(staged.add(page(0, 1, [row(0, 2)], 'e2'))).toBe(false)
  })

  it('lets pages go when their commit fails: the stored cursor is where to pull again', () => {
    const store = open()
    const staged = new StagedPages(store, PEER, 1 << 20)
    staged.add(page(0, 5, [row(0, 1)]))
    staged.commit()
    const broken = { ...row(0, 3), publisher: null } as unknown as ListingRow
    staged.add(page(5, 8, [row(0, 2)]))
    staged.add(page(8, 9, [broken]))
    expect(() => staged.commit()).toThrow()
    expect([staged.size, staged.cursor(), store.count()]).toEqual([0, 5, 1])
  })

  it('property: committed in any groups, pages store what one at a time stores', () => {
    const rows = Array.from({ length: 12 }, (_, i) => row(i % 2, i % 7, 1 + (i % 3)))
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        (sizes, commitAfter) => {
          const pages: StagedPage[] = []
          let at = 0
          for (const n of sizes) {
            const next = pages.length * 10 + 10
            pages.push(page(next - 10, next, rows.slice(at, (at += n))))
          }
          const one = open()
          for (const p of pages) one.ingestRows(PEER, 'e1', p.next, p.rows, p.received)
          const grouped = open()
          const staged = new StagedPages(grouped, PEER, Infinity)
          const outcomes: string[] = []
          pages.forEach((p, i) => {
            staged.add(p)
            if (commitAfter[i]) staged.commit().forEach((c) => outcomes.push(...outcome(c)))
          })
          staged.commit().forEach((c) => outcomes.push(...outcome(c)))
          expect(grouped.page(0, 100)).toEqual(one.page(0, 100))
          expect(grouped.peerCursor(PEER)).toEqual(one.peerCursor(PEER))
          expect(grouped.bytes()).toBe(one.bytes())
          expect(outcomes).toHaveLength(pages.reduce((n, p) => n + p.rows.length, 0))
        },
      ),
      { numRuns: 40 },
    )
  })
})

function outcome(c: { results: { outcome: string }[] }): string[] {
  return c.results.map((r) => r.outcome)
}
