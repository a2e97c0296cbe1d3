import { concatBytes } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { SnapshotError } from './index-snapshot.ts'
import {
  SearchIndex,
  sortName,
  words,
  type IndexedListing,
  type SearchQuery,
  type SortKey,
  type SwarmFigures,
} from './search-index.ts'

function row(key: string, name: string, extra: Partial<IndexedListing> = {}): IndexedListing {
  return {
    key,
    infoHash: `h-${key}`,
    name,
    description: '',
    category: 'misc',
    size: 0,
    ts: 0,
    ...extra,
  }
}

const all: Omit<SearchQuery, 'text'> = { sort: 'added', descending: false, offset: 0, limit: 100 }

describe('words', () => {
  it('folds case and accents and splits on non-letters', () => {
    expect(words('Café CRÈME—Brûlée_2024 東京')).toEqual([
      'cafe',
      'creme',
      'brulee',
      '2024',
      '東京',
    ])
  })
})

describe('words', () => {
  it('splits at whitespace as the index splits before folding each token', () => {
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: 'grapheme' }),
      fc.constantFrom('a \u0301b', 'x\u00a0y', 'ﬁ ǅ', 'e\u2003\u0308o'),
    )
    fc.assert(
      fc.property(text, (t) => {
        expect(t.split(/\s+/).flatMap(words)).toEqual(words(t))
      }),
      { numRuns: 500 },
    )
  })
})

describe('sortName', () => {
  it('is the folded words joined by spaces', () => {
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: 'grapheme' }),
      fc.constantFrom('Café CRÈME—Brûlée_2024 東京', '  a--b  ', 'ǅemal ﬁne', '\u0000x'),
    )
    fc.assert(
      fc.property(text, (t) => {
        expect(sortName(t)).toBe(words(t).join(' '))
      }),
    )
  })
})

