// The rows of the search index (search-index.ts) as columns of typed arrays: a million
// listings as a JS object, string or Map entry each would cost hundreds of megabytes. Info
// hashes are interned (20 bytes each, with their swarm figures), publishers and categories
// too, names are UTF-8 in one buffer, and a row is found by key through a hash table over
// (publisher id, hash id). Replaced and removed rows die in place and are dropped, rows
// renumbered, once they outnumber the live ones.

import { ODD_KEY, type IndexColumns, type IndexTables } from './index-state.ts'
import { SnapshotError } from './index-snapshot.ts'
import { DocTable, InfoHashTable, grown } from './index-tables.ts'
import { TermPostings } from './index-terms.ts'
import type { IndexedListing, SwarmFigures } from './search-index.ts'

/** Distinct categories held: they are stored as 16-bit codes. Listings allow six. */
export const MAX_CATEGORIES = 0xffff
/** Rows dead (replaced or removed) before the index renumbers: past this many, and half. */
const COMPACT_AFTER_DEAD = 1024

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

export function emptyColumns(): IndexColumns {
  return {
    docs: 0,
    live: 0,
    alive: new Uint32Array(0),
    publisher: new Uint32Array(0),
    hash: new Uint32Array(0),
    category: new Uint16Array(0),
    size: new Float64Array(0),
    ts: new Float64Array(0),
    seq: new Float64Array(0),
    cursor: new Float64Array(0),
    nameStart: new Uint32Array(1),
    nameBytes: new Uint8Array(0),
    figures: new Float64Array(0),
    figuresKnown: new Uint8Array(0),
    hashHead: new Int32Array(0),
    previousOfHash: new Int32Array(0),
    hashes: new InfoHashTable(),
    publishers: [],
    categories: [],
    oddKeys: new Map(),
    terms: new TermPostings(),
  }
}

