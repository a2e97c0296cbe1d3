import { describe, expect, it } from 'vitest'
import { decodeIndex } from './index-state.ts'
import { SnapshotError, decodeSnapshot, encodeSnapshot, type Section } from './index-snapshot.ts'
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
  const { meta, sections } = decodeSnapshot(index.snapshot())
  const copy: Record<string, Section> = {}
  for (const [name, s] of sections) copy[name] = s.slice()
  return { meta: meta as Record<string, unknown>, sections: copy }
}

/** The snapshot with one change made, checksum and all correct. */
function altered(change: (p: ReturnType<typeof parts>) => void): Uint8Array {
  const p = parts()
  change(p)
  return encodeSnapshot(p.meta, p.sections)
}

describe('decodeIndex', () => {
  it('takes a snapshot as saved', () => {
    const p = parts()
    expect(decodeIndex(encodeSnapshot(p.meta, p.sections)).columns.docs).toBe(3)
  })

  it('restores the lookup tables saved, which find every row', () => {
    const p = parts()
    const restored = SearchIndex.fromSnapshot(encodeSnapshot(p.meta, p.sections))
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
    const { orders } = decodeIndex(index.snapshot())
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
  ] as [string, (p: ReturnType<typeof parts>) => void][])('refuses %s', (_, change) => {
    expect(() => SearchIndex.fromSnapshot(altered(change))).toThrow(SnapshotError)
  })
})
