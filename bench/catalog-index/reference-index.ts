// The reference for bench/catalog-index: app/catalog/search-index.ts as it was before issue 23
// (a JS string per key, name and category, number[] postings, a Uint8Array bitmap per query
// token), copied unchanged below this header so the benchmark measures the new index beside it.

// The local search index behind the index page. Every query runs on this node's own copy
// of the catalog: nothing is ever searched over the network.
//
// Words and prefixes, ignoring case and accents: text is folded (NFKD, combining marks
// dropped, lower case) and split into words; each query word matches every indexed word it
// is a prefix of, and a listing matches when all query words do. Terms are kept sorted, so
// a prefix is one binary search and a contiguous run of terms. Matches are marked in a
// bitmap, and results come out in the chosen order by walking a presorted permutation of
// the documents — no per-query sort, so a query costs O(postings touched + N/32).
//
// Written here rather than taken from a library (minisearch, flexsearch) because the index
// also has to order by seeds, size and date over 100,000+ rows, page through them, and
// rebuild its orderings cheaply when swarm figures change.

export type SortKey = 'added' | 'name' | 'size' | 'seeds' | 'leechers' | 'downloads' | 'category'

export interface IndexedListing {
  /** Unique key of the row: `${publisher}:${infoHash}`. */
  key: string
  infoHash: string
  name: string
  description: string
  category: string
  size: number
  /** Unix seconds the listing was signed. */
  ts: number
}

export interface SwarmFigures {
  seeds: number
  leechers: number
  downloads: number
}

export interface SearchQuery {
  text: string
  category?: string
  sort: SortKey
  descending: boolean
  offset: number
  limit: number
}

export interface SearchResult {
  total: number
  keys: string[]
  /** Rows matching the text in each category, whatever the category filter. */
  categories: Record<string, number>
}

/** What the index holds of one row: enough for a line of the index table. */
export interface IndexedRow extends Omit<IndexedListing, 'description'>, SwarmFigures {}

const NUMERIC_SORTS = ['added', 'size', 'seeds', 'leechers', 'downloads'] as const
type NumericSort = (typeof NUMERIC_SORTS)[number]

/** Case- and accent-folded words of a text. */
export function words(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0)
}

