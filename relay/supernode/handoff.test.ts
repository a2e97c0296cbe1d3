import { describe, expect, it } from 'vitest'
import { handoffTargets } from './handoff.ts'

describe('handoffTargets', () => {
  it('sends nothing while the owners stay the same', () => {
    expect(handoffTargets(['a', 'b'], ['b', 'a'], 'a')).toEqual([])
  })

  it('sends to every new owner when the owners change, those that held it too', () => {
    // A promotion: E takes A's place; B held the swarm already, but may have missed a copy.
    expect(handoffTargets(['a', 'b'], ['e', 'b'], 'a')).toEqual(['e', 'b'])
    // This relay stays an owner beside a newcomer: both others get it.
    expect(handoffTargets(['a', 'b'], ['a', 'e'], 'a')).toEqual(['e'])
    expect(handoffTargets(['a', 'b'], ['e', 'a'], 'b')).toEqual(['e', 'a'])
  })

  it('sends a swarm this relay held without owning it to all its owners', () => {
    expect(handoffTargets(['b', 'c'], ['b', 'c'], 'a')).toEqual(['b', 'c'])
  })

  it('sends nothing when this relay is the only owner', () => {
    expect(handoffTargets([], ['a'], 'a')).toEqual([])
  })
})
