// The search index's columns (search-index.ts) and their snapshot: each column is one
// section of the container (index-snapshot.ts), saved as it is held, so loading a million
// listings is views on one buffer plus linear checks, never re-tokenising. Every count,
// offset and id is checked on load, so a snapshot that passes its checksum but does not
// describe an index (a bug, an old layout) is refused rather than answering wrongly.

import { SORT_KEYS } from '../lib/index-query.ts'
import type { SortKey } from './search-index.ts'
import {
  decodeSnapshot,
  encodeSnapshotParts,
  recordedChecksum,
  SnapshotError,
  type Section,
} from './index-snapshot.ts'
import { InfoHashTable } from './index-tables.ts'
import { TermPostings } from './index-terms.ts'

/** Publisher id of a row whose key is not `${publisher}:${infoHash}` (tests write such). */
export const ODD_KEY = 0xffffffff

/** Every column of the index, as it is held and saved. */
export interface IndexColumns {
  /** Rows numbered so far, dead ones included. */
  docs: number
  live: number
  /** One bit per row: set while the row is current. */
  alive: Uint32Array
  publisher: Uint32Array
  hash: Uint32Array
  category: Uint16Array
  size: Float64Array
  ts: Float64Array
  /** The listing's `seq` and this node's storage cursor for it (listing-pages.ts): whether a
   * listing arriving is newer, and where the stored one is, come from here, not IndexedDB. */
  seq: Float64Array
  cursor: Float64Array
  /** Row d's name is nameBytes[nameStart[d], nameStart[d + 1]), UTF-8. */
  nameStart: Uint32Array
  nameBytes: Uint8Array
  /** seeds, leechers, downloads of hash id h at [3h, 3h + 3). */
  figures: Float64Array
  figuresKnown: Uint8Array
  /** Latest row of each hash id, -1 for none; rows chain to the previous one of their hash. */
  hashHead: Int32Array
  previousOfHash: Int32Array
  hashes: InfoHashTable
  publishers: string[]
  categories: string[]
  /** Rows whose key is not `${publisher}:${infoHash}`. */
  oddKeys: Map<string, number>
  terms: TermPostings
}

interface Meta {
  docs: number
  live: number
  hashes: number
  publishers: string[]
  categories: string[]
  oddKeys: [string, number][]
  oddHashes: [number, string][]
  orders: SortKey[]
}

/** A snapshot of the index as its parts (views on the columns, to use at once), and where its
 * second half starts. */
export interface IndexParts {
  parts: Uint8Array[]
  /** Bytes of the head: every column a search reads, enough to answer. What follows are the
   * tables only changes use (finding a row or hash by its text, seq and cursor), which a
   * start reads after it answers its first search (issue 23: ~20 % of the bytes read at a
   * million listings, and the checks of the two hash tables). */
  headBytes: number
}

/** What the tables half names: the head it belongs with, by its recorded checksum. */
interface TablesMeta {
  docs: number
  hashes: number
  head: number
}

/** `c` (its terms folded) and its current orderings, as one snapshot: two containers
 * (index-snapshot.ts) back to back, the head then the tables. */
export function encodeIndexParts(
  c: IndexColumns,
  orders: [SortKey, Uint32Array][],
  /** The slots of the table finding rows by key (IndexRows.keySlots). */
  keySlots: Int32Array,
): IndexParts {
  const n = c.docs
  const h = c.hashes.count
  const base = c.terms.base
  const meta: Meta = {
    docs: n,
    live: c.live,
    hashes: h,
    publishers: c.publishers,
    categories: c.categories,
    oddKeys: [...c.oddKeys],
    oddHashes: c.hashes.oddEntries(),
    orders: orders.map(([key]) => key),
  }
  const answering: Record<string, Section> = {
    alive: c.alive.subarray(0, (n + 31) >>> 5),
    publisher: c.publisher.subarray(0, n),
    hash: c.hash.subarray(0, n),
    category: c.category.subarray(0, n),
    size: c.size.subarray(0, n),
    ts: c.ts.subarray(0, n),
    nameStart: c.nameStart.subarray(0, n + 1),
    nameBytes: c.nameBytes.subarray(0, c.nameStart[n]),
    figures: c.figures.subarray(0, 3 * h),
    figuresKnown: c.figuresKnown.subarray(0, h),
    hashBytes: c.hashes.bytes.subarray(0, 20 * h),
    termBytes: base.termBytes,
    termStart: base.termStart,
    postStart: base.postStart,
    postings: base.postings,
  }
  for (const [key, perm] of orders) answering[`order:${key}`] = perm
  const head = encodeSnapshotParts(meta, answering)
  const tablesMeta: TablesMeta = { docs: n, hashes: h, head: recordedChecksum(head[0]) }
  const tables = encodeSnapshotParts(tablesMeta, {
    seq: c.seq.subarray(0, n),
    cursor: c.cursor.subarray(0, n),
    // Lookup tables saved as they are: a start checks them instead of rebuilding them.
    hashSlots: c.hashes.slots,
    keySlots,
  })
  return { parts: [...head, ...tables], headBytes: head.reduce((sum, p) => sum + p.length, 0) }
}

