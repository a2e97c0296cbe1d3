import { describe, expect, it } from 'vitest'
import * as L from '../../../shared/mesh/limits.ts'
import { newRemote, newWire } from './remote.ts'
import type { TokenBucket } from '../../../shared/token-bucket.ts'
import type { Neighbour } from './types.ts'

const burst = (bucket: TokenBucket, now: number) => {
  let taken = 0
  while (bucket.take(1, now)) taken++
  return taken
}

describe('remote browsers and wires', () => {
  it('start with a full budget of each kind, as limits.ts says', () => {
    const remote = newRemote(5)
    expect(remote.row).toEqual({
      since: 5,
      pexPeers: 0,
      introductionsReceived: 0,
      introductionsMade: 0,
      recordsStored: 0,
    })
    expect(burst(remote.messages, 5)).toBe(L.MESSAGES_BURST_PER_NEIGHBOUR)
    expect(burst(remote.lookups, 5)).toBe(L.LOOKUPS_ANSWERED_BURST)
    expect(burst(remote.unknownPeers, 5)).toBe(L.UNKNOWN_PEERS_PER_MINUTE)
    const wire = newWire({} as Neighbour, 5)
    expect(burst(wire.pexBudget, 5)).toBe(L.PEX_BURST)
    expect(wire.pexBudget.take(1, 5 + L.PEX_EVERY_MS)).toBe(true)
  })
})