export class SearchIndex {
  #keys: string[] = []
  #docOf = new Map<string, number>()
  #names: string[] = []
  #categories: string[] = []
  #numbers: Record<NumericSort, number[]> = {
    added: [],
    size: [],
    seeds: [],
    leechers: [],
    downloads: [],
  }
  #hashes: string[] = []
  /** Swarm figures per info hash: every publisher's row of a hash shows the same. */
  #figures = new Map<string, SwarmFigures>()
  #keysByHash = new Map<string, Set<string>>()
  #alive: boolean[] = []
  #live = 0
  /** term → documents containing it (ascending doc ids, may hold dead docs). */
  #postings = new Map<string, number[]>()
  #terms: string[] | null = null
  #orders = new Map<SortKey, Uint32Array>()

  get size(): number {
    return this.#live
  }

  /** Adds or replaces listings. Cheap: sorted structures are rebuilt lazily on next query. */
  upsert(listings: Iterable<IndexedListing>): void {
    for (const l of listings) {
      const old = this.#docOf.get(l.key)
      if (old !== undefined) this.#kill(old)
      const doc = this.#keys.length
      const f = this.#figures.get(l.infoHash)
      this.#keys.push(l.key)
      this.#hashes.push(l.infoHash)
      this.#docOf.set(l.key, doc)
      let keys = this.#keysByHash.get(l.infoHash)
      if (!keys) this.#keysByHash.set(l.infoHash, (keys = new Set()))
      keys.add(l.key)
      this.#names.push(l.name)
      this.#categories.push(l.category)
      this.#numbers.added.push(l.ts)
      this.#numbers.size.push(l.size)
      this.#numbers.seeds.push(f?.seeds ?? 0)
      this.#numbers.leechers.push(f?.leechers ?? 0)
      this.#numbers.downloads.push(f?.downloads ?? 0)
      this.#alive.push(true)
      this.#live++
      for (const term of new Set([...words(l.name), ...words(l.description)])) {
        let list = this.#postings.get(term)
        if (!list) {
          list = []
          this.#postings.set(term, list)
          this.#terms = null
        }
        list.push(doc)
      }
    }
    this.#orders.clear()
  }

  remove(key: string): void {
    const doc = this.#docOf.get(key)
    if (doc === undefined) return
    const infoHash = this.#hashes[doc]
    this.#keysByHash.get(infoHash)?.delete(key)
    if (this.#keysByHash.get(infoHash)?.size === 0) this.#keysByHash.delete(infoHash)
    this.#kill(doc)
    this.#docOf.delete(key)
    this.#orders.clear()
  }

  /** Updates the swarm figures of every row with these info hashes. */
  setFigures(figures: Iterable<[infoHash: string, figures: SwarmFigures]>): void {
    let changed = false
    for (const [infoHash, f] of figures) {
      this.#figures.set(infoHash, f)
      for (const key of this.#keysByHash.get(infoHash) ?? []) {
        const doc = this.#docOf.get(key)!
        this.#numbers.seeds[doc] = f.seeds
        this.#numbers.leechers[doc] = f.leechers
        this.#numbers.downloads[doc] = f.downloads
        changed = true
      }
    }
    if (changed) {
      this.#orders.delete('seeds')
      this.#orders.delete('leechers')
      this.#orders.delete('downloads')
    }
  }

  search(q: SearchQuery): SearchResult {
    const n = this.#keys.length
    const tokens = [...new Set(words(q.text))]
    let match: Uint8Array | null = null
    // Most selective first would be ideal; any order gives the same answer.
    for (const token of tokens) {
      const hit = this.#prefixDocs(token, n)
      if (match === null) match = hit
      else for (let i = 0; i < n; i++) match[i] &= hit[i]
    }
    const order = this.#order(q.sort)
    const keys: string[] = []
    const categories: Record<string, number> = {}
    let total = 0
    const end = q.offset + q.limit
    for (let i = 0; i < order.length; i++) {
      const doc = order[q.descending ? order.length - 1 - i : i]
      if (!this.#alive[doc]) continue
      if (match !== null && match[doc] === 0) continue
      const category = this.#categories[doc]
      categories[category] = (categories[category] ?? 0) + 1
      if (q.category && category !== q.category) continue
      if (total >= q.offset && total < end) keys.push(this.#keys[doc])
      total++
    }
    return { total, keys, categories }
  }

  /** The indexed fields and swarm figures of one row. */
  row(key: string): IndexedRow | undefined {
    const doc = this.#docOf.get(key)
    if (doc === undefined) return undefined
    return {
      key,
      infoHash: this.#hashes[doc],
      name: this.#names[doc],
      category: this.#categories[doc],
      size: this.#numbers.size[doc],
      ts: this.#numbers.added[doc],
      seeds: this.#numbers.seeds[doc],
      leechers: this.#numbers.leechers[doc],
      downloads: this.#numbers.downloads[doc],
    }
  }

  #kill(doc: number): void {
    if (!this.#alive[doc]) return
    this.#alive[doc] = false
    this.#live--
    const dead = this.#keys.length - this.#live
    if (dead > 1024 && dead > this.#live) this.#compact()
  }

  /** Drops replaced and removed rows, renumbering documents, so updates cannot grow memory. */
  #compact(): void {
    const renumber = new Int32Array(this.#keys.length).fill(-1)
    let next = 0
    for (let doc = 0; doc < this.#keys.length; doc++) if (this.#alive[doc]) renumber[doc] = next++
    const keep = <T>(list: T[]) => list.filter((_, doc) => renumber[doc] !== -1)
    this.#keys = keep(this.#keys)
    this.#hashes = keep(this.#hashes)
    this.#names = keep(this.#names)
    this.#categories = keep(this.#categories)
    for (const k of NUMERIC_SORTS) this.#numbers[k] = keep(this.#numbers[k])
    this.#alive = new Array<boolean>(next).fill(true)
    this.#docOf = new Map(this.#keys.map((key, doc) => [key, doc]))
    for (const [term, list] of this.#postings) {
      const kept = list.map((doc) => renumber[doc]).filter((doc) => doc !== -1)
      if (kept.length) this.#postings.set(term, kept)
      else this.#postings.delete(term)
    }
    this.#terms = null
    this.#orders.clear()
  }

  #prefixDocs(prefix: string, n: number): Uint8Array {
    const terms = this.#sortedTerms()
    const hit = new Uint8Array(n)
    let lo = 0
    let hi = terms.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (terms[mid] < prefix) lo = mid + 1
      else hi = mid
    }
    for (let i = lo; i < terms.length && terms[i].startsWith(prefix); i++) {
      for (const doc of this.#postings.get(terms[i])!) hit[doc] = 1
    }
    return hit
  }

  #sortedTerms(): string[] {
    if (this.#terms === null) this.#terms = [...this.#postings.keys()].sort()
    return this.#terms
  }

  /** Documents in ascending order of `key` (ties broken by doc id: older first). */
  #order(key: SortKey): Uint32Array {
    let order = this.#orders.get(key)
    if (order) return order
    order = new Uint32Array(this.#keys.length)
    for (let i = 0; i < order.length; i++) order[i] = i
    if (key === 'name') {
      // Folded names compared as strings: an Intl.Collator costs 6× more at 100,000 rows.
      const names = this.#names.map((name) => words(name).join(' '))
      order.sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : a - b))
    } else if (key === 'category') {
      const cats = this.#categories
      order.sort((a, b) => (cats[a] < cats[b] ? -1 : cats[a] > cats[b] ? 1 : a - b))
    } else {
      const values = this.#numbers[key]
      order.sort((a, b) => values[a] - values[b] || a - b)
    }
    this.#orders.set(key, order)
    return order
  }
}