/** A snapshot's head, decoded and checked: columns that answer searches. Its `seq` and
 * `cursor` are empty and its hash table cannot find until the tables come (decodeIndexTables). */
export interface IndexHead {
  columns: IndexColumns
  orders: [SortKey, Uint32Array][]
  /** The head's recorded checksum, which its tables name. */
  checksum: number
}

/** What a snapshot's tables half holds, checked against its head. */
export interface IndexTables {
  seq: Float64Array
  cursor: Float64Array
  hashSlots: Int32Array
  /** For IndexRows, which checks them against the columns. */
  keySlots: Int32Array
}

const sectionOf =
  (sections: Map<string, Section>) =>
  <T extends Section>(name: string, type: new (n: number) => T, length?: number): T => {
    const s = sections.get(name)
    if (!(s instanceof type) || (length !== undefined && s.length !== length)) {
      throw new SnapshotError(`bad section ${name}`)
    }
    return s
  }

export function decodeIndexHead(bytes: Uint8Array): IndexHead {
  const { meta: m, sections } = decodeSnapshot(bytes)
  const meta = checkMeta(m)
  const n = meta.docs
  const h = meta.hashes
  const get = sectionOf(sections)
  const termStart = sections.get('termStart')
  const terms = termStart instanceof Uint32Array ? termStart.length - 1 : -1
  const columns: IndexColumns = {
    docs: n,
    live: meta.live,
    alive: get('alive', Uint32Array, (n + 31) >>> 5),
    publisher: get('publisher', Uint32Array, n),
    hash: get('hash', Uint32Array, n),
    category: get('category', Uint16Array, n),
    size: get('size', Float64Array, n),
    ts: get('ts', Float64Array, n),
    seq: new Float64Array(0),
    cursor: new Float64Array(0),
    nameStart: get('nameStart', Uint32Array, n + 1),
    nameBytes: get('nameBytes', Uint8Array),
    figures: get('figures', Float64Array, 3 * h),
    figuresKnown: get('figuresKnown', Uint8Array, h),
    hashHead: new Int32Array(0),
    previousOfHash: new Int32Array(0),
    hashes: InfoHashTable.restore(get('hashBytes', Uint8Array, 20 * h), h, meta.oddHashes, null),
    publishers: meta.publishers,
    categories: meta.categories,
    oddKeys: new Map(meta.oddKeys),
    terms: new TermPostings({
      termBytes: get('termBytes', Uint8Array),
      termStart: get('termStart', Uint32Array, terms + 1),
      postStart: get('postStart', Uint32Array, terms + 1),
      postings: get('postings', Uint32Array),
      docs: n,
    }),
  }
  const orders = meta.orders.map((key): [SortKey, Uint32Array] => [
    key,
    get(`order:${key}`, Uint32Array, n),
  ])
  checkColumns(columns, meta)
  for (const [key, perm] of orders) checkPermutation(perm, key)
  return { columns, orders, checksum: recordedChecksum(bytes) }
}

/** The tables half of a snapshot whose head is `head`; SnapshotError unless it is that
 * head's. The slots are checked where they are taken (IndexRows.takeTables). */
export function decodeIndexTables(bytes: Uint8Array, head: IndexHead): IndexTables {
  const { meta, sections } = decodeSnapshot(bytes)
  const m = meta as TablesMeta
  if (
    typeof m !== 'object' ||
    m === null ||
    m.docs !== head.columns.docs ||
    m.hashes !== head.columns.hashes.count ||
    m.head !== head.checksum
  ) {
    throw new SnapshotError("snapshot tables are not its head's")
  }
  const get = sectionOf(sections)
  return {
    seq: get('seq', Float64Array, m.docs),
    cursor: get('cursor', Float64Array, m.docs),
    hashSlots: get('hashSlots', Int32Array),
    keySlots: get('keySlots', Int32Array),
  }
}

