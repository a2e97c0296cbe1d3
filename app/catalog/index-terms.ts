// The inverted index of the search index (search-index.ts): term → documents holding it.
//
// Two parts, as a log-structured merge keeps them: a base, where the terms are sorted and
// UTF-8 encoded in one buffer and every term's postings sit in one Uint32Array (offsets
// beside: compressed sparse rows), and a small delta of the documents added since, in a Map.
// Documents are numbered in the order they are added, so a term's delta postings all come
// after its base postings and the two concatenated stay sorted. The delta is folded into the
// base once it holds a quarter of the base's documents, so the copying stays linear overall
// and a prefix never has to scan a large Map.

/** Documents in the delta before it is folded in, at least (and a quarter of the base):
 * each fold copies the whole base, so a million listings arriving cost ~5 copies of it. */
const MIN_DELTA_DOCS = 4096
const DELTA_SHARE = 1 / 4

const utf8 = new TextEncoder()
const HIGH_UNITS = /[\uD800-\uFFFF]/

/** The base's arrays, as a snapshot stores them. */
export interface TermBase {
  /** Terms, sorted by their UTF-8 bytes, back to back. */
  termBytes: Uint8Array
  /** Term t's bytes are termBytes[termStart[t], termStart[t + 1]). */
  termStart: Uint32Array
  /** Term t's documents are postings[postStart[t], postStart[t + 1]), ascending. */
  postStart: Uint32Array
  postings: Uint32Array
  /** Documents the base covers: every document below this number. */
  docs: number
}

export function emptyBase(): TermBase {
  return {
    termBytes: new Uint8Array(0),
    termStart: new Uint32Array(1),
    postStart: new Uint32Array(1),
    postings: new Uint32Array(0),
    docs: 0,
  }
}

/** The terms a query word matches: a run of base terms and some delta terms. */
export interface PrefixMatch {
  lo: number
  hi: number
  delta: number[][]
  /** Postings in all of them (documents may repeat across terms). */
  postings: number
}

export class TermPostings {
  #base: TermBase
  #delta = new Map<string, number[]>()
  /** The delta's terms in order, but for those added since the last query (`#deltaNew`). */
  #deltaSorted: string[] = []
  #deltaNew: string[] = []
  #deltaDocs = 0

  readonly #minDeltaDocs: number

  /** `minDeltaDocs`: tests fold sooner, to exercise it at small sizes. */
  constructor(base: TermBase = emptyBase(), minDeltaDocs = MIN_DELTA_DOCS) {
    this.#base = base
    this.#minDeltaDocs = minDeltaDocs
  }

  /** The current base: a new object after each fold, so caches over it know when to rebuild. */
  get base(): TermBase {
    return this.#base
  }

  get terms(): number {
    return this.#base.termStart.length - 1 + this.#delta.size
  }

  /** Indexes `doc` (greater than any document added before) under each of `terms`; a term
   * given twice counts once (its list already ends with `doc`), so callers need no set. */
  add(doc: number, terms: Iterable<string>): void {
    for (const term of terms) {
      let list = this.#delta.get(term)
      if (!list) {
        this.#delta.set(term, (list = []))
        this.#deltaNew.push(term)
      } else if (list[list.length - 1] === doc) continue
      list.push(doc)
    }
    this.#deltaDocs++
    if (this.#deltaDocs >= Math.max(this.#minDeltaDocs, this.#base.docs * DELTA_SHARE)) {
      this.fold(doc + 1)
    }
  }

  /** Terms starting with `prefix`. */
  match(prefix: string): PrefixMatch {
    const b = this.#base
    const key = utf8.encode(prefix)
    const lo = this.#bound(key, false)
    const hi = this.#bound(key, true)
    const delta: number[][] = []
    let postings = b.postStart[hi] - b.postStart[lo]
    const sorted = this.#sortedDelta()
    let i = lowerBound(sorted, prefix)
    for (; i < sorted.length && sorted[i].startsWith(prefix); i++) {
      const list = this.#delta.get(sorted[i])!
      delta.push(list)
      postings += list.length
    }
    return { lo, hi, delta, postings }
  }

