import { describe, expect, it } from 'vitest'
import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'
import { engineReport, missedPatches, patchRows, recordPatch, WIRE_PATCHES } from './patches.ts'

describe('the engine report', () => {
  it('counts each try by patch name and says which missed', () => {
    const torrent = {} as Torrent
    recordPatch(torrent, 'batching', true)
    recordPatch(torrent, 'batching', true)
    recordPatch(torrent, 'deep-channel', true)
    recordPatch(torrent, 'deep-channel', false)
    recordPatch(torrent, 'endgame', false)
    const report = engineReport(torrent)
    expect(report.patches.batching).toEqual({ applied: 2, missed: 0 })
    expect(missedPatches(report).sort()).toEqual(['deep-channel', 'endgame'])
    const states = Object.fromEntries(patchRows(report).map((r) => [r.name, r.state]))
    expect(states).toMatchObject({
      batching: 'active',
      'deep-channel': 'partly',
      endgame: 'stock',
      'bounded-start': 'unused',
    })
    expect(patchRows(report).map((r) => r.name)).toEqual(expect.arrayContaining([...WIRE_PATCHES]))
  })

  it('warns once per patch name, not once per object', () => {
    const warn = console.warn
    const seen: unknown[] = []
    console.warn = (...args: unknown[]) => seen.push(args[0])
    try {
      for (let i = 0; i < 5; i++) recordPatch({} as Torrent, 'request-merging', false)
    } finally {
      console.warn = warn
    }
    expect(seen).toEqual([
      "monsoon engine: patch 'request-merging' did not apply; that part runs stock",
    ])
  })
})
