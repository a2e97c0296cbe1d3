import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  MAX_MESH_MESSAGE_BYTES,
  MAX_PAGE_RECORD_BYTES,
  MAX_PAGE_RECORDS,
  decodeMeshMessage,
  encodeMeshMessage,
} from '../../shared/mesh/messages.ts'
import { MAX_PAGE_TEXT_BYTES, pageLimit, parseRecords, recordPage } from './mesh-page.ts'

const rowsOf = (texts: string[]) => texts.map((text, i) => ({ cursor: i + 1, text }))

describe('recordPage', () => {
  it('pages read one after another give every record that fits once, in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 40 }), { maxLength: 80 }),
        fc.integer({ min: 1, max: 70 }),
        fc.nat(10),
        (texts, limit, start) => {
          const rows = rowsOf(texts)
          const got: string[] = []
          let cursor = start
          for (let i = 0; i < 200; i++) {
            const page = recordPage(
              rows.filter((r) => r.cursor > cursor),
              cursor,
              limit,
              true,
            )
            expect(page.records.length).toBeLessThanOrEqual(Math.min(limit, MAX_PAGE_RECORDS))
            got.push(...page.records)
            cursor = page.next
            if (!page.more) break
          }
          expect(got).toEqual(texts.slice(start))
        },
      ),
    )
  })

  it('every page encodes as one mesh message, however large its records', () => {
    const big = 'é'.repeat(MAX_PAGE_RECORD_BYTES / 2)
    const rows = rowsOf(Array.from({ length: 64 }, () => big))
    const page = recordPage(rows, 0, 64, true)
    expect(page.more).toBe(true)
    const bytes = encodeMeshMessage({ t: 'page', query: 1, kind: 'listings', ...page })
    expect(bytes.length).toBeLessThanOrEqual(MAX_MESH_MESSAGE_BYTES)
    expect(decodeMeshMessage(bytes)).toMatchObject({ records: page.records })
    const total = page.records.reduce((n, r) => n + new TextEncoder().encode(r).length, 0)
    expect(total).toBeLessThanOrEqual(MAX_PAGE_TEXT_BYTES)
  })

  it('skips a record over MAX_PAGE_RECORD_BYTES and moves past it', () => {
    const rows = rowsOf(['a', 'x'.repeat(MAX_PAGE_RECORD_BYTES + 1), 'b'])
    expect(recordPage(rows, 0, 10, true)).toEqual({ records: ['a', 'b'], next: 3, more: false })
    expect(recordPage(rows.slice(1, 2), 1, 10, true)).toEqual({ records: [], next: 2, more: false })
  })

  it('says more when the rows given are not all there are', () => {
    expect(recordPage(rowsOf(['a']), 0, 5, false)).toEqual({ records: ['a'], next: 1, more: true })
  })

  it('takes any limit a neighbour names as a whole number from 0 to MAX_PAGE_RECORDS', () => {
    expect([-1, 0, 2.7, 1e9, Number.NaN, Infinity].map(pageLimit)).toEqual([0, 0, 2, 64, 0, 0])
  })
})

describe('parseRecords', () => {
  it('refuses what is not JSON, too large, or past a page of records', () => {
    const records = [
      '{"a":1}',
      '[1,2]',
      'nope',
      '',
      'x'.repeat(MAX_PAGE_RECORD_BYTES + 1),
      ...Array.from({ length: MAX_PAGE_RECORDS }, () => '1'),
    ]
    const parsed = parseRecords(records)
    expect(parsed.values.slice(0, 2)).toEqual([{ a: 1 }, [1, 2]])
    expect(parsed.values).toHaveLength(MAX_PAGE_RECORDS - 3)
    expect(parsed.refused).toBe(3 + 5)
  })

  it('never throws on any strings', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 100 }), (records) => {
        const parsed = parseRecords(records)
        expect(parsed.values.length + parsed.refused).toBe(records.length)
      }),
    )
  })

  it('refuses a non-string a caller let through', () => {
    expect(parseRecords([42 as unknown as string]).refused).toBe(1)
  })
})
