import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CANDIDATE_RETRY_MS,
  CANDIDATE_TTL_MS,
  MAX_MESH_CANDIDATES,
} from '../../../shared/mesh/limits.ts'
import { Candidates } from './candidates.ts'

describe('Candidates', () => {
  it('is due at once, then again only CANDIDATE_RETRY_MS after an attempt', () => {
    const candidates = new Candidates()
    candidates.add('h', 'x', 'v', 'pex', 0)
    const [c] = candidates.due(0)
    expect(c).toMatchObject({ infoHash: 'h', peerId: 'x', via: 'v', source: 'pex' })
    candidates.tried(c, 0)
    expect(candidates.due(CANDIDATE_RETRY_MS - 1)).toEqual([])
    expect(candidates.due(CANDIDATE_RETRY_MS)).toHaveLength(1)
  })

  it('forgets a candidate CANDIDATE_TTL_MS after it was last named', () => {
    const candidates = new Candidates()
    candidates.add('h', 'x', 'v', 'pex', 0)
    candidates.add('h', 'x', 'v', 'pex', 1000)
    expect(candidates.due(1000 + CANDIDATE_TTL_MS - 1)).toHaveLength(1)
    expect(candidates.due(1000 + CANDIDATE_TTL_MS)).toEqual([])
    expect(candidates.size).toBe(0)
  })

  it('keeps a lookup answer’s duty to offer when PEX names the peer again', () => {
    const candidates = new Candidates()
    candidates.add('h', 'x', 'v', 'lookup', 0)
    candidates.add('h', 'x', 'v', 'pex', 1)
    expect(candidates.due(1)[0].source).toBe('lookup')
  })

  it('drops a candidate only for the neighbour that named it, and all of a gone peer', () => {
    const candidates = new Candidates()
    candidates.add('h', 'x', 'v', 'pex', 0)
    candidates.drop('h', 'x', 'w')
    expect(candidates.size).toBe(1)
    candidates.drop('h', 'x', 'v')
    expect(candidates.size).toBe(0)
    candidates.add('h', 'x', 'v', 'pex', 0)
    candidates.add('h', 'v', 'y', 'pex', 0)
    candidates.add('h', 'z', 'y', 'pex', 0)
    candidates.forgetPeer('v')
    expect(candidates.due(0).map((c) => c.peerId)).toEqual(['z'])
  })

  it('never holds more than MAX_MESH_CANDIDATES', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 * MAX_MESH_CANDIDATES }), (n) => {
        const candidates = new Candidates()
        for (let i = 0; i < n; i++) candidates.add('h', `p${i}`, 'v', 'pex', 0)
        expect(candidates.size).toBe(Math.min(n, MAX_MESH_CANDIDATES))
      }),
      { numRuns: 10 },
    )
  })
})
