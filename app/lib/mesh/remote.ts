// What the mesh keeps of each remote browser and each of its wires: the counts the Network view
// shows, and the budgets that bound what it may make us do (shared/mesh/limits.ts). A remote
// browser is one peer id over every swarm we share with it; budgets are per peer id, so more
// wires buy it no more (PEX alone is per wire: each swarm has its own).

import * as L from '../../../shared/mesh/limits.ts'
import { TokenBucket, type TokenRate } from '../../../shared/token-bucket.ts'
import type { Neighbour, NeighbourRow } from './types.ts'

/** One wire that speaks the mesh. */
export interface Wire {
  neighbour: Neighbour
  /** Peer ids our PEX told it of, and when we last sent it PEX. */
  pexSent: Set<string>
  pexAt: number
  /** PEX it may send us. */
  pexBudget: TokenBucket
}

/** One remote browser, over all the swarms we share with it. */
export interface Remote {
  /** Its wires, by info hash. */
  wires: Map<string, Wire>
  row: Omit<NeighbourRow, 'peerId' | 'swarms'>
  messages: TokenBucket
  lookups: TokenBucket
  unknownPeers: TokenBucket
}

const perMinute = (tokens: number, burst = tokens): TokenRate => ({
  tokens,
  everyMs: 60_000,
  burst,
})

export function newRemote(now: number): Remote {
  const messages = {
    tokens: L.MESSAGES_PER_SECOND_PER_NEIGHBOUR,
    everyMs: 1000,
    burst: L.MESSAGES_BURST_PER_NEIGHBOUR,
  }
  return {
    wires: new Map(),
    row: {
      since: now,
      pexPeers: 0,
      introductionsReceived: 0,
      introductionsMade: 0,
      recordsStored: 0,
    },
    messages: new TokenBucket(messages, now),
    lookups: new TokenBucket(
      perMinute(L.LOOKUPS_ANSWERED_PER_MINUTE, L.LOOKUPS_ANSWERED_BURST),
      now,
    ),
    unknownPeers: new TokenBucket(perMinute(L.UNKNOWN_PEERS_PER_MINUTE), now),
  }
}

export function newWire(neighbour: Neighbour, now: number): Wire {
  return {
    neighbour,
    pexSent: new Set(),
    pexAt: now,
    pexBudget: new TokenBucket({ tokens: 1, everyMs: L.PEX_EVERY_MS, burst: L.PEX_BURST }, now),
  }
}
