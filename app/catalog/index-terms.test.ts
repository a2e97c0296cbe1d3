import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { TermPostings, type PrefixMatch } from './index-terms.ts'

const VOCAB = ['a', 'ab', 'abc', 'b', 'ba', 'café', 'cafe', 'é', 'z', '東京', '東', '😀x', '\uffee']

function docsOf(t: TermPostings, m: PrefixMatch): number[] {
  const docs: number[] = []
  t.forEach(m, (doc) => docs.push(doc))
  return [...new Set(docs)].sort((x, y) => x - y)
}

function model(docs: string[][], prefix: string): number[] {
  return docs.flatMap((terms, doc) => (terms.some((w) => w.startsWith(prefix)) ? [doc] : []))
}

describe('TermPostings', () => {
  it('finds every document holding a term with the prefix, across folds', () => {
    fc.assert(
      fc.property(
        // Repeats within a document, as a name and a description sharing words give them.
        fc.array(fc.array(fc.constantFrom(...VOCAB), { maxLength: 5 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 9 }),
        fc.constantFrom('', ...VOCAB, 'ca', 'caf', 'x', '😀', '\uffef'),
        (docs, minDelta, prefix) => {
          const t = new TermPostings(undefined, minDelta)
          docs.forEach((terms, doc) => {
            t.add(doc, terms)
            // Queries between additions see every document added so far.
            if (doc % 3 === 0)
              expect(docsOf(t, t.match(prefix))).toEqual(model(docs.slice(0, doc + 1), prefix))
          })
          const m = t.match(prefix)
          expect(docsOf(t, m)).toEqual(model(docs, prefix))
          const bits = new Uint32Array(4)
          t.mark(m, bits)
          const marked = model(docs, prefix).every((d) => bits[d >>> 5] & (1 << (d & 31)))
          expect(marked).toBe(true)
          // A term is filed once per document however often it was given.
          const filed = docs.reduce((n, terms) => n + new Set(terms).size, 0)
          expect(t.match('').postings).toBe(filed)
          // Folding changes nothing a query sees; its postings come out sorted per term, once.
          const base = t.fold(docs.length)
          expect(docsOf(t, t.match(prefix))).toEqual(model(docs, prefix))
          expect(base.postings.length).toBe(filed)
          for (let i = 0; i + 1 < base.termStart.length; i++) {
            const list = [...base.postings.subarray(base.postStart[i], base.postStart[i + 1])]
            expect(list.every((doc, j) => j === 0 || list[j - 1] < doc)).toBe(true)
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('renumbers documents, dropping the gone and terms left with none', () => {
    const t = new TermPostings(undefined, 2)
    const docs = [['a'], ['b', 'a'], ['c'], ['a', 'c'], ['b']]
    docs.forEach((terms, doc) => t.add(doc, terms))
    t.renumber(Int32Array.from([-1, 0, -1, 1, -1]), 2)
    expect(docsOf(t, t.match('a'))).toEqual([0, 1])
    expect(docsOf(t, t.match('b'))).toEqual([0])
    expect(docsOf(t, t.match('c'))).toEqual([1])
    expect(t.terms).toBe(3)
    t.renumber(Int32Array.from([-1, 0]), 1)
    expect(docsOf(t, t.match(''))).toEqual([0])
    expect(docsOf(t, t.match('b'))).toEqual([])
    expect(t.terms).toBe(2)
  })

  it('costs nothing for a prefix nothing starts with', () => {
    const t = new TermPostings()
    t.add(0, ['abc'])
    expect(t.match('abd')).toMatchObject({ postings: 0, delta: [] })
    expect(t.match('abcd').postings).toBe(0)
  })
})
