// The search index's orderings (search-index.ts): for each sort key, every document in
// ascending order of that key (ties: the older document first), and its inverse, each
// document's rank. Built once with one sort, then kept up to date by sorting only the
// documents added or changed since and merging them in by binary search, so a page of new
// listings or of new swarm figures costs O(k log n + n), not another O(n log n) sort.

/** A document's value under one sort key: numbers and folded names compare with `<`. */
export type SortValue = number | string

export interface OrderSource<K> {
  /** Documents numbered so far (dead ones included). */
  docs(): number
  /** Every document's value under `key`, for a full sort. */
  values(key: K): ArrayLike<SortValue>
  /** One document's value under `key`. */
  value(key: K, doc: number): SortValue
}

/** Documents moved at once by merging; past a fraction of all, one full sort is cheaper. */
const MERGE_FRACTION = 1 / 8

interface Ordering {
  perm: Uint32Array
  /** Documents the ordering has placed: every one below this. */
  placed: number
  /** Placed documents whose value changed since. */
  dirty: Set<number>
  rank: Uint32Array | null
}

export class SortOrders<K> {
  readonly #source: OrderSource<K>
  readonly #orderings = new Map<K, Ordering>()

  constructor(source: OrderSource<K>) {
    this.#source = source
  }

  /** Documents in ascending order of `key`; dead documents are still in it. */
  order(key: K): Uint32Array {
    return this.#current(key).perm
  }

  /** rank[doc]: where doc sits in order(key). */
  rank(key: K): Uint32Array {
    const o = this.#current(key)
    if (!o.rank) {
      o.rank = new Uint32Array(o.perm.length)
      for (let i = 0; i < o.perm.length; i++) o.rank[o.perm[i]] = i
    }
    return o.rank
  }

  /** `docs`' values under `keys` changed. */
  touch(keys: readonly K[], docs: Iterable<number>): void {
    const orderings = keys.flatMap((k) => this.#orderings.get(k) ?? [])
    if (orderings.length === 0) return
    for (const doc of docs) {
      for (const o of orderings) if (doc < o.placed) o.dirty.add(doc)
    }
  }

  /** Orderings kept whole and up to date, for a snapshot. */
  current(): [K, Uint32Array][] {
    return [...this.#orderings.keys()].map((k) => [k, this.order(k)])
  }

  /** Takes an ordering of every document as it stands (from a snapshot). */
  restore(key: K, perm: Uint32Array): void {
    this.#orderings.set(key, { perm, placed: perm.length, dirty: new Set(), rank: null })
  }

  /** Documents renumbered (renumber[doc], -1: gone), keeping their relative order. */
  renumber(renumber: Int32Array, docs: number): void {
    for (const [key, o] of this.#orderings) {
      if (o.dirty.size > 0 || o.placed !== renumber.length) {
        this.#orderings.delete(key)
        continue
      }
      const perm = new Uint32Array(docs)
      let at = 0
      for (const doc of o.perm) if (renumber[doc] >= 0) perm[at++] = renumber[doc]
      this.#orderings.set(key, {
        perm: perm.subarray(0, at),
        placed: docs,
        dirty: new Set(),
        rank: null,
      })
    }
  }