describe('SearchIndex', () => {
  it('matches words and prefixes, ignoring case and accents, all words required', () => {
    const index = new SearchIndex()
    index.upsert([
      row('a', 'Big Buck Bunny'),
      row('b', 'Sintel', { description: 'A café in the Bunny hills' }),
      row('c', 'Tears of Steel'),
    ])
    const find = (text: string) => index.search({ ...all, text }).keys.sort()
    expect(find('bunny')).toEqual(['a', 'b'])
    expect(find('BUN')).toEqual(['a', 'b'])
    expect(find('cafe')).toEqual(['b'])
    expect(find('CAFÉ bun')).toEqual(['b'])
    expect(find('big bunny')).toEqual(['a'])
    expect(find('unny')).toEqual([])
    expect(find('')).toEqual(['a', 'b', 'c'])
  })

  it('filters by category and sorts by any column, both ways, with paging', () => {
    const index = new SearchIndex()
    index.upsert([
      row('a', 'alpha', { category: 'movie', size: 30, ts: 1 }),
      row('b', 'beta', { category: 'music', size: 10, ts: 2 }),
      row('c', 'gamma', { category: 'movie', size: 20, ts: 3 }),
    ])
    index.setFigures([
      ['h-a', { seeds: 5, leechers: 0, downloads: 9 }],
      ['h-c', { seeds: 7, leechers: 1, downloads: 1 }],
    ])
    const q = (o: Partial<SearchQuery>) => index.search({ ...all, text: '', ...o })
    expect(q({ category: 'movie' }).keys).toEqual(['a', 'c'])
    expect(q({ sort: 'size' }).keys).toEqual(['b', 'c', 'a'])
    expect(q({ sort: 'seeds', descending: true }).keys).toEqual(['c', 'a', 'b'])
    expect(q({ sort: 'downloads', descending: true }).keys).toEqual(['a', 'c', 'b'])
    expect(q({ sort: 'name', descending: true }).keys).toEqual(['c', 'b', 'a'])
    expect(q({ sort: 'added', offset: 1, limit: 1 })).toMatchObject({ total: 3, keys: ['b'] })
    expect(q({ category: 'music' }).categories).toEqual({ movie: 2, music: 1 })
    expect(index.row('c')).toEqual({
      key: 'c',
      infoHash: 'h-c',
      name: 'gamma',
      category: 'movie',
      size: 20,
      ts: 3,
      seeds: 7,
      leechers: 1,
      downloads: 1,
    })
    expect(index.row('nope')).toBeUndefined()
  })

  it('shows the figures of a hash on every row of it, including later ones', () => {
    const index = new SearchIndex()
    index.upsert([row('p1:h', 'one', { infoHash: 'h' })])
    index.setFigures([['h', { seeds: 3, leechers: 0, downloads: 0 }]])
    index.upsert([row('p2:h', 'two', { infoHash: 'h' }), row('x', 'three')])
    const q = index.search({ ...all, text: '', sort: 'seeds', descending: true })
    expect(q.keys.slice(0, 2).sort()).toEqual(['p1:h', 'p2:h'])
  })

  it('replaces a row by key and forgets removed rows', () => {
    const index = new SearchIndex()
    index.upsert([row('a', 'old name')])
    index.upsert([row('a', 'new name')])
    expect(index.size).toBe(1)
    expect(index.search({ ...all, text: 'old' }).total).toBe(0)
    expect(index.search({ ...all, text: 'new' }).keys).toEqual(['a'])
    index.remove('a')
    expect(index.search({ ...all, text: '' }).total).toBe(0)
  })

  it('agrees with a brute-force model through updates and compaction', () => {
    const vocab = ['red', 'rose', 'road', 'blue', 'bluer', 'café', 'Cafe', 'x1', '東京']
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('upsert' as const),
        key: fc.integer({ min: 0, max: 40 }),
        name: fc.array(fc.constantFrom(...vocab), { maxLength: 4 }),
        size: fc.nat(100),
      }),
      fc.record({ kind: fc.constant('remove' as const), key: fc.integer({ min: 0, max: 40 }) }),
    )
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 3000 }),
        fc.constantFrom('r', 'ro', 'blue', 'caf', 'x', '東'),
        (ops, text) => {
          const index = new SearchIndex()
          const model = new Map<string, { name: string; size: number }>()
          for (const o of ops) {
            const key = `k${o.key}`
            if (o.kind === 'upsert') {
              const name = o.name.join(' ')
              index.upsert([row(key, name, { size: o.size })])
              model.set(key, { name, size: o.size })
            } else {
              index.remove(key)
              model.delete(key)
            }
          }
          const expected = [...model]
            .filter(([, v]) => words(v.name).some((w) => w.startsWith(words(text)[0])))
            .map(([k]) => k)
            .sort()
          const got = index.search({ ...all, text, limit: 1000 })
          expect(got.total).toBe(expected.length)
          expect([...got.keys].sort()).toEqual(expected)
          expect(index.size).toBe(model.size)
        },
      ),
      { numRuns: 60 },
    )
  })
})

const SORT_KEYS: SortKey[] = ['added', 'name', 'size', 'seeds', 'leechers', 'downloads', 'category']
const CATS = ['movie', 'music', 'book']
const VOCAB = ['red', 'rose', 'road', 'blue', 'bluer', 'café', 'Cafe', 'x1', '東京', 'naïve']
const PUBLISHERS = ['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64)]
const hashOf = (n: number) => n.toString(16).padStart(40, '0')

/** What a row of the brute-force model holds. */
interface ModelRow extends IndexedListing {
  order: number
}

/** The index's answer, worked out the slow way from the rows themselves. */
function modelSearch(
  rows: Map<string, ModelRow>,
  figures: Map<string, SwarmFigures>,
  q: SearchQuery,
) {
  const tokens = words(q.text)
  const text = [...rows.values()].filter((r) => {
    const have = [...words(r.name), ...words(r.description)]
    return tokens.every((t) => have.some((w) => w.startsWith(t)))
  })
  const categories: Record<string, number> = {}
  for (const r of text) categories[r.category] = (categories[r.category] ?? 0) + 1
  const hits = text.filter((r) => q.category === undefined || r.category === q.category)
  const f = (r: ModelRow) => figures.get(r.infoHash) ?? { seeds: 0, leechers: 0, downloads: 0 }
  const value = (r: ModelRow): number | string =>
    q.sort === 'added'
      ? r.ts
      : q.sort === 'size'
        ? r.size
        : q.sort === 'name'
          ? words(r.name).join(' ')
          : q.sort === 'category'
            ? r.category
            : f(r)[q.sort]
  hits.sort((a, b) => {
    const va = value(a)
    const vb = value(b)
    return va < vb ? -1 : va > vb ? 1 : a.order - b.order
  })
  if (q.descending) hits.reverse()
  return {
    total: hits.length,
    keys: hits.slice(q.offset, q.offset + q.limit).map((r) => r.key),
    categories,
  }
}

const listingArb = fc.record({
  publisher: fc.nat(PUBLISHERS.length - 1),
  hash: fc.nat(30),
  name: fc.array(fc.constantFrom(...VOCAB), { maxLength: 4 }),
  description: fc.array(fc.constantFrom(...VOCAB), { maxLength: 3 }),
  category: fc.constantFrom(...CATS),
  size: fc.nat(50),
  ts: fc.nat(20),
})
const opArb = fc.oneof(
  { weight: 6, arbitrary: listingArb.map((l) => ({ kind: 'upsert' as const, l })) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('remove' as const),
      publisher: fc.nat(PUBLISHERS.length - 1),
      hash: fc.nat(30),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('figures' as const),
      hash: fc.nat(35),
      seeds: fc.nat(5),
      downloads: fc.nat(5),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'query' as const }) },
)
const queryArb: fc.Arbitrary<SearchQuery> = fc.record({
  text: fc.constantFrom('', 'r', 'ro', 'blue', 'caf', 'CAFÉ x', 'nai', '東', 'zzz', 'b r'),
  category: fc.option(fc.constantFrom(...CATS, 'nope'), { nil: undefined }),
  sort: fc.constantFrom(...SORT_KEYS),
  descending: fc.boolean(),
  offset: fc.nat(6),
  limit: fc.integer({ min: 1, max: 8 }),
})

