// Counters for /metrics: plain numbers the server increments, read as they are.

import type { ClientTransport } from './allocations.ts'
import type { RefusalReason } from './requests.ts'

export interface TurnStats {
  bindingRequests: number
  allocationsActive: Record<ClientTransport, number>
  allocationsMade: number
  /** Payload bytes relayed client → peer, and peer → client. */
  bytesToPeers: number
  bytesToClients: number
  droppedForBandwidth: number
  refused: Record<RefusalReason, number>
}

export function emptyStats(): TurnStats {
  return {
    bindingRequests: 0,
    allocationsActive: { udp: 0, tcp: 0, tls: 0 },
    allocationsMade: 0,
    bytesToPeers: 0,
    bytesToClients: 0,
    droppedForBandwidth: 0,
    refused: {
      auth: 0,
      'quota-client': 0,
      'quota-total': 0,
      'forbidden-address': 0,
      'not-signalled': 0,
      'bad-request': 0,
      'unknown-attribute': 0,
      rate: 0,
    },
  }
}
