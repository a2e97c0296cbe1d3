// Saying no, out loud (issue 20, "Say it"): every request, connection or record the relay
// refuses for a budget or for abuse is counted here by reason, for /metrics
// (`monsoon_refusals_total{reason="…"}`), and logged at `warn` at most once per source per
// reason per minute, with how many were refused since the last line. An operator watching
// the log sees an attack start and who it comes from; the attack cannot turn into a log
// flood: lines are also capped per minute in total, and the map of sources last warned
// about is bounded (least recently warned dropped first).
//
// Reasons are a closed list so the metric's labels stay bounded whatever the network sends.

import { BoundedMap } from '../shared/bounded-map.ts'
import type { Logger } from './log.ts'
import type { MetricFamily } from './metrics.ts'

export const REFUSAL_REASONS = [
  // Connections and HTTP (server.ts, transport/).
  'connections-per-address',
  'request-rate',
  'body-stalled',
  'body-too-large',
  'response-stalled',
  'connections-full',
  'request-stalled',
  'request-budget',
  'response-budget',
  // A socket worker's primary left too many tracker requests unanswered (transport/).
  'socket-worker-busy',
  // The tracker (tracker/).
  'torrents-per-address',
  'peers-per-address',
  'tracker-full',
  'websockets-per-address',
  'websocket-messages',
  'peer-id-taken',
  'signal-not-member',
  // Fan-out to other relays (supernode/announce-proxy.ts, catalog stats).
  'fanout-busy',
  // Sealed sessions (sealed/).
  'sealed-sessions-per-address',
  'sealed-sessions-full',
  // Supernodes (supernode/).
  'supernode-push-rate',
  'supernode-prefix-full',
  'supernode-source-quota',
  // The catalog (catalog/).
  'publishers-per-address',
  'catalog-bytes-per-address',
  'catalog-full',
  'publish-rate',
  'publisher-full',
  'peer-page-invalid',
  'catalog-page-builds',
  'catalog-pages-busy',
  // The bridge (bridge/).
  'bridge-slots-per-address',
  // DNS (dns/).
  'dns-tcp-slow',
  'dns-tcp-full',
  'dns-rate',
] as const

export type RefusalReason = (typeof REFUSAL_REASONS)[number]

export interface RefusalsOptions {
  /** A source is warned about once per reason per this many ms. */
  warnIntervalMs: number
  /** Warn lines written per interval in total, whatever the number of sources. */
  maxWarnsPerInterval: number
  /** (reason, source) pairs remembered; the least recently warned is dropped first. */
  maxSources: number
}

interface Warned {
  atMs: number
  /** Refusals since the last line about this pair. */
  since: number
}

export class Refusals {
  readonly options: RefusalsOptions
  readonly #log: Logger
  readonly #counts = new Map<RefusalReason, number>()
  readonly #warned: BoundedMap<string, Warned>
  #windowStartMs = -Infinity
  #windowWarns = 0
  #elided = 0

  constructor(log: Logger, options: Partial<RefusalsOptions> = {}) {
    this.#log = log
    this.options = {
      warnIntervalMs: 60_000,
      maxWarnsPerInterval: 100,
      maxSources: 10_000,
      ...options,
    }
    this.#warned = new BoundedMap({ maxSize: this.options.maxSources, order: 'oldest' })
  }

  /** Counts one refusal of `source` (an address, a relay URL, a key) for `reason`, and warns
   * if this pair has not been warned about within the interval. `fields` go on the line. */
  refuse(
    reason: RefusalReason,
    source: string,
    fields: Record<string, unknown> = {},
    nowMs = Date.now(),
  ): void {
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1)
    const key = `${reason} ${source}`
    const warned = this.#warned.get(key)
    if (warned && nowMs - warned.atMs < this.options.warnIntervalMs) {
      warned.since++
      return
    }
    if (nowMs - this.#windowStartMs >= this.options.warnIntervalMs) {
      if (this.#elided > 0) {
        this.#log.warn('refusal lines elided', { count: this.#elided })
      }
      this.#windowStartMs = nowMs
      this.#windowWarns = 0
      this.#elided = 0
    }
    if (this.#windowWarns >= this.options.maxWarnsPerInterval) {
      this.#elided++
      return
    }
    this.#windowWarns++
    const refused = (warned?.since ?? 0) + 1
    this.#warned.set(key, { atMs: nowMs, since: 0 })
    this.#log.warn('refused', { reason, source, refused, ...fields })
  }

  /** Refusals counted for `reason` since start. */
  count(reason: RefusalReason): number {
    return this.#counts.get(reason) ?? 0
  }

  /** `monsoon_refusals_total` by reason, every reason listed (0 until it happens). */
  metrics(): MetricFamily[] {
    return [
      {
        name: 'monsoon_refusals_total',
        help: 'Requests, connections and records refused for a budget or for abuse, by reason.',
        type: 'counter',
        samples: REFUSAL_REASONS.map((reason) => ({
          labels: { reason },
          value: this.count(reason),
        })),
      },
    ]
  }
}

/** A Refusals that counts but never logs: for unit tests and tools. */
export function quietRefusals(): Refusals {
  const quiet = () => {}
  return new Refusals({ debug: quiet, info: quiet, warn: quiet, error: quiet })
}
