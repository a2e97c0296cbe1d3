// The supernode side of the relay as it runs (ARCHITECTURE.md, "Supernodes, lookups and
// load"): its signed record, the tracking bandwidth meter behind the record's load, and the
// HTTP routes. server.ts creates it with the node identity, starts it once listening and
// closes it on shutdown.

import type { Hono } from 'hono'
import type { NodeIdentity } from '../../shared/identity.ts'
import type { RelayConfig } from '../config.ts'
import type { Tracker } from '../tracker/tracker.ts'
import { BandwidthMeter } from './bandwidth.ts'
import { supernodeRoutes } from './routes.ts'
import { SelfRecord } from './self-record.ts'

export interface Supernode {
  readonly self: SelfRecord
  /** Counts tracking bytes; the server adds to it. */
  readonly meter: BandwidthMeter
  readonly routes: Hono
  start(): void
  close(): void
}

export function createSupernode(
  config: RelayConfig,
  identity: NodeIdentity,
  tracker: Tracker,
): Supernode {
  const meter = new BandwidthMeter()
  const self = new SelfRecord({
    identity,
    // Read at signing: the default names port 0 until the relay listens. config.ts has
    // checked that a given --public-url is an origin.
    urls: () => [config.publicUrl],
    role: config.role,
    capacity: {
      maxHashes: config.maxTorrents,
      maxPeers: config.maxPeers,
      bandwidth: config.maxBandwidth,
    },
    load: () => ({
      hashes: tracker.swarms.size,
      peers: tracker.peerCount,
      bandwidth: meter.bytesPerSecond,
    }),
  })
  let ticker: ReturnType<typeof setInterval> | undefined
  return {
    self,
    meter,
    routes: supernodeRoutes({ self }),
    start() {
      ticker ??= setInterval(() => meter.tick(), 1000)
      ticker.unref()
    },
    close() {
      clearInterval(ticker)
      ticker = undefined
    },
  }
}
