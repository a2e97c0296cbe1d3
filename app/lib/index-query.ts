// The index page's state — search text, category, sort and page — as it sits in the URL
// (`#/?q=…&cat=…&sort=…&dir=…&page=…`), so a search can be bookmarked or shared and Back
// from a listing returns to it. Pure: URL parameters in, a checked IndexQuery out.

import type { SortKey } from '../catalog/search-index.ts'
import { isCategory, type Category } from './categories.ts'

export const SORT_KEYS = [
  'added',
  'name',
  'size',
  'seeds',
  'leechers',
  'downloads',
  'category',
] as const satisfies readonly SortKey[]

/** Rows on one page of the index table: dense, and still one screen or two. */
export const PAGE_SIZE = 50
/** Longest search text kept from a URL; nobody types more into a search box. */
export const MAX_QUERY_CHARS = 200
/** Highest page number accepted from a URL (100,000,000 listings at PAGE_SIZE). */
const MAX_PAGE = 2_000_000

export interface IndexQuery {
  text: string
  category: Category | null
  sort: SortKey
  descending: boolean
  /** 1-based. */
  page: number
}

export const DEFAULT_QUERY: IndexQuery = {
  text: '',
  category: null,
  sort: 'added',
  descending: true,
  page: 1,
}

/** Names and categories read best A→Z; figures and dates biggest or newest first. */
export function defaultDescending(sort: SortKey): boolean {
  return sort !== 'name' && sort !== 'category'
}

export function parseIndexQuery(params: URLSearchParams): IndexQuery {
  const sortParam = params.get('sort')
  const sort = SORT_KEYS.find((k) => k === sortParam) ?? DEFAULT_QUERY.sort
  const dir = params.get('dir')
  const page = Number(params.get('page') ?? '1')
  const category = params.get('cat')
  return {
    text: (params.get('q') ?? '').slice(0, MAX_QUERY_CHARS),
    category: isCategory(category) ? category : null,
    sort,
    descending: dir === 'asc' ? false : dir === 'desc' ? true : defaultDescending(sort),
    page: Number.isSafeInteger(page) && page >= 1 ? Math.min(page, MAX_PAGE) : 1,
  }
}

/** The index page's path for this query; defaults are left out, so a plain index is `#/`. */
export function indexPath(query: IndexQuery): string {
  const params = new URLSearchParams()
  const text = query.text.trim()
  if (text) params.set('q', text)
  if (query.category) params.set('cat', query.category)
  if (query.sort !== DEFAULT_QUERY.sort) params.set('sort', query.sort)
  if (query.descending !== defaultDescending(query.sort)) {
    params.set('dir', query.descending ? 'desc' : 'asc')
  }
  if (query.page > 1) params.set('page', String(query.page))
  const rest = params.toString()
  return rest ? `#/?${rest}` : '#/'
}