const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0

function checkMeta(m: unknown): Meta {
  const meta = m as Meta
  const strings = (x: unknown) => Array.isArray(x) && x.every((s) => typeof s === 'string')
  const ok =
    typeof m === 'object' &&
    m !== null &&
    isCount(meta.docs) &&
    isCount(meta.live) &&
    meta.live <= meta.docs &&
    meta.docs < ODD_KEY &&
    isCount(meta.hashes) &&
    strings(meta.publishers) &&
    new Set(meta.publishers).size === meta.publishers.length &&
    strings(meta.categories) &&
    new Set(meta.categories).size === meta.categories.length &&
    meta.categories.length <= 0xffff &&
    Array.isArray(meta.oddKeys) &&
    meta.oddKeys.every(([k, d]) => typeof k === 'string' && isCount(d) && d < meta.docs) &&
    Array.isArray(meta.oddHashes) &&
    meta.oddHashes.every(([id, t]) => isCount(id) && id < meta.hashes && typeof t === 'string') &&
    Array.isArray(meta.orders) &&
    meta.orders.every((k) => SORT_KEYS.includes(k)) &&
    new Set(meta.orders).size === meta.orders.length
  if (!ok) throw new SnapshotError('bad snapshot header')
  return meta
}

function checkColumns(c: IndexColumns, meta: Meta): void {
  const fail = (what: string) => {
    throw new SnapshotError(`bad snapshot: ${what}`)
  }
  // Columns in locals, and one branch per check that holds: a start runs these loops over
  // a million rows and ten million postings.
  const { docs, alive, publisher, hash, category, nameStart } = c
  const publishers = meta.publishers.length
  const categories = meta.categories.length
  let live = 0
  let oddRows = 0
  for (let doc = 0; doc < docs; doc++) {
    live += (alive[doc >>> 5] >>> (doc & 31)) & 1
    const p = publisher[doc]
    if (p >= publishers) {
      if (p === ODD_KEY) oddRows++
      else fail('publisher id')
    }
    if (hash[doc] >= meta.hashes) fail('hash id')
    if (category[doc] >= categories) fail('category id')
    if (nameStart[doc + 1] < nameStart[doc]) fail('name offsets')
  }
  if (docs & 31 && alive[alive.length - 1] >>> (docs & 31) !== 0) fail('alive bits')
  if (live !== c.live) fail('live count')
  if (nameStart[0] !== 0 || nameStart[docs] !== c.nameBytes.length) fail('name offsets')
  for (const [, doc] of meta.oddKeys) if (publisher[doc] !== ODD_KEY) fail('odd key')
  if (oddRows !== meta.oddKeys.length) fail('odd keys')
  const { termBytes, termStart, postStart, postings } = c.terms.base
  const terms = termStart.length - 1
  if (termStart[0] !== 0 || termStart[terms] !== termBytes.length) fail('term offsets')
  if (postStart[0] !== 0 || postStart[terms] !== postings.length) fail('posting offsets')
  for (let t = 0; t < terms; t++) {
    const from = postStart[t]
    const to = postStart[t + 1]
    if (termStart[t + 1] <= termStart[t] || to <= from) fail('term offsets')
    if (t > 0 && !ascendingBytes(termBytes, termStart[t - 1], termStart[t], termStart[t + 1])) {
      fail('term order')
    }
    // Strictly ascending, so only the last can be past the rows.
    for (let i = from + 1; i < to; i++) if (postings[i] <= postings[i - 1]) fail('postings')
    if (postings[to - 1] >= docs) fail('postings')
  }
}

/** Whether bytes[a, b) sorts strictly before bytes[b, c). */
function ascendingBytes(bytes: Uint8Array, a: number, b: number, c: number): boolean {
  const n = Math.min(b - a, c - b)
  for (let i = 0; i < n; i++) {
    if (bytes[a + i] !== bytes[b + i]) return bytes[a + i] < bytes[b + i]
  }
  return b - a < c - b
}

function checkPermutation(perm: Uint32Array, key: string): void {
  const seen = new Uint8Array(perm.length)
  for (const doc of perm) {
    if (doc >= perm.length || seen[doc]) throw new SnapshotError(`bad snapshot: order ${key}`)
    seen[doc] = 1
  }
}
