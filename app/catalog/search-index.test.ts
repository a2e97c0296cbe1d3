import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { SearchIndex, words, type IndexedListing, type SearchQuery } from './search-index.ts'

function row(key: string, name: string, extra: Partial<IndexedListing> = {}): IndexedListing {
  return {
    key,
    infoHash: `h-${key}`,
    name,
    description: '',
    category: 'misc',
    size: 0,
    ts: 0,
    ...extra,
  }
}

const all: Omit<SearchQuery, 'text'> = { sort: 'added', descending: false, offset: 0, limit: 100 }

describe('words', () => {
  it('folds case and accents and splits on non-letters', () => {
    expect(words('Café CRÈME—Brûlée_2024 東京')).toEqual([
      'cafe',
      'creme',
      'brulee',
      '2024',
      '東京',
    ])
  })
})

describe('SearchIndex', () => {
  it('matches words and prefixes, ignoring case and accents, all words required', () => {
    const index = new SearchIndex()
    index.upsert([
      row('a', 'Big Buck Bunny'),
      row('b', 'Sintel', { description: 'A café in the Bunny hills' }),
      row('c', 'Tears of Steel'),
    ])
    const find = (text: string) => index.search({ ...all, text }).keys.sort()
    expect(find('bunny')).toEqual(['a', 'b'])
    expect(find('BUN')).toEqual(['a', 'b'])
    expect(find('cafe')).toEqual(['b'])
    expect(find('CAFÉ bun')).toEqual(['b'])
    expect(find('big bunny')).toEqual(['a'])
    expect(find('unny')).toEqual([])
    expect(find('')).toEqual(['a', 'b', 'c'])
  })

  it('filters by category and sorts by any column, both ways, with paging', () => {
    const index = new SearchIndex()
    index.upsert([
      row('a', 'alpha', { category: 'movie', size: 30, ts: 1 }),
      row('b', 'beta', { category: 'music', size: 10, ts: 2 }),
      row('c', 'gamma', { category: 'movie', size: 20, ts: 3 }),
    ])
    index.setFigures([
      ['h-a', { seeds: 5, leechers: 0, downloads: 9 }],
      ['h-c', { seeds: 7, leechers: 1, downloads: 1 }],
    ])
    const q = (o: Partial<SearchQuery>) => index.search({ ...all, text: '', ...o })
    expect(q({ category: 'movie' }).keys).toEqual(['a', 'c'])
    expect(q({ sort: 'size' }).keys).toEqual(['b', 'c', 'a'])
    expect(q({ sort: 'seeds', descending: true }).keys).toEqual(['c', 'a', 'b'])
    expect(q({ sort: 'downloads', descending: true }).keys).toEqual(['a', 'c', 'b'])
    expect(q({ sort: 'name', descending: true }).keys).toEqual(['c', 'b', 'a'])
    expect(q({ sort: 'added', offset: 1, limit: 1 })).toMatchObject({ total: 3, keys: ['b'] })
    expect(q({ category: 'music' }).categories).toEqual({ movie: 2, music: 1 })
    expect(index.row('c')).toEqual({
      key: 'c',
      infoHash: 'h-c',
      name: 'gamma',
      category: 'movie',
      size: 20,
      ts: 3,
      seeds: 7,
      leechers: 1,
      downloads: 1,
    })
    expect(index.row('nope')).toBeUndefined()
  })

  it('shows the figures of a hash on every row of it, including later ones', () => {
    const index = new SearchIndex()
    index.upsert([row('p1:h', 'one', { infoHash: 'h' })])
    index.setFigures([['h', { seeds: 3, leechers: 0, downloads: 0 }]])
    index.upsert([row('p2:h', 'two', { infoHash: 'h' }), row('x', 'three')])
    const q = index.search({ ...all, text: '', sort: 'seeds', descending: true })
    expect(q.keys.slice(0, 2).sort()).toEqual(['p1:h', 'p2:h'])
  })

  it('replaces a row by key and forgets removed rows', () => {
    const index = new SearchIndex()
    index.upsert([row('a', 'old name')])
    index.upsert([row('a', 'new name')])
    expect(index.size).toBe(1)
    expect(index.search({ ...all, text: 'old' }).total).toBe(0)
    expect(index.search({ ...all, text: 'new' }).keys).toEqual(['a'])
    index.remove('a')
    expect(index.search({ ...all, text: '' }).total).toBe(0)
  })

  it('agrees with a brute-force model through updates and compaction', () => {
    const vocab = ['red', 'rose', 'road', 'blue', 'bluer', 'café', 'Cafe', 'x1', '東京']
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('upsert' as const),
        key: fc.integer({ min: 0, max: 40 }),
        name: fc.array(fc.constantFrom(...vocab), { maxLength: 4 }),
        size: fc.nat(100),
      }),
      fc.record({ kind: fc.constant('remove' as const), key: fc.integer({ min: 0, max: 40 }) }),
    )
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 3000 }),
        fc.constantFrom('r', 'ro', 'blue', 'caf', 'x', '東'),
        (ops, text) => {
          const index = new SearchIndex()
          const model = new Map<string, { name: string; size: number }>()
          for (const o of ops) {
            const key = `k${o.key}`
            if (o.kind === 'upsert') {
              const name = o.name.join(' ')
              index.upsert([row(key, name, { size: o.size })])
              model.set(key, { name, size: o.size })
            } else {
              index.remove(key)
              model.delete(key)
            }
          }
          const expected = [...model]
            .filter(([, v]) => words(v.name).some((w) => w.startsWith(words(text)[0])))
            .map(([k]) => k)
            .sort()
          const got = index.search({ ...all, text, limit: 1000 })
          expect(got.total).toBe(expected.length)
          expect([...got.keys].sort()).toEqual(expected)
          expect(index.size).toBe(model.size)
        },
      ),
      { numRuns: 60 },
    )
  })
})