  #current(key: K): Ordering {
    const docs = this.#source.docs()
    let o = this.#orderings.get(key)
    if (o && o.placed === docs && o.dirty.size === 0) return o
    const moving = o ? docs - o.placed + o.dirty.size : docs
    o = o && moving <= docs * MERGE_FRACTION ? this.#merged(key, o, docs) : this.#sorted(key, docs)
    this.#orderings.set(key, o)
    return o
  }

  #sorted(key: K, docs: number): Ordering {
    const values = this.#source.values(key)
    const perm = sortedByValue(values, docs)
    return { perm, placed: docs, dirty: new Set(), rank: null }
  }

  /** `o` with its dirty documents and those added since taken out and put back in place. */
  #merged(key: K, o: Ordering, docs: number): Ordering {
    const value = (doc: number) => this.#source.value(key, doc)
    const moving = [...o.dirty]
    for (let doc = o.placed; doc < docs; doc++) moving.push(doc)
    const movingValues = new Map(moving.map((doc) => [doc, orderable(value(doc))]))
    const before = (a: number, av: SortValue, b: number, bv: SortValue) =>
      av < bv || (av === bv && a < b)
    moving.sort((a, b) => (before(a, movingValues.get(a)!, b, movingValues.get(b)!) ? -1 : 1))
    const kept = o.dirty.size ? o.perm.filter((doc) => !o.dirty.has(doc)) : o.perm
    const perm = new Uint32Array(kept.length + moving.length)
    let from = 0
    let at = 0
    let lo = 0
    for (const doc of moving) {
      const v = movingValues.get(doc)!
      // The first kept document that sorts after doc, at or after the last one found.
      let hi = kept.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (before(kept[mid], orderable(value(kept[mid])), doc, v)) lo = mid + 1
        else hi = mid
      }
      perm.set(kept.subarray(from, lo), at)
      at += lo - from
      from = lo
      perm[at++] = doc
    }
    perm.set(kept.subarray(from), at)
    return { perm, placed: docs, dirty: new Set(), rank: null }
  }
}

/**
 * Documents 0..docs-1 in ascending order of `values`, ties by document. Engines sort typed
 * arrays of numbers and arrays of strings natively, several times faster than through a
 * comparator called from JavaScript (a million names: seconds), so each document is packed
 * with its value into one number or string that sorts the same way, and unpacked after.
 */
export function sortedByValue(values: ArrayLike<SortValue>, docs: number): Uint32Array {
  const perm = new Uint32Array(docs)
  if (docs === 0) return perm
  if (typeof values[0] === 'string') {
    // Value, then the document as two UTF-16 units: a NUL sorts before any folded text.
    const packed = Array.from({ length: docs }, (_, doc) => {
      const v = values[doc] as string
      return `${v}\u0000${String.fromCharCode(doc >>> 16, doc & 0xffff)}`
    })
    packed.sort()
    for (let i = 0; i < docs; i++) {
      const s = packed[i]
      perm[i] = ((s.charCodeAt(s.length - 2) << 16) | s.charCodeAt(s.length - 1)) >>> 0
    }
    if (packed.every((s) => s.indexOf('\u0000') === s.length - 3)) return perm
  } else {
    // Each value's rank among the distinct values, then rank × 2^bits + doc: exact in a double.
    const bits = Math.ceil(Math.log2(docs + 1))
    const unique = Float64Array.from(
      values as ArrayLike<number>,
      orderable as (v: number) => number,
    ).sort()
    let u = 0
    for (let i = 0; i < docs; i++)
      if (i === 0 || unique[i] !== unique[u - 1]) unique[u++] = unique[i]
    if (u * 2 ** bits <= Number.MAX_SAFE_INTEGER) {
      const packed = new Float64Array(docs)
      for (let doc = 0; doc < docs; doc++) {
        packed[doc] = lowerBound(unique, u, orderable(values[doc]) as number) * 2 ** bits + doc
      }
      packed.sort()
      for (let i = 0; i < docs; i++) perm[i] = packed[i] % 2 ** bits
      return perm
    }
  }
  // Values the packing cannot carry (a NUL in a string, too many distinct numbers).
  for (let i = 0; i < docs; i++) perm[i] = i
  return perm.sort((a, b) => {
    const [av, bv] = [orderable(values[a]), orderable(values[b])]
    return av < bv ? -1 : av > bv ? 1 : a - b
  })
}

/**
 * NaN compares false with everything, which no sort can order consistently (one algorithm put
 * it first, another in the middle). A count that is not a number sorts as the least of all.
 */
export function orderable(v: SortValue): SortValue {
  return typeof v === 'number' && Number.isNaN(v) ? -Infinity : v
}

function lowerBound(sorted: Float64Array, length: number, value: number): number {
  let lo = 0
  let hi = length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid] < value) lo = mid + 1
    else hi = mid
  }
  return lo
}