export class IndexRows {
  c: IndexColumns
  readonly #publisherIds = new Map<string, number>()
  readonly #categoryIds = new Map<string, number>()
  /** Live rows per category code. */
  categoryLive: number[] = []
  /** One bitmap per category code of its live rows: a query counts its matches in each
   * category by popcount instead of visiting every match. */
  categoryBits: Uint32Array[] = []
  #oddKeyOf = new Map<number, string>()
  readonly #byKey = new DocTable(
    (doc) => this.c.publisher[doc],
    (doc) => this.c.hash[doc],
  )

  /** `keySlots`: the key table as a snapshot saved it with these columns (decodeIndexTables),
   * taken once checked (SnapshotError) instead of refiling every row. `null`: the columns of
   * a snapshot's head, which answer searches, but find no row by key and take no change
   * until given the rest (takeTables). */
  constructor(columns: IndexColumns = emptyColumns(), keySlots?: Int32Array | null) {
    this.c = columns
    this.#reindexRows()
    if (keySlots !== null) this.#reindexLookups(keySlots)
  }

  /** A snapshot's tables, for the head these rows were made from (keySlots `null`); checked,
   * SnapshotError for any that do not fit the columns. */
  takeTables(tables: IndexTables): void {
    const c = this.c
    try {
      c.hashes.takeSlots(tables.hashSlots)
    } catch (err) {
      if (err instanceof RangeError) throw new SnapshotError('bad snapshot: hash slots')
      throw err
    }
    c.seq = tables.seq
    c.cursor = tables.cursor
    this.#reindexLookups(tables.keySlots)
  }

  /** The key table's slots, for a snapshot. */
  get keySlots(): Int32Array {
    return this.#byKey.slots
  }

  categoryId(name: string): number | undefined {
    return this.#categoryIds.get(name)
  }

  /** Removes the row under `key`; false when there is none. */
  remove(key: string): boolean {
    const doc = this.docOf(key)
    if (doc < 0) return false
    this.#kill(doc)
    if (this.c.publisher[doc] === ODD_KEY) {
      this.c.oddKeys.delete(key)
      this.#oddKeyOf.delete(doc)
    } else this.#byKey.delete(this.c.publisher[doc], this.c.hash[doc])
    return true
  }

  /** Files `l` as a new row (its older row, if any, dies); `terms` are its words. */
  add(l: IndexedListing, terms: Iterable<string>): void {
    const c = this.c
    const h = this.internHash(l.infoHash)
    // `${publisher}:${infoHash}`, split where docOf splits it: the last colon.
    const colon = l.key.length - l.infoHash.length - 1
    const canonical = colon >= 0 && l.key.lastIndexOf(':') === colon && l.key.endsWith(l.infoHash)
    const publisher = canonical ? this.#internPublisher(l.key.slice(0, colon)) : ODD_KEY
    const old =
      canonical && c.oddKeys.size === 0 ? this.#byKey.get(publisher, h) : this.docOf(l.key)
    if (old >= 0) {
      this.#kill(old)
      if (c.publisher[old] === ODD_KEY) {
        c.oddKeys.delete(l.key)
        this.#oddKeyOf.delete(old)
      }
    }
    const doc = c.docs++
    const need = doc + 1
    c.alive = grown(c.alive, (need + 31) >>> 5)
    c.publisher = grown(c.publisher, need)
    c.hash = grown(c.hash, need)
    c.category = grown(c.category, need)
    c.size = grown(c.size, need)
    c.ts = grown(c.ts, need)
    c.seq = grown(c.seq, need)
    c.cursor = grown(c.cursor, need)
    c.previousOfHash = grown(c.previousOfHash, need)
    c.nameStart = grown(c.nameStart, need + 1)
    // UTF-8 takes at most three bytes per UTF-16 unit.
    c.nameBytes = grown(c.nameBytes, c.nameStart[doc] + 3 * l.name.length)
    c.alive[doc >>> 5] |= 1 << (doc & 31)
    c.live++
    c.publisher[doc] = publisher
    c.hash[doc] = h
    const category = this.#internCategory(l.category)
    c.category[doc] = category
    this.categoryLive[category]++
    const bits = (this.categoryBits[category] = grown(this.categoryBits[category], c.alive.length))
    bits[doc >>> 5] |= 1 << (doc & 31)
    c.size[doc] = l.size
    c.ts[doc] = l.ts
    c.seq[doc] = l.seq ?? 0
    c.cursor[doc] = l.cursor ?? 0
    const written = utf8.encodeInto(l.name, c.nameBytes.subarray(c.nameStart[doc])).written
    c.nameStart[doc + 1] = c.nameStart[doc] + written
    c.previousOfHash[doc] = c.hashHead[h]
    c.hashHead[h] = doc
    if (canonical) this.#byKey.set(doc)
    else {
      c.oddKeys.set(l.key, doc)
      this.#oddKeyOf.set(doc, l.key)
    }
    c.terms.add(doc, terms)
  }

  internHash(infoHash: string): number {
    const c = this.c
    const h = c.hashes.intern(infoHash)
    if (h >= c.hashHead.length) {
      const had = c.hashHead.length
      c.hashHead = grown(c.hashHead, h + 1)
      c.hashHead.fill(-1, had)
      c.figures = grown(c.figures, 3 * c.hashHead.length)
      c.figuresKnown = grown(c.figuresKnown, c.hashHead.length)
    }
    return h
  }

  #internPublisher(publisher: string): number {
    let id = this.#publisherIds.get(publisher)
    if (id === undefined) {
      id = this.c.publishers.push(publisher) - 1
      this.#publisherIds.set(publisher, id)
    }
    return id
  }

  #internCategory(category: string): number {
    let id = this.#categoryIds.get(category)
    if (id === undefined) {
      if (this.c.categories.length >= MAX_CATEGORIES) {
        throw new RangeError(`more than ${MAX_CATEGORIES} categories`)
      }
      id = this.c.categories.push(category) - 1
      this.#categoryIds.set(category, id)
      this.categoryLive.push(0)
      this.categoryBits.push(new Uint32Array(this.c.alive.length))
    }
    return id
  }

  /** The live row under `key`, or -1. */
  docOf(key: string): number {
    const odd = this.c.oddKeys.get(key)
    if (odd !== undefined) return odd
    const colon = key.lastIndexOf(':')
    const publisher = this.#publisherIds.get(key.slice(0, colon))
    if (colon < 0 || publisher === undefined) return -1
    const h = this.c.hashes.find(key.slice(colon + 1))
    const doc = h < 0 ? -1 : this.#byKey.get(publisher, h)
    // A key once filed odd (its hash not its suffix) may have left its slot behind.
    return doc >= 0 && this.isAlive(doc) ? doc : -1
  }

  keyOf(doc: number): string {
    const c = this.c
    const odd = this.#oddKeyOf.get(doc)
    return odd ?? `${c.publishers[c.publisher[doc]]}:${c.hashes.text(c.hash[doc])}`
  }

  name(doc: number): string {
    return utf8Decoder.decode(
      this.c.nameBytes.subarray(this.c.nameStart[doc], this.c.nameStart[doc + 1]),
    )
  }

  figuresOf(h: number): SwarmFigures {
    const f = this.c.figures
    return { seeds: f[3 * h] ?? 0, leechers: f[3 * h + 1] ?? 0, downloads: f[3 * h + 2] ?? 0 }
  }

  isAlive(doc: number): boolean {
    return (this.c.alive[doc >>> 5] & (1 << (doc & 31))) !== 0
  }

  #kill(doc: number): void {
    if (!this.isAlive(doc)) return
    this.c.alive[doc >>> 5] &= ~(1 << (doc & 31))
    this.c.live--
    this.categoryLive[this.c.category[doc]]--
    this.categoryBits[this.c.category[doc]][doc >>> 5] &= ~(1 << (doc & 31))
  }

  /** Renumbers the rows once dead ones outnumber the live; returns the renumbering then. */
  maybeCompact(): Int32Array | null {
    const dead = this.c.docs - this.c.live
    return dead > COMPACT_AFTER_DEAD && dead > this.c.live ? this.#compact() : null
  }

  /** Drops replaced and removed rows, renumbering documents, so updates cannot grow memory. */
  #compact(): Int32Array {
    const c = this.c
    const renumber = new Int32Array(c.docs).fill(-1)
    let next = 0
    for (let doc = 0; doc < c.docs; doc++) if (this.isAlive(doc)) renumber[doc] = next++
    const nameBytes = new Uint8Array(c.nameBytes.length)
    const nameStart = new Uint32Array(next + 1)
    const keep = <T extends Uint32Array | Uint16Array | Float64Array>(column: T): T => {
      const out = new (column.constructor as new (n: number) => T)(next)
      for (let doc = 0; doc < c.docs; doc++)
        if (renumber[doc] >= 0) out[renumber[doc]] = column[doc]
      return out
    }
    for (let doc = 0; doc < c.docs; doc++) {
      const to = renumber[doc]
      if (to < 0) continue
      const name = c.nameBytes.subarray(c.nameStart[doc], c.nameStart[doc + 1])
      nameBytes.set(name, nameStart[to])
      nameStart[to + 1] = nameStart[to] + name.length
    }
    const oddKeys = new Map<string, number>()
    for (const [key, doc] of c.oddKeys) if (renumber[doc] >= 0) oddKeys.set(key, renumber[doc])
    c.terms.renumber(renumber, next)
    this.c = {
      ...c,
      docs: next,
      alive: allSet(next),
      publisher: keep(c.publisher),
      hash: keep(c.hash),
      category: keep(c.category),
      size: keep(c.size),
      ts: keep(c.ts),
      seq: keep(c.seq),
      cursor: keep(c.cursor),
      nameStart,
      nameBytes: nameBytes.slice(0, nameStart[next]),
      oddKeys,
    }
    this.#reindex()
    return renumber
  }

  /** Rebuilds what is derived from the columns: lookups, counts, hash chains. */
  #reindex(): void {
    this.#reindexRows()
    this.#reindexLookups()
  }

  /** What searches read besides the columns: ids by name, live rows per category. */
  #reindexRows(): void {
    const c = this.c
    this.#publisherIds.clear()
    c.publishers.forEach((p, id) => this.#publisherIds.set(p, id))
    this.#categoryIds.clear()
    c.categories.forEach((name, id) => this.#categoryIds.set(name, id))
    this.categoryLive = c.categories.map(() => 0)
    this.categoryBits = c.categories.map(() => new Uint32Array((c.docs + 31) >>> 5))
    this.#oddKeyOf = new Map([...c.oddKeys].map(([key, doc]) => [doc, key]))
    // Columns in locals: a start runs this over a million rows.
    const { alive, category } = c
    const { categoryLive, categoryBits } = this
    for (let doc = 0; doc < c.docs; doc++) {
      if ((alive[doc >>> 5] & (1 << (doc & 31))) === 0) continue
      categoryLive[category[doc]]++
      categoryBits[category[doc]][doc >>> 5] |= 1 << (doc & 31)
    }
  }

  /** What changes need: the hash chains and the table finding rows by key (refiled, unless
   * a snapshot saved it). */
  #reindexLookups(keySlots?: Int32Array): void {
    const c = this.c
    c.hashHead = new Int32Array(c.hashes.count).fill(-1)
    c.previousOfHash = new Int32Array(c.docs)
    // Live rows filed by key, in a typed array, unless a snapshot saved the key table.
    const keyed = new Uint32Array(keySlots ? 0 : c.live)
    let k = 0
    const { alive, publisher, hash, hashHead, previousOfHash } = c
    for (let doc = 0; doc < c.docs; doc++) {
      if ((alive[doc >>> 5] & (1 << (doc & 31))) === 0) continue
      if (!keySlots && publisher[doc] !== ODD_KEY) keyed[k++] = doc
      previousOfHash[doc] = hashHead[hash[doc]]
      hashHead[hash[doc]] = doc
    }
    if (!keySlots) return this.#byKey.reset(keyed.subarray(0, k), c.live)
    try {
      this.#byKey.restore(keySlots, c.docs, (doc) => c.publisher[doc] !== ODD_KEY)
    } catch (err) {
      if (err instanceof RangeError) throw new SnapshotError('bad snapshot: key slots')
      throw err
    }
  }
}

/** A bitmap of `n` bits, all set. */
function allSet(n: number): Uint32Array {
  const bits = new Uint32Array((n + 31) >>> 5).fill(0xffffffff)
  if (n & 31) bits[bits.length - 1] = (1 << (n & 31)) - 1
  return bits
}
