import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { NeighbourRow } from './mesh/types.ts'
import {
  MAX_SWARMS_SHOWN,
  MESH_TOTALS,
  noMeshStats,
  neighbourViews,
  shortPeerId,
  swarmNames,
} from './mesh-view.ts'

const id = (n: number) => n.toString(16).padStart(40, '0')

function neighbour(peerId: string, swarms: string[]): NeighbourRow {
  return {
    peerId,
    swarms,
    since: 1_700_000_000_000,
    pexPeers: 3,
    introductionsReceived: 2,
    introductionsMade: 1,
    recordsStored: 0,
  }
}

describe('mesh view', () => {
  it('names every total of MeshStats once', () => {
    const totals = Object.keys(noMeshStats()).filter((k) => k !== 'neighbours' && k !== 'banned')
    expect(MESH_TOTALS.map((t) => t.key).sort()).toEqual(totals.sort())
  })

  it('shortens peer ids to their end', () => {
    expect(shortPeerId('2d5757303230382d' + 'a'.repeat(16) + '12345678')).toBe('…12345678')
    expect(shortPeerId('#3')).toBe('#3')
  })

  it('names swarms the page knows and leaves the others as hashes, named first', () => {
    const names = swarmNames([
      { infoHash: id(2), name: 'Big Buck Bunny' },
      { infoHash: '', name: 'Not known yet' },
      { infoHash: id(3), name: '' },
    ])
    expect([...names]).toEqual([[id(2), 'Big Buck Bunny']])
    const [view] = neighbourViews([neighbour(id(1), [id(3), id(2)])], names)
    expect(view?.swarms).toEqual([
      { infoHash: id(2), name: 'Big Buck Bunny' },
      { infoHash: id(3), name: null },
    ])
    expect(view?.moreSwarms).toBe(0)
  })

  it('passes hostile names on as they are: the view renders them as text', () => {
    const name = '\u202egpj.exe<img src=x onerror=alert(1)>'
    const [view] = neighbourViews(
      [neighbour(id(1), [id(2)])],
      swarmNames([{ infoHash: id(2), name }]),
    )
    expect(view?.swarms[0]?.name).toBe(name)
  })

  it('keeps one row per peer id and caps the swarms of each', () => {
    const row = fc.record({
      peerId: fc.integer({ min: 1, max: 6 }).map(id),
      swarms: fc.array(fc.integer({ min: 100, max: 140 }).map(id), { maxLength: 60 }),
    })
    fc.assert(
      fc.property(fc.array(row, { maxLength: 30 }), (rows) => {
        const views = neighbourViews(
          rows.map((r) => neighbour(r.peerId, r.swarms)),
          new Map(),
        )
        expect(views.map((v) => v.row.peerId)).toEqual([...new Set(rows.map((r) => r.peerId))])
        for (const v of views) {
          const shared = new Set(v.row.swarms).size
          expect(v.swarms.length).toBeLessThanOrEqual(MAX_SWARMS_SHOWN)
          expect(v.swarms.length + v.moreSwarms).toBe(shared)
          expect(new Set(v.swarms.map((s) => s.infoHash)).size).toBe(v.swarms.length)
        }
      }),
    )
  })
})
