import { describe, expect, it } from 'vitest'
import {
  changedFigures,
  figuresQuery,
  hashAnswers,
  mergeFigures,
  statsFigures,
} from './catalog-live.ts'

const H1 = '1'.repeat(40)
const H2 = '2'.repeat(40)
const f = (seeds: number, leechers = 0, downloads = 0) => ({ seeds, leechers, downloads })

describe('live answers from relays', () => {
  it('merges figures by taking the highest of each, never the sum', () => {
    expect(mergeFigures(undefined, f(1, 2, 3))).toEqual(f(1, 2, 3))
    expect(mergeFigures(f(5, 1, 9), f(2, 4, 9))).toEqual(f(5, 4, 9))
  })

  it('asks only about well-formed hashes, once each, at most 100', () => {
    const many = Array.from({ length: 150 }, (_, i) => i.toString(16).padStart(40, '0'))
    expect(figuresQuery([H1, H1, 'ABC', `${H2}0`, '../x', H2])).toEqual([H1, H2])
    expect(figuresQuery(many)).toHaveLength(100)
  })

  it('reads stats from several relays, skipping garbage and hashes not asked for', () => {
    const answers = [
      { stats: { [H1]: f(3), [H2]: f(1) } },
      { stats: { [H1]: f(7), [H2]: { seeds: -1, leechers: 0, downloads: 0 } } },
      null,
      'garbage',
      { stats: [1, 2] },
      { stats: { [H1]: { seeds: '9' } } },
    ]
    expect(statsFigures(answers, [H1])).toEqual(new Map([[H1, f(7)]]))
    expect(statsFigures(answers, [H2])).toEqual(new Map([[H2, f(1)]]))
  })

  it('keeps only the figures that changed', () => {
    const known = new Map([
      [H1, f(1)],
      [H2, f(2)],
    ])
    const live = new Map([
      [H1, f(1)],
      [H2, f(2, 1)],
    ])
    expect(changedFigures(live, known)).toEqual(new Map([[H2, f(2, 1)]]))
  })

  it('collects listings to verify, at most 100 per relay, and merged figures', () => {
    const flood = { listings: Array.from({ length: 5000 }, (_, i) => i), stats: f(4) }
    const { values, live } = hashAnswers([flood, { listings: 'x', stats: f(6) }, null, 7])
    expect(values).toHaveLength(100)
    expect(live).toEqual(f(6))
    expect(hashAnswers([])).toEqual({ values: [], live: null })
  })
})
