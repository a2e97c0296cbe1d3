// The supernode side of the relay as it runs (ARCHITECTURE.md, "Supernodes, lookups and
// load"): its signed record, the tracking bandwidth meter behind the record's load, the
// directory of known supernodes, the exchange that fills it, and the HTTP routes. server.ts
// creates it with the node identity, starts it once listening and closes it on shutdown.

import type { Hono } from 'hono'
import type { NodeIdentity } from '../../shared/identity.ts'
import { RateLimiter } from '../catalog/quotas.ts'
import { createFastVerifier } from '../catalog/verify.ts'
import type { RelayConfig } from '../config.ts'
import { MAX_RATE_BUCKETS, SUPERNODE_PUSHES_PER_MINUTE } from '../limits.ts'
import type { Logger } from '../log.ts'
import type { Tracker } from '../tracker/tracker.ts'
import { BandwidthMeter } from './bandwidth.ts'
import { SupernodeDirectory } from './directory.ts'
import { SupernodeExchange } from './exchange.ts'
import { HostCache } from './host-cache.ts'
import { Placement } from './placement.ts'
import { supernodeRoutes } from './routes.ts'
import { SelfRecord } from './self-record.ts'

export interface Supernode {
  readonly self: SelfRecord
  /** Counts tracking bytes; the server adds to it. */
  readonly meter: BandwidthMeter
  readonly directory: SupernodeDirectory
  readonly exchange: SupernodeExchange
  readonly hosts: HostCache
  /** Which relays track an info hash (the tracker front ends ask it). */
  readonly placement: Placement
  readonly routes: Hono
  start(): void
  /** Stops the exchange; a supernode then leaves gracefully (demote, push, log). */
  close(): Promise<void>
}

export function createSupernode(
  config: RelayConfig,
  identity: NodeIdentity,
  tracker: Tracker,
  log: Logger,
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
  const hosts = new HostCache({ localNetwork: config.localNetwork })
  const peers = config.peers.filter((url) => url !== config.publicUrl)
  for (const peer of peers) hosts.seen(peer, 'config', Date.now())
  const directory = new SupernodeDirectory({
    self: () => self.current(),
    verify: createFastVerifier(),
    onStored: (record, source) => {
      for (const url of record.urls) hosts.seen(url, source, Date.now())
    },
  })
  const exchange = new SupernodeExchange(
    {
      directory,
      peers,
      log,
      onContact: (url, ok) => hosts.contacted(url, ok, Date.now()),
      mayContact: (url) => hosts.check(url).ok,
    },
    { intervalMs: config.supernodePollInterval * 1000 },
  )
  const pushLimiter = new RateLimiter({
    perMinute: SUPERNODE_PUSHES_PER_MINUTE,
    maxKeys: MAX_RATE_BUCKETS,
  })
  let ticker: ReturnType<typeof setInterval> | undefined
  return {
    self,
    meter,
    directory,
    exchange,
    hosts,
    placement: new Placement(directory),
    routes: supernodeRoutes({
      self,
      directory,
      hosts,
      tracker,
      pushLimiter,
      trustProxy: config.trustProxy,
    }),
    start() {
      ticker ??= setInterval(() => meter.tick(), 1000)
      ticker.unref()
      exchange.start()
    },
    async close() {
      clearInterval(ticker)
      ticker = undefined
      await exchange.stop()
      if (self.role !== 'supernode') return
      // Graceful leave: our own signed demotion, so owners drop us now, not after missed polls.
      const record = self.demote()
      const told = await exchange.leave(record)
      log.info('supernode left', { id: record.id, seq: record.seq, told })
    },
  }
}