type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never

/** Runs `ops` on an index and the model; queries in between build orderings to be merged. */
function play(ops: Op[], index = new SearchIndex()) {
  const rows = new Map<string, ModelRow>()
  const figures = new Map<string, SwarmFigures>()
  let order = 0
  for (const op of ops) {
    if (op.kind === 'upsert') {
      const infoHash = hashOf(op.l.hash)
      const key = `${PUBLISHERS[op.l.publisher]}:${infoHash}`
      const l = {
        key,
        infoHash,
        name: op.l.name.join(' '),
        description: op.l.description.join(' '),
        category: op.l.category,
        size: op.l.size,
        ts: op.l.ts,
      }
      index.upsert([l])
      rows.set(key, { ...l, order: order++ })
    } else if (op.kind === 'remove') {
      const key = `${PUBLISHERS[op.publisher]}:${hashOf(op.hash)}`
      index.remove(key)
      rows.delete(key)
    } else if (op.kind === 'figures') {
      const f = { seeds: op.seeds, leechers: 1, downloads: op.downloads }
      index.setFigures([[hashOf(op.hash), f]])
      figures.set(hashOf(op.hash), f)
    } else {
      index.search({ text: '', sort: 'seeds', descending: false, offset: 0, limit: 1 })
      index.search({ text: '', sort: 'name', descending: false, offset: 0, limit: 1 })
    }
  }
  return { index, rows, figures }
}

describe('SearchIndex against a brute-force model', () => {
  it('gives the same totals, pages, orders and category counts', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 200 }),
        fc.array(queryArb, { minLength: 1, maxLength: 8 }),
        (ops, queries) => {
          const { index, rows, figures } = play(ops)
          expect(index.size).toBe(rows.size)
          for (const q of queries) expect(index.search(q)).toEqual(modelSearch(rows, figures, q))
          for (const [key, r] of rows) {
            expect(index.row(key)).toMatchObject({ key, name: r.name, size: r.size, ts: r.ts })
          }
        },
      ),
      { numRuns: 150 },
    )
  })

  it('stays right through compaction of many replaced rows', () => {
    const index = new SearchIndex()
    for (let round = 0; round < 5; round++) {
      index.upsert(
        Array.from({ length: 600 }, (_, i) => ({
          key: `${PUBLISHERS[0]}:${hashOf(i)}`,
          infoHash: hashOf(i),
          name: `round${round} item${i}`,
          description: '',
          category: CATS[i % 3],
          size: i,
          ts: round,
        })),
      )
    }
    expect(index.size).toBe(600)
    expect(index.search({ ...all, text: 'round0' }).total).toBe(0)
    expect(index.search({ ...all, text: 'round4 item59', limit: 20 }).total).toBe(11)
    expect(index.search({ ...all, text: '', sort: 'size', descending: true }).keys[0]).toBe(
      `${PUBLISHERS[0]}:${hashOf(599)}`,
    )
  })
})

