// The local search index behind the index page. Every query runs on this node's own copy
// of the catalog: nothing is ever searched over the network.
//
// Words and prefixes, ignoring case and accents: text is folded (NFKD, combining marks
// dropped, lower case) and split into words; each query word matches every indexed word it
// is a prefix of, and a listing matches when all query words do.
//
// Built for a million listings in a browser tab (issue 23): rows are columns of typed arrays
// (index-rows.ts, index-tables.ts), info hashes 20 bytes each and interned with their swarm figures,
// publishers and categories interned, names UTF-8 in one buffer; terms and postings are one
// sorted buffer each plus a small delta (index-terms.ts); orderings are kept per sort key and
// merged, not re-sorted, as rows arrive (index-orders.ts). A query ANDs one bitmap per word
// (big prefixes' bitmaps cached), counts categories over the matches, then takes its page
// either by walking the chosen ordering or, for few matches, by sorting their ranks. The
// whole index saves to one buffer and loads back without re-tokenising (index-state.ts).
//
// Written here rather than taken from a library (minisearch, flexsearch) because the index
// also has to order by seeds, size and date over a million rows, page through them, and
// keep its orderings cheaply when swarm figures change.

import { concatBytes } from '@noble/hashes/utils.js'
import { BoundedMap } from '../../shared/bounded-map.ts'
import { DEFAULT_QUERY } from '../lib/index-query.ts'
import type { CurrentListing } from './listing-pages.ts'
import { SortOrders } from './index-orders.ts'
import { snapshotLength } from './index-snapshot.ts'
import {
  decodeIndexHead,
  decodeIndexTables,
  encodeIndexParts,
  type IndexColumns,
  type IndexHead,
  type IndexParts,
} from './index-state.ts'
import { IndexRows } from './index-rows.ts'
import { grown } from './index-tables.ts'
import type { PrefixMatch, TermBase } from './index-terms.ts'

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
  /** The listing's `seq` (0 when not given): a listing arriving replaces it only with more. */
  seq?: number
  /** This node's storage cursor for it (0 when not given): where the stored one is. */
  cursor?: number
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

export const FIGURE_SORTS = ['seeds', 'leechers', 'downloads'] as const
/** Query words whose postings pass this share of the rows keep their bitmap for next time. */
const CACHED_BITMAP_SHARE = 1 / 32
/** Tokens whose words are remembered while indexing: a few MB, and most of a vocabulary. */
const FOLDED_TOKENS = 20_000
/** Longer tokens are folded each time: a word is short, and 20,000 long ones would not be. */
const MAX_FOLDED_TOKEN_CHARS = 32
/** Splits text where words() would split it too (NFKD decomposes, so never across a space). */
const WHITESPACE = /\s+/
/** Bitmaps kept: at a million rows each is 125 KB, so 32 cost 4 MB. */
const CACHED_BITMAPS = 32

/** Anything but printable ASCII, whose folding needs the full Unicode path. */
const NOT_PRINTABLE_ASCII = /[^ -~]/

/** Case- and accent-folded words of a text. */
export function words(text: string): string[] {
  // Printable ASCII needs no normalising, and its letters and digits are [a-z0-9] once lowered.
  if (!NOT_PRINTABLE_ASCII.test(text))
    return text
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((w) => w.length > 0)
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0)
}

/** words(name).join(' '), without the array: a million of these make the first name sort. */
export function sortName(name: string): string {
  if (!NOT_PRINTABLE_ASCII.test(name))
    return name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, ' ')
      .trim()
  return name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
}

interface CachedBitmap {
  bits: Uint32Array
  base: TermBase
}

