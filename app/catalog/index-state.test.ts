import { describe, expect, it } from 'vitest'
import { concatBytes } from '@noble/hashes/utils.js'
import { decodeIndexHead } from './index-state.ts'
import {
  SnapshotError,
  decodeSnapshot,
  encodeSnapshot,
  recordedChecksum,
  snapshotLength,
  type Section,
} from './index-snapshot.ts'
import { SearchIndex } from './search-index.ts'

/** A small index's snapshot, split into its parts to be altered. */
function parts() {
  const index = new SearchIndex()
  index.upsert(
    ['alpha beta', 'beta gamma', 'delta'].map((name, i) => ({
      key: `${'p'.repeat(64)}:${String(i).padStart(40, '0')}`,
      infoHash: String(i).padStart(40, '0'),
      name,
      description: '',
      category: i ? 'movie' : 'music',
      size: i,
      ts: i,
    })),
  )
  index.search({ text: '', sort: 'size', descending: false, offset: 0, limit: 1 })
  const bytes = index.snapshot()
  const headBytes = snapshotLength(bytes)
  const head = decodeSnapshot(bytes.subarray(0, headBytes))
  const tables = decodeSnapshot(bytes.subarray(headBytes))
  // Both halves' sections in one record, to alter alike; encoded() splits them again.
  const copy: Record<string, Section> = {}
  for (const [name, s] of [...head.sections, ...tables.sections]) copy[name] = s.slice()
  return {
    meta: head.meta as Record<string, unknown>,
    tablesMeta: tables.meta as Record<string, unknown>,
    sections: copy,
  }
}

const TABLES = ['seq', 'cursor', 'hashSlots', 'keySlots']

/** The snapshot of `p`: its head, then its tables naming that head, checksums correct. */
function encoded(p: ReturnType<typeof parts>): Uint8Array {
  const pick = (inTables: boolean) =>
    Object.fromEntries(Object.entries(p.sections).filter(([n]) => TABLES.includes(n) === inTables))
  const head = encodeSnapshot(p.meta, pick(false))
  const tables = encodeSnapshot({ ...p.tablesMeta, head: recordedChecksum(head) }, pick(true))
  return concatBytes(head, tables)
}

/** The snapshot with one change made, checksums and all correct. */
function altered(change: (p: ReturnType<typeof parts>) => void): Uint8Array {
  const p = parts()
  change(p)
  return encoded(p)
}

describe('decodeIndexHead and decodeIndexTables', () => {
  it('takes a snapshot as saved', () => {
    const bytes = encoded(parts())
    expect(decodeIndexHead(bytes.subarray(0, snapshotLength(bytes))).columns.docs).toBe(3)
  })

  it('restores the lookup tables saved, which find every row', () => {
    const restored = SearchIndex.fromSnapshot(encoded(parts()))
    for (let i = 0; i < 3; i++) {
      const hash = String(i).padStart(40, '0')
      expect(restored.row(`${'p'.repeat(64)}:${hash}`)?.infoHash).toBe(hash)
    }
    expect(restored.row(`${'p'.repeat(64)}:${'9'.repeat(40)}`)).toBeUndefined()
  })

  it('holds the date ordering the index page first asks for, even before any query', () => {
    const index = new SearchIndex()
    index.upsert(
      [3, 1, 2].map((ts) => ({
        key: `${'p'.repeat(64)}:${String(ts).padStart(40, '0')}`,
        infoHash: String(ts).padStart(40, '0'),
        name: 'x',
        description: '',
        category: 'movie',
        size: 0,
        ts,
      })),
    )
    const bytes = index.snapshot()
    const { orders } = decodeIndexHead(bytes.subarray(0, snapshotLength(bytes)))
    expect(orders).toEqual([['added', Uint32Array.from([1, 2, 0])]])
  })

  it.each([
    ['a posting past the last row', (p) => (p.sections.postings[0] = 99)],
    ['postings out of order', (p) => p.sections.postings.reverse()],
    ['a publisher id with no publisher', (p) => (p.sections.publisher[1] = 7)],
    ['a hash id with no hash', (p) => (p.sections.hash[0] = 50)],
    ['a category with no name', (p) => (p.sections.category[2] = 9)],
    ['a live count that is not the alive bits', (p) => (p.meta.live = 2)],
    ['name offsets going back', (p) => (p.sections.nameStart[1] = 100)],
    ['terms out of order', (p) => p.sections.termBytes.reverse()],
    ['an ordering naming a row twice', (p) => (p.sections['order:size'][0] = 1)],
    ['an ordering of the wrong length', (p) => (p.sections['order:size'] = new Uint32Array(2))],
    ['a missing section', (p) => delete p.sections.ts],
    ['a section of the wrong type', (p) => (p.sections.size = new Uint32Array(3))],
    ['an unknown sort key', (p) => (p.meta.orders = ['size', 'colour'])],
    ['a row count past the columns', (p) => (p.meta.docs = 4)],
    ['publishers given twice', (p) => (p.meta.publishers = ['x', 'x'])],
    ['an odd key on a keyed row', (p) => (p.meta.oddKeys = [['k', 0]])],
    ['a key slot past the rows', (p) => (p.sections.keySlots[p.sections.keySlots.indexOf(0)] = 9)],
    [
      'a key slot naming a row twice',
      (p) =>
        (p.sections.keySlots[p.sections.keySlots.indexOf(0)] = p.sections.keySlots.find(
          (s) => s > 0,
        )!),
    ],
    ['a key table with no empty slot', (p) => p.sections.keySlots.fill(-1)],
    ['a key table not a power of two', (p) => (p.sections.keySlots = new Int32Array(100))],
    [
      'a hash slot past the hashes',
      (p) => (p.sections.hashSlots[p.sections.hashSlots.indexOf(0)] = 4),
    ],
    ['a hash missing from its slots', (p) => (p.sections.hashSlots = new Int32Array(64))],
    ['a missing key table', (p) => delete p.sections.keySlots],
    ['a missing cursor column', (p) => delete p.sections.cursor],
    ['a seq column of the wrong length', (p) => (p.sections.seq = new Float64Array(2))],
    ['tables for another row count', (p) => (p.tablesMeta.docs = 4)],
    ['tables for another count of hashes', (p) => (p.tablesMeta.hashes = 2)],
    ['no tables after the head', (p) => TABLES.forEach((n) => delete p.sections[n])],
  ] as [string, (p: ReturnType<typeof parts>) => void][])('refuses %s', (_, change) => {
    expect(() => SearchIndex.fromSnapshot(altered(change))).toThrow(SnapshotError)
  })

  it("refuses tables that name another head, and the head's index stays incomplete", () => {
    const bytes = encoded(parts())
    const headBytes = snapshotLength(bytes)
    const p = parts()
    p.sections.size[0] = 7
    const other = encoded(p)
    const index = SearchIndex.fromSnapshotHead(bytes.subarray(0, headBytes))
    expect(() => index.takeSnapshotTables(other.subarray(snapshotLength(other)))).toThrow(
      SnapshotError,
    )
    expect(index.complete).toBe(false)
    index.takeSnapshotTables(bytes.subarray(headBytes))
    expect(index.complete).toBe(true)
  })
})
