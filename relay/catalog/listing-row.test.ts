import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { listingRow } from './listing-row.ts'
import { FastSigner, sampleDraft } from './test-support.ts'

const NOW = 1_764_115_200
const signer = new FastSigner()

describe('listingRow', () => {
  it('is the listing as JSON, with its UTF-8 size', () => {
    const l = signer.listing({ ...sampleDraft(3), name: 'Été 😀' }, { seq: 2, ts: NOW })
    const row = listingRow(l)
    expect(row).toMatchObject({ publisher: l.publisher, infoHash: l.infoHash, seq: 2, ts: NOW })
    expect(JSON.parse(row.json)).toEqual(l)
    expect(row.bytes).toBe(new TextEncoder().encode(row.json).length)
    expect(createHash('sha256').update(row.json).digest('hex')).toBe(
      createHash('sha256').update(JSON.stringify(l)).digest('hex'),
    )
  })
})