export class SearchIndex {
  #rows: IndexRows
  readonly #orders = new SortOrders<SortKey>({
    docs: () => this.#rows.c.docs,
    values: (key) => this.#sortValues(key),
    value: (key, doc) => this.#sortValue(key, doc),
  })
  readonly #bitmaps = new BoundedMap<string, CachedBitmap>({
    maxSize: CACHED_BITMAPS,
    order: 'lru',
  })
  #scratch = new Uint32Array(0)
  /** Words of whitespace-separated tokens lately seen: titles share most of their words,
   * and folding (NFKD, regular expressions) is most of what indexing a listing costs.
   * Emptied when full (cheaper than evicting one by one; the common words come back). */
  readonly #folded = new Map<string, string[]>()
  /** One listing's words, repeats and all (TermPostings.add files a repeat once). */
  readonly #terms: string[] = []
  /** The snapshot head this index was loaded from, until its tables come (fromSnapshotHead). */
  #head: IndexHead | null = null

  constructor(columns?: IndexColumns, keySlots?: Int32Array | null) {
    this.#rows = new IndexRows(columns, keySlots)
  }

  /** Whether it takes changes and finds rows by key: false between a snapshot's head and
   * its tables (fromSnapshotHead), when it only answers searches. */
  get complete(): boolean {
    return this.#head === null
  }

  #mustBeComplete(): void {
    if (this.#head) throw new Error('the search index is still loading its lookup tables')
  }

  /** The whole index in one buffer, for fromSnapshot (index-state.ts has the layout). */
  snapshot(): Uint8Array {
    return concatBytes(...this.snapshotParts().parts)
  }

  /** snapshot() as its parts back to back, mostly views on the index's own arrays (no copy
   * of the whole): to be copied at once (into a Blob), before the index changes. */
  snapshotParts(): IndexParts {
    this.#mustBeComplete()
    this.#rows.c.terms.fold(this.#rows.c.docs)
    // The index page's first query sorts by date: saved with it, a start sorts nothing.
    this.#orders.order(DEFAULT_QUERY.sort)
    return encodeIndexParts(this.#rows.c, this.#orders.current(), this.#rows.keySlots)
  }

  /** The index `snapshot()` saved; throws SnapshotError for anything short of that. */
  static fromSnapshot(bytes: Uint8Array): SearchIndex {
    const headBytes = snapshotLength(bytes)
    const index = SearchIndex.fromSnapshotHead(bytes.subarray(0, headBytes))
    index.takeSnapshotTables(bytes.subarray(headBytes))
    return index
  }

  /** The index from the head of what snapshot() saved (its first IndexParts.headBytes): it
   * answers searches at once, and takes changes once given the rest (takeSnapshotTables).
   * SnapshotError for anything short of a head. */
  static fromSnapshotHead(head: Uint8Array): SearchIndex {
    const decoded = decodeIndexHead(head)
    const index = new SearchIndex(decoded.columns, null)
    for (const [key, perm] of decoded.orders) index.#orders.restore(key, perm)
    index.#head = decoded
    return index
  }

  /** The rest of the snapshot whose head made this index. SnapshotError unless it is that
   * head's and fits it; the index then stays incomplete (and is to be rebuilt). */
  takeSnapshotTables(tables: Uint8Array): void {
    if (!this.#head) throw new Error('the search index has its tables')
    this.#rows.takeTables(decodeIndexTables(tables, this.#head))
    this.#head = null
  }

  get size(): number {
    return this.#rows.c.live
  }

  /** Adds or replaces listings. Cheap: orderings catch up on the next query. */
  upsert(listings: Iterable<IndexedListing>): void {
    this.#mustBeComplete()
    // One array for every listing's words: rows.add reads it before the next listing.
    const terms = this.#terms
    for (const l of listings) {
      terms.length = 0
      this.#addWords(l.name, terms)
      this.#addWords(l.description, terms)
      this.#rows.add(l, terms)
    }
    terms.length = 0
    this.#compactIfDue()
  }

  /** Adds the folded words of `text` to `terms`. */
  #addWords(text: string, terms: string[]): void {
    for (const token of text.split(WHITESPACE)) {
      let folded = this.#folded.get(token)
      if (!folded) {
        folded = words(token)
        if (token.length <= MAX_FOLDED_TOKEN_CHARS) {
          if (this.#folded.size >= FOLDED_TOKENS) this.#folded.clear()
          this.#folded.set(token, folded)
        }
      }
      for (let i = 0; i < folded.length; i++) terms.push(folded[i])
    }
  }

  remove(key: string): void {
    this.#mustBeComplete()
    if (this.#rows.remove(key)) this.#compactIfDue()
  }

  #compactIfDue(): void {
    const renumber = this.#rows.maybeCompact()
    if (!renumber) return
    this.#orders.renumber(renumber, this.#rows.c.docs)
    this.#bitmaps.clear()
  }

  /** Updates the swarm figures of every row with these info hashes. */
  setFigures(figures: Iterable<[infoHash: string, figures: SwarmFigures]>): void {
    this.#mustBeComplete()
    const moved: number[] = []
    for (const [infoHash, f] of figures) {
      const h = this.#rows.internHash(infoHash)
      const c = this.#rows.c
      c.figures[3 * h] = f.seeds
      c.figures[3 * h + 1] = f.leechers
      c.figures[3 * h + 2] = f.downloads
      c.figuresKnown[h] = 1
      for (let doc = c.hashHead[h]; doc >= 0; doc = c.previousOfHash[doc]) {
        if (this.#rows.isAlive(doc)) moved.push(doc)
      }
    }
    this.#orders.touch(FIGURE_SORTS, moved)
  }

  /** The swarm figures last set for `infoHash`, if any. */
  figures(infoHash: string): SwarmFigures | undefined {
    this.#mustBeComplete()
    const h = this.#rows.c.hashes.find(infoHash)
    if (h < 0 || !this.#rows.c.figuresKnown[h]) return undefined
    return this.#rows.figuresOf(h)
  }

  search(q: SearchQuery): SearchResult {
    const { docs, ...result } = this.#search(q)
    return { ...result, keys: docs.map((doc) => this.#rows.keyOf(doc)) }
  }

  /** search(), with the rows of its keys: what a page shows, read by row number, not key, so
   * it is answered before the table finding rows by key is loaded (fromSnapshotHead). */
  searchRows(q: SearchQuery): SearchResult & { rows: IndexedRow[] } {
    const { docs, ...result } = this.#search(q)
    const keys = docs.map((doc) => this.#rows.keyOf(doc))
    return { ...result, keys, rows: docs.map((doc, i) => this.#rowOf(doc, keys[i])) }
  }

  #search(q: SearchQuery): Omit<SearchResult, 'keys'> & { docs: number[] } {
    const c = this.#rows.c
    const tokens = [...new Set(words(q.text))]
    const wanted = q.category === undefined ? -1 : (this.#rows.categoryId(q.category) ?? -2)
    const counts = new Array<number>(c.categories.length).fill(0)
    let bits: Uint32Array | null = null
    if (tokens.length) {
      bits = this.#matching(tokens)
      this.#rows.categoryBits.forEach((inCategory, code) => {
        counts[code] = countBoth(bits!, inCategory)
      })
      // From here on only the rows of the category asked for matter.
      if (wanted !== -1) andWith(bits, this.#rows.categoryBits[wanted])
    } else counts.splice(0, counts.length, ...this.#rows.categoryLive)
    const categories: Record<string, number> = {}
    let all = 0
    counts.forEach((n, code) => {
      if (n > 0) categories[c.categories[code]] = n
      all += n
    })
    const total = wanted === -1 ? all : wanted >= 0 ? counts[wanted] : 0
    const end = Math.min(total, q.offset + q.limit)
    const docs = end <= q.offset ? [] : this.#page(q, bits, wanted, total, end)
    return { total, docs, categories }
  }

  /** The indexed fields and swarm figures of one row. */
  row(key: string): IndexedRow | undefined {
    this.#mustBeComplete()
    const doc = this.#rows.docOf(key)
    return doc < 0 ? undefined : this.#rowOf(doc, key)
  }

  #rowOf(doc: number, key: string): IndexedRow {
    const c = this.#rows.c
    const h = c.hash[doc]
    return {
      key,
      infoHash: c.hashes.text(h),
      name: this.#rows.name(doc),
      category: c.categories[c.category[doc]],
      size: c.size[doc],
      ts: c.ts[doc],
      ...this.#rows.figuresOf(h),
    }
  }

  /** The `seq` and storage cursor of the row under `key`, if there is one. */
  current(key: string): CurrentListing | undefined {
    this.#mustBeComplete()
    const doc = this.#rows.docOf(key)
    if (doc < 0) return undefined
    return { seq: this.#rows.c.seq[doc], cursor: this.#rows.c.cursor[doc] }
  }

  /** Storage cursors of the live rows of `infoHash` (one per publisher), newest first. */
  cursorsOf(infoHash: string): number[] {
    this.#mustBeComplete()
    const c = this.#rows.c
    const h = c.hashes.find(infoHash)
    const cursors: number[] = []
    if (h < 0 || h >= c.hashHead.length) return cursors
    for (let doc = c.hashHead[h]; doc >= 0; doc = c.previousOfHash[doc]) {
      if (this.#rows.isAlive(doc)) cursors.push(c.cursor[doc])
    }
    return cursors
  }

  /** Rows matching every token, as a bitmap over documents (dead ones cleared). */
  #matching(tokens: string[]): Uint32Array {
    const c = this.#rows.c
    const words = (c.docs + 31) >>> 5
    const matches = tokens.map((t) => ({ token: t, m: c.terms.match(t) }))
    matches.sort((a, b) => a.m.postings - b.m.postings)
    if (this.#scratch.length < words) this.#scratch = new Uint32Array(words + (words >>> 3))
    const bits = new Uint32Array(words)
    if (matches[0].m.postings === 0) return bits
    matches.forEach(({ token, m }, i) => {
      const cached = m.postings > c.docs * CACHED_BITMAP_SHARE ? this.#bitmap(token, m) : null
      if (i === 0) {
        if (cached) bits.set(cached.subarray(0, words))
        else c.terms.mark(m, bits)
        return
      }
      let other = cached
      if (!other) {
        other = this.#scratch
        other.fill(0, 0, words)
        c.terms.mark(m, other)
      }
      for (let w = 0; w < words; w++) bits[w] &= other[w]
    })
    for (let w = 0; w < words; w++) bits[w] &= c.alive[w]
    return bits
  }

  /** The bitmap of a big query word, kept until the terms' base changes. */
  #bitmap(token: string, m: PrefixMatch): Uint32Array {
    const c = this.#rows.c
    const words = (c.docs + 31) >>> 5
    let entry = this.#bitmaps.get(token)
    if (!entry || entry.base !== c.terms.base) {
      entry = { bits: new Uint32Array(words), base: c.terms.base }
      c.terms.mark(m, entry.bits)
    } else {
      entry.bits = grown(entry.bits, words)
      c.terms.markDelta(m, entry.bits)
    }
    this.#bitmaps.set(token, entry)
    return entry.bits
  }

  /** Rows offset..end of the result in order: `total` rows match (`bits` null: all rows). */
  #page(q: SearchQuery, bits: Uint32Array | null, wanted: number, total: number, end: number) {
    const c = this.#rows.c
    // Walking the ordering reads about end × docs / total rows; sorting the matches' ranks
    // costs about total × log2(total).
    const walk = Math.min(c.docs, (end * c.docs) / total)
    const out: number[] = []
    if (bits === null || walk <= 2 * total * Math.log2(total + 1)) {
      const order = this.#orders.order(q.sort)
      const n = order.length
      let seen = 0
      for (let i = 0; i < n && seen < end; i++) {
        const doc = order[q.descending ? n - 1 - i : i]
        if (!this.#rows.isAlive(doc)) continue
        if (bits !== null && (bits[doc >>> 5] & (1 << (doc & 31))) === 0) continue
        if (wanted >= 0 && c.category[doc] !== wanted) continue
        if (seen++ >= q.offset) out.push(doc)
      }
      return out
    }
    const rank = this.#orders.rank(q.sort)
    const ranks = new Uint32Array(total)
    let at = 0
    forEachBit(bits, (doc) => (ranks[at++] = rank[doc]))
    ranks.sort()
    const order = this.#orders.order(q.sort)
    for (let i = q.offset; i < end; i++) out.push(order[ranks[q.descending ? total - 1 - i : i]])
    return out
  }

  #sortValues(key: SortKey): ArrayLike<number | string> {
    const n = this.#rows.c.docs
    if (key === 'added') return this.#rows.c.ts.subarray(0, n)
    if (key === 'size') return this.#rows.c.size.subarray(0, n)
    if (key === 'name' || key === 'category') {
      return Array.from({ length: n }, (_, doc) => this.#sortValue(key, doc))
    }
    const values = new Float64Array(n)
    for (let doc = 0; doc < n; doc++) values[doc] = this.#sortValue(key, doc) as number
    return values
  }

  #sortValue(key: SortKey, doc: number): number | string {
    const c = this.#rows.c
    switch (key) {
      case 'added':
        return c.ts[doc]
      case 'size':
        return c.size[doc]
      case 'name':
        // Folded names compared as strings: an Intl.Collator costs 6× more at 100,000 rows.
        return sortName(this.#rows.name(doc))
      case 'category':
        return c.categories[c.category[doc]]
      default:
        return c.figures[3 * c.hash[doc] + FIGURE_SORTS.indexOf(key)]
    }
  }
}

/** Set bits in both (a missing word of `b` counts as zero). */
function countBoth(a: Uint32Array, b: Uint32Array): number {
  let n = 0
  for (let w = Math.min(a.length, b.length) - 1; w >= 0; w--) {
    let x = a[w] & b[w]
    // Population count (Hacker's Delight, fig. 5-2).
    x -= (x >>> 1) & 0x55555555
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
    n += Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24
  }
  return n
}

/** a &= b, where b may be shorter (or missing: no rows). */
function andWith(a: Uint32Array, b: Uint32Array | undefined): void {
  const n = Math.min(a.length, b?.length ?? 0)
  for (let w = 0; w < n; w++) a[w] &= b![w]
  a.fill(0, n)
}

/** Calls fn with each set bit's index, in ascending order. */
function forEachBit(bits: Uint32Array, fn: (index: number) => void): void {
  for (let w = 0; w < bits.length; w++) {
    let word = bits[w]
    while (word !== 0) {
      const low = word & -word
      fn((w << 5) + 31 - Math.clz32(low))
      word ^= low
    }
  }
}
