// Open connections per address (issue 20: 4,296 half-sent requests from one address stopped
// /health). Counted at accept on the one port, whatever the connection carries (HTTP, TLS,
// WebSocket, TURN), and given back when it closes; one over the cap is closed at once and
// counted as a refusal. The total is node's own net.Server maxConnections, whose 'drop'
// events are counted here too. Only addresses with open connections are kept, so the map
// is bounded by the total.

import type { Socket } from 'node:net'
import type { MetricFamily } from '../metrics.ts'
import type { Refusals } from '../refusals.ts'
import { addressKey } from '../tracker/holdings.ts'
import { clientIp } from '../tracker/tracker.ts'
import type { RequestRate } from './request-rate.ts'

export interface ConnectionBudgetOptions {
  /** Connections one address may hold open (Infinity: no cap, e.g. behind a trusted proxy). */
  maxPerAddress: number
  /** Connections open at once in all (net.Server maxConnections). */
  maxTotal: number
  refusals: Refusals
  /** Addresses over their request rate have new connections closed at accept. */
  requestRate?: RequestRate
}

/** The key a connection from `remoteAddress` counts under (its /64 for IPv6). */
export function connectionKey(remoteAddress: string | undefined): string {
  return addressKey(clientIp(remoteAddress ?? '', undefined, false))
}

export class ConnectionBudget {
  readonly options: ConnectionBudgetOptions
  readonly #open = new Map<string, number>()
  #total = 0

  constructor(options: ConnectionBudgetOptions) {
    if (!(options.maxPerAddress > 0)) throw new RangeError('maxPerAddress must be positive')
    if (!(options.maxTotal > 0)) throw new RangeError('maxTotal must be positive')
    this.options = options
  }

  /** Connections open from the address `key`. */
  openFrom(key: string): number {
    return this.#open.get(key) ?? 0
  }

  /** Connections open (admitted and not yet closed). */
  get total(): number {
    return this.#total
  }

  /** Addresses with a connection open. */
  get addresses(): number {
    return this.#open.size
  }

  /** Counts `socket` against its address until it closes; false (and counted as a refusal)
   * when the address already holds its share: the caller closes it. */
  admit(socket: Socket): boolean {
    const key = connectionKey(socket.remoteAddress)
    if (this.options.requestRate?.penalized(key)) return false
    const open = this.openFrom(key)
    if (open >= this.options.maxPerAddress) {
      this.options.refusals.refuse('connections-per-address', key, { open })
      return false
    }
    this.#open.set(key, open + 1)
    this.#total++
    socket.once('close', () => this.#closed(key))
    return true
  }

  /** A connection node closed at accept because maxTotal were open. */
  dropped(remoteAddress: string | undefined): void {
    this.options.refusals.refuse('connections-full', connectionKey(remoteAddress), {
      max: this.options.maxTotal,
    })
  }

  /** `monsoon_connections_open`: connections on the port, and the addresses they come from. */
  metrics(): MetricFamily[] {
    return [
      {
        name: 'monsoon_connections_open',
        help: 'Connections open on the port (HTTP, TLS, WebSocket, TURN over TCP).',
        type: 'gauge',
        samples: [{ value: this.#total }],
      },
      {
        name: 'monsoon_connection_addresses',
        help: 'Client addresses (IPv6: /64s) with a connection open.',
        type: 'gauge',
        samples: [{ value: this.#open.size }],
      },
    ]
  }

  #closed(key: string): void {
    this.#total--
    const open = this.openFrom(key) - 1
    if (open > 0) this.#open.set(key, open)
    else this.#open.delete(key)
  }
}