describe('SearchIndex at sizes where terms fold and big words keep bitmaps', () => {
  it('agrees with the model over thousands of rows, figures and removals', () => {
    const random = fc.sample(fc.array(fc.nat(1e6), { minLength: 30_000, maxLength: 30_000 }), {
      numRuns: 1,
      seed: 23,
    })[0]
    let r = 0
    const next = (n: number) => random[r++ % random.length] % n
    const ops: Op[] = []
    for (let i = 0; i < 9000; i++) {
      const name = Array.from({ length: 1 + next(3) }, () => VOCAB[next(VOCAB.length)])
      const l = {
        publisher: next(3),
        hash: next(4000),
        name,
        description: [],
        category: CATS[next(3)],
        size: next(99),
        ts: next(9),
      }
      ops.push({ kind: 'upsert', l })
      if (i % 7 === 0) ops.push({ kind: 'figures', hash: next(4000), seeds: next(9), downloads: 1 })
      if (i % 11 === 0) ops.push({ kind: 'remove', publisher: next(3), hash: next(4000) })
      if (i % 1000 === 0) ops.push({ kind: 'query' })
    }
    const { index, rows, figures } = play(ops)
    for (const q of fc.sample(queryArb, { numRuns: 30, seed: 5 })) {
      expect(index.search(q)).toEqual(modelSearch(rows, figures, q))
    }
  })
})

describe('SearchIndex snapshots', () => {
  it('restores an index that answers as the original, and keeps working after', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 120 }),
        fc.array(opArb, { maxLength: 40 }),
        fc.array(queryArb, { minLength: 1, maxLength: 6 }),
        (before, after, queries) => {
          const { index } = play(before)
          const restored = SearchIndex.fromSnapshot(index.snapshot())
          expect(restored.size).toBe(index.size)
          for (const q of queries) expect(restored.search(q)).toEqual(index.search(q))
          play(after, index)
          play(after, restored)
          for (const q of queries) expect(restored.search(q)).toEqual(index.search(q))
        },
      ),
      { numRuns: 80 },
    )
  })

  it('keeps rows whose keys are not publisher:hash, and their figures', () => {
    const index = new SearchIndex()
    index.upsert([row('odd key', 'Odd one', { infoHash: 'not-hex' })])
    index.setFigures([['not-hex', { seeds: 4, leechers: 0, downloads: 1 }]])
    const restored = SearchIndex.fromSnapshot(index.snapshot())
    expect(restored.row('odd key')).toMatchObject({
      infoHash: 'not-hex',
      name: 'Odd one',
      seeds: 4,
    })
    expect(restored.figures('not-hex')).toEqual({ seeds: 4, leechers: 0, downloads: 1 })
  })

  it("answers from a snapshot's head alone as the whole index does, rows and all", () => {
    const { index } = play(
      fc.sample(fc.array(opArb, { minLength: 60, maxLength: 60 }), { numRuns: 1, seed: 3 })[0],
    )
    const { parts, headBytes } = index.snapshotParts()
    const bytes = concatBytes(...parts)
    const head = SearchIndex.fromSnapshotHead(bytes.subarray(0, headBytes))
    expect(head.complete).toBe(false)
    for (const q of fc.sample(queryArb, { numRuns: 40, seed: 4 })) {
      const answer = head.searchRows(q)
      expect(answer).toEqual(index.searchRows(q))
      expect(answer.rows).toEqual(answer.keys.map((key) => index.row(key)))
    }
    expect(answer0(index)).toBeDefined()
    expect(() => head.row(answer0(index))).toThrow(/still loading/)
    expect(() => head.setFigures([])).toThrow(/still loading/)
    head.takeSnapshotTables(bytes.subarray(headBytes))
    expect(head.row(answer0(index))).toEqual(index.row(answer0(index)))
  })

  it('refuses a truncated or altered snapshot with SnapshotError, never a wrong index', () => {
    const { index } = play(
      fc.sample(fc.array(opArb, { minLength: 30, maxLength: 30 }), { numRuns: 1, seed: 1 })[0],
    )
    const bytes = index.snapshot()
    for (let cut = 0; cut < bytes.length; cut += 7) {
      expect(() => SearchIndex.fromSnapshot(bytes.subarray(0, cut))).toThrow(SnapshotError)
    }
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const bad = bytes.slice()
        bad[at] ^= flip
        expect(() => SearchIndex.fromSnapshot(bad)).toThrow(SnapshotError)
      }),
      { numRuns: 300 },
    )
    expect(() => SearchIndex.fromSnapshot(new Uint8Array(0))).toThrow(SnapshotError)
  })
})

