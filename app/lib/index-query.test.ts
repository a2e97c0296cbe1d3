import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { CATEGORIES } from './categories.ts'
import {
  DEFAULT_QUERY,
  MAX_QUERY_CHARS,
  SORT_KEYS,
  indexPath,
  parseIndexQuery,
  type IndexQuery,
} from './index-query.ts'
import { parseHash } from './routes.ts'

const fromPath = (path: string) => {
  const route = parseHash(path)
  if (route.name !== 'index') throw new Error(`not the index: ${path}`)
  return parseIndexQuery(route.params)
}

describe('index query', () => {
  it('is `#/` with every default', () => {
    expect(indexPath(DEFAULT_QUERY)).toBe('#/')
    expect(fromPath('#/')).toEqual(DEFAULT_QUERY)
  })

  it('sorts names A→Z and figures biggest first unless told', () => {
    expect(fromPath('#/?sort=name')).toMatchObject({ sort: 'name', descending: false })
    expect(fromPath('#/?sort=seeds')).toMatchObject({ sort: 'seeds', descending: true })
    expect(fromPath('#/?sort=seeds&dir=asc')).toMatchObject({ descending: false })
    expect(indexPath({ ...DEFAULT_QUERY, sort: 'name', descending: true })).toBe(
      '#/?sort=name&dir=desc',
    )
  })

  it('ignores what it does not understand', () => {
    expect(fromPath('#/?sort=evil&cat=warez&page=-3&dir=up')).toEqual(DEFAULT_QUERY)
    expect(fromPath('#/?page=1e3').page).toBe(1000)
    expect(fromPath('#/?page=2.5').page).toBe(1)
    expect(fromPath(`#/?q=${'x'.repeat(5000)}`).text).toHaveLength(MAX_QUERY_CHARS)
  })

  it('round-trips through the URL', () => {
    const query = fc.record<IndexQuery>({
      text: fc.string({ maxLength: 40 }).map((s) => s.trim()),
      category: fc.constantFrom(null, ...CATEGORIES),
      sort: fc.constantFrom(...SORT_KEYS),
      descending: fc.boolean(),
      page: fc.integer({ min: 1, max: 5000 }),
    })
    fc.assert(
      fc.property(query, (q) => {
        expect(fromPath(indexPath(q))).toEqual(q)
      }),
    )
  })
})