  /** Calls `fn` with every document of `m` (in order within each term, not across terms). */
  forEach(m: PrefixMatch, fn: (doc: number) => void): void {
    const { postings, postStart } = this.#base
    for (let i = postStart[m.lo], end = postStart[m.hi]; i < end; i++) fn(postings[i])
    for (const list of m.delta) for (const doc of list) fn(doc)
  }

  /** Sets the bit of every document of `m` in `bits`. */
  mark(m: PrefixMatch, bits: Uint32Array): void {
    const { postings, postStart } = this.#base
    for (let i = postStart[m.lo], end = postStart[m.hi]; i < end; i++) {
      const doc = postings[i]
      bits[doc >>> 5] |= 1 << (doc & 31)
    }
    for (const list of m.delta) for (const doc of list) bits[doc >>> 5] |= 1 << (doc & 31)
  }

  /** Sets the bit of every delta document of `m` in `bits` (its base part is there already). */
  markDelta(m: PrefixMatch, bits: Uint32Array): void {
    for (const list of m.delta) for (const doc of list) bits[doc >>> 5] |= 1 << (doc & 31)
  }

  /** The base with the delta folded in; `docs` is the document count it covers. */
  fold(docs: number): TermBase {
    if (this.#delta.size === 0) {
      this.#base.docs = Math.max(this.#base.docs, docs)
      return this.#base
    }
    const sorted = this.#sortedDelta().slice()
    // UTF-16 order is UTF-8's but for code units from U+D800 up; re-sort by bytes if any.
    if (sorted.some((t) => HIGH_UNITS.test(t))) {
      const bytes = new Map(sorted.map((t) => [t, utf8.encode(t)]))
      sorted.sort((x, y) => {
        const bx = bytes.get(x)!
        return compareBytes(bx, 0, bx.length, bytes.get(y)!)
      })
    }
    const fresh = sorted.map((term) => ({ bytes: utf8.encode(term), list: this.#delta.get(term)! }))
    const old = this.#base
    const oldTerms = old.termStart.length - 1
    // Where each fresh term goes among the base terms, and whether it is already one.
    // In byte order, so each term's place is at or after the last one's.
    const at: number[] = []
    for (const f of fresh) at.push(this.#bound(f.bytes, false, at.length ? at[at.length - 1] : 0))
    const known = fresh.map(
      (f, j) =>
        at[j] < oldTerms &&
        compareBytes(old.termBytes, old.termStart[at[j]], old.termStart[at[j] + 1], f.bytes) === 0,
    )
    let newTerms = 0
    let newTermBytes = 0
    let newPostings = 0
    fresh.forEach((f, j) => {
      newPostings += f.list.length
      if (!known[j]) {
        newTerms++
        newTermBytes += f.bytes.length
      }
    })
    const base: TermBase = {
      termBytes: new Uint8Array(old.termBytes.length + newTermBytes),
      termStart: new Uint32Array(oldTerms + newTerms + 1),
      postStart: new Uint32Array(oldTerms + newTerms + 1),
      postings: new Uint32Array(old.postings.length + newPostings),
      docs: Math.max(old.docs, docs),
    }
    let t = 0
    let bytesAt = 0
    let postAt = 0
    let from = 0
    /** Copies base terms [from, to) and their postings in two bulk copies. */
    const copyBase = (to: number) => {
      if (to <= from) return
      const b0 = old.termStart[from]
      const p0 = old.postStart[from]
      base.termBytes.set(old.termBytes.subarray(b0, old.termStart[to]), bytesAt)
      base.postings.set(old.postings.subarray(p0, old.postStart[to]), postAt)
      for (let i = from; i < to; i++) {
        t++
        base.termStart[t] = bytesAt + old.termStart[i + 1] - b0
        base.postStart[t] = postAt + old.postStart[i + 1] - p0
      }
      bytesAt += old.termStart[to] - b0
      postAt += old.postStart[to] - p0
      from = to
    }
    // A fresh term already in the base gets its delta postings after the base's; a new one
    // goes in at its place.
    fresh.forEach((f, j) => {
      copyBase(known[j] ? at[j] + 1 : at[j])
      if (!known[j]) {
        base.termBytes.set(f.bytes, bytesAt)
        bytesAt += f.bytes.length
        t++
        base.termStart[t] = bytesAt
      }
      for (const doc of f.list) base.postings[postAt++] = doc
      base.postStart[t] = postAt
    })
    copyBase(oldTerms)
    this.#base = base
    this.#delta.clear()
    this.#deltaSorted = []
    this.#deltaNew = []
    this.#deltaDocs = 0
    return base
  }

  /**
   * Renumbers documents: doc becomes renumber[doc], or goes when that is -1. Numbering must
   * keep the order of the documents it keeps, so every list stays sorted.
   */
  renumber(renumber: Int32Array, docs: number): void {
    const old = this.fold(renumber.length)
    const oldTerms = old.termStart.length - 1
    const keptTerm = new Uint8Array(oldTerms)
    const postings = new Uint32Array(old.postings.length)
    const postStart = new Uint32Array(oldTerms + 1)
    let at = 0
    let terms = 0
    for (let t = 0; t < oldTerms; t++) {
      const from = at
      for (let i = old.postStart[t]; i < old.postStart[t + 1]; i++) {
        const doc = renumber[old.postings[i]]
        if (doc >= 0) postings[at++] = doc
      }
      if (at > from) {
        keptTerm[t] = 1
        postStart[++terms] = at
      }
    }
    let termBytes = 0
    for (let t = 0; t < oldTerms; t++) {
      if (keptTerm[t]) termBytes += old.termStart[t + 1] - old.termStart[t]
    }
    const base: TermBase = {
      termBytes: new Uint8Array(termBytes),
      termStart: new Uint32Array(terms + 1),
      postStart: postStart.slice(0, terms + 1),
      postings: postings.slice(0, at),
      docs,
    }
    for (let t = 0, k = 0, b = 0; t < oldTerms; t++) {
      if (!keptTerm[t]) continue
      base.termBytes.set(old.termBytes.subarray(old.termStart[t], old.termStart[t + 1]), b)
      b += old.termStart[t + 1] - old.termStart[t]
      base.termStart[++k] = b
    }
    this.#base = base
  }

  /** The delta's terms sorted: those new since last time sorted alone and merged in. */
  #sortedDelta(): string[] {
    if (this.#deltaNew.length === 0) return this.#deltaSorted
    const fresh = this.#deltaNew.sort()
    const old = this.#deltaSorted
    const merged = new Array<string>(old.length + fresh.length)
    for (let i = 0, j = 0, k = 0; k < merged.length; k++) {
      merged[k] = j >= fresh.length || (i < old.length && old[i] < fresh[j]) ? old[i++] : fresh[j++]
    }
    this.#deltaSorted = merged
    this.#deltaNew = []
    return merged
  }

  /** First base term ≥ key, or (`past`) the first after every term that starts with key;
   * `from` when it is known to be no earlier. */
  #bound(key: Uint8Array, past: boolean, from = 0): number {
    const { termBytes, termStart } = this.#base
    let lo = from
    let hi = termStart.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const start = termStart[mid]
      // A term that starts with key counts as equal to it.
      const end = Math.min(termStart[mid + 1], start + key.length)
      const c = compareBytes(termBytes, start, end, key)
      if (c < 0 || (past && c === 0)) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

/** Compares bytes[start, end) with all of `key`, as UTF-8 strings order. */
function compareBytes(bytes: Uint8Array, start: number, end: number, key: Uint8Array): number {
  const n = Math.min(end - start, key.length)
  for (let i = 0; i < n; i++) {
    const d = bytes[start + i] - key[i]
    if (d !== 0) return d
  }
  return end - start - key.length
}

function lowerBound(sorted: string[], key: string): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid] < key) lo = mid + 1
    else hi = mid
  }
  return lo
}