/** The key of the first row the index shows. */
const answer0 = (index: SearchIndex) =>
  index.search({ text: '', sort: 'added', descending: true, offset: 0, limit: 1 }).keys[0]

describe('SearchIndex under hostile input', () => {
  it('keeps one row per key when a key is not publisher:hash', () => {
    const index = new SearchIndex()
    const hash = 'a'.repeat(40)
    const key = `p:${hash}`
    index.upsert([row(key, 'canonical one', { infoHash: hash })])
    index.upsert([row(key, 'odd one', { infoHash: 'b'.repeat(40) })])
    expect(index.size).toBe(1)
    expect(index.row(key)).toMatchObject({ name: 'odd one' })
    index.upsert([row(key, 'canonical again', { infoHash: hash })])
    expect(index.size).toBe(1)
    expect(index.search({ ...all, text: '' }).keys).toEqual([key])
    index.remove(key)
    expect(index.row(key)).toBeUndefined()
    expect(index.size).toBe(0)
  })

  it('answers queries of many words, punctuation only, or huge offsets', () => {
    const index = new SearchIndex()
    index.upsert([row('a', 'Big Buck Bunny'), row('b', 'Sintel')])
    expect(index.search({ ...all, text: 'b '.repeat(500) }).keys).toEqual(['a'])
    expect(index.search({ ...all, text: '!!! ??? ---' }).total).toBe(2)
    expect(index.search({ ...all, text: '', offset: 1e9 })).toMatchObject({ total: 2, keys: [] })
    expect(index.search({ ...all, text: 'bunny', category: 'nope' })).toEqual({
      total: 0,
      keys: [],
      categories: { misc: 1 },
    })
  })
})

describe('SearchIndex: what storage asks of it', () => {
  const hash = (n: number) => n.toString(16).padStart(40, '0')
  const key = (publisher: string, n: number) => `${publisher}:${hash(n)}`
  const listed = (publisher: string, n: number, seq: number, cursor: number) =>
    row(key(publisher, n), `name ${n}`, { infoHash: hash(n), seq, cursor })

  it('holds each key’s seq and storage cursor, and the cursors of a hash’s live rows', () => {
    const index = new SearchIndex()
    index.upsert([listed('a', 1, 1, 1), listed('b', 1, 4, 2), listed('a', 2, 1, 3)])
    index.upsert([listed('a', 1, 2, 4)])
    expect(index.current(key('a', 1))).toEqual({ seq: 2, cursor: 4 })
    expect(index.current(key('b', 1))).toEqual({ seq: 4, cursor: 2 })
    expect(index.current(key('c', 1))).toBeUndefined()
    expect(index.cursorsOf(hash(1))).toEqual([4, 2])
    index.remove(key('b', 1))
    expect(index.cursorsOf(hash(1))).toEqual([4])
    expect(index.cursorsOf(hash(9))).toEqual([])
  })

  it('keeps them through a snapshot and through compaction', () => {
    const index = new SearchIndex()
    const n = 3000
    index.upsert(Array.from({ length: n }, (_, i) => listed('a', i, 1, i + 1)))
    // Replaced rows outnumber live ones: the index renumbers its rows.
    index.upsert(Array.from({ length: n }, (_, i) => listed('a', i, 2, n + i + 1)))
    index.upsert(Array.from({ length: n }, (_, i) => listed('a', i, 3, 2 * n + i + 1)))
    const restored = SearchIndex.fromSnapshot(index.snapshot())
    for (const i of [0, 1234, n - 1]) {
      expect(restored.current(key('a', i))).toEqual({ seq: 3, cursor: 2 * n + i + 1 })
      expect(restored.cursorsOf(hash(i))).toEqual([2 * n + i + 1])
    }
  })
})
