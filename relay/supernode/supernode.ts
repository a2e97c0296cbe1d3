// The supernode side of the relay as it runs (ARCHITECTURE.md, "Supernodes, lookups and
// load"): its signed record, the tracking bandwidth meter behind the record's load, the
// directory of known supernodes, the exchange that fills it, where each hash is tracked
// (placement), the announce proxy for classic clients, swarm handoff between owners, the
// election (promotion, rotation, demotion), and the HTTP routes. server.ts creates it with
// the node identity, starts it once listening and closes it on shutdown.

import type { Hono } from 'hono'
import type { NodeIdentity } from '../../shared/identity.ts'
import { RateLimiter } from '../budget/quotas.ts'
import { createFastVerifier } from '../signatures/verify.ts'
import type { RelayConfig } from '../config.ts'
import { LEAVE_PUSH_BUDGET_MS, MAX_RATE_BUCKETS, SUPERNODE_PUSHES_PER_MINUTE } from '../limits.ts'
import type { Logger } from '../log.ts'
import type { PeerTransport } from '../peering/peer-fetch.ts'
import { quietRefusals, type Refusals } from '../refusals.ts'
import type { Tracker } from '../tracker/tracker.ts'
import { BandwidthMeter } from './bandwidth.ts'
import { SupernodeDirectory } from './directory.ts'
import { SupernodeExchange } from './exchange.ts'
import { OpenSslSigner } from '../openssl-signer.ts'
import { AnnounceProxy } from './announce-proxy.ts'
import { Election } from './election.ts'
import { Handoff } from './handoff.ts'
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
  readonly proxy: AnnounceProxy
  readonly handoff: Handoff
  readonly election: Election
  readonly routes: Hono
  start(): void
  /** Stops the exchange; a supernode then leaves gracefully (demote, push, hand off). */
  close(): Promise<void>
}

export function createSupernode(
  config: RelayConfig,
  identity: NodeIdentity,
  tracker: Tracker,
  log: Logger,
  /** How requests to other relays travel (relay/sealed/transport.ts). */
  transport: PeerTransport,
  /** Bytes/s of browsers' data the relay's TURN server carried lately (relay/turn/); the
   * record carries it, beside --turn-max-bandwidth, when TURN is on. */
  relayed: () => number = () => 0,
  /** Where refusals for budgets and abuse are counted and said (refusals.ts). */
  refusals: Refusals = quietRefusals(),
): Supernode {
  const meter = new BandwidthMeter()
  const signer = new OpenSslSigner(identity.secretKey)
  const self = new SelfRecord({
    identity,
    sign: (message) => signer.sign(message),
    // Read at signing: the default names port 0 until the relay listens. config.ts has
    // checked that a given --public-url is an origin.
    urls: () => [config.publicUrl],
    role: config.role,
    capacity: {
      maxHashes: config.maxTorrents,
      maxPeers: config.maxPeers,
      bandwidth: config.maxBandwidth,
      ...(config.turn && { relay: config.turnMaxBandwidth }),
    },
    load: () => ({
      hashes: tracker.swarms.size,
      peers: tracker.peerCount,
      bandwidth: meter.bytesPerSecond,
      ...(config.turn && { relay: Math.round(relayed()) }),
    }),
  })
  const hosts = new HostCache({ localNetwork: config.localNetwork })
  const peers = config.peers.filter((url) => url !== config.publicUrl)
  for (const peer of peers) hosts.seen(peer, 'config', Date.now())
  const verify = createFastVerifier()
  const mayContact = (url: string) => hosts.check(url).ok
  // The seed of a new network (a supernode that joins no one) is its own root; a relay that
  // joins takes the roots of the relays it was told to join (shared/admission.ts).
  const joins =
    peers.length > 0 || config.dohEndpoints.length > 0 || config.bootstrapUrls.length > 0
  const seed = config.role === 'supernode' && !joins
  const directory = new SupernodeDirectory({
    self: () => self.current(),
    selfId: identity.id,
    roots: seed ? [identity.id] : [],
    maxPerPrefix: config.maxSupernodesPerPrefix,
    verify,
    onStored: (record, source) => {
      for (const url of record.urls) hosts.seen(url, source, Date.now())
    },
  })
  const exchange = new SupernodeExchange(
    {
      directory,
      peers,
      log,
      transport,
      onContact: (url, ok) => hosts.contacted(url, ok, Date.now()),
      mayContact,
    },
    { intervalMs: config.supernodePollInterval * 1000 },
  )
  const handoff = new Handoff({ tracker, directory, signer, verify, log, transport, mayContact })
  const rebalance = () => {
    void handoff.rebalance().catch((err: unknown) => {
      log.warn('handoff round failed', { error: String(err) })
    })
  }
  const election = new Election(
    {
      self,
      directory,
      signer,
      verify,
      log,
      transport,
      mayContact,
      publish: (record) => exchange.publish(record),
      onRoleChange: rebalance,
      refusals,
    },
    {
      highWatermark: config.highWatermark,
      lowWatermark: config.lowWatermark,
      minSupernodes: config.minSupernodes,
      probationSeconds: config.admissionProbation,
      rotationSeconds: config.rotationInterval,
      // A few exchange rounds: what the network needs to learn a role change.
      cooldownSeconds: Math.max(10, 3 * config.supernodePollInterval),
    },
  )
  const proxy = new AnnounceProxy({ directory, signer, log, transport, mayContact })
  const pushLimiter = new RateLimiter({
    perMinute: SUPERNODE_PUSHES_PER_MINUTE,
    maxKeys: MAX_RATE_BUCKETS,
  })
  const timers: ReturnType<typeof setInterval>[] = []
  const every = (ms: number, fn: () => void) => {
    const timer = setInterval(fn, ms)
    timer.unref()
    timers.push(timer)
  }
  return {
    self,
    meter,
    directory,
    exchange,
    hosts,
    placement: new Placement(directory),
    proxy,
    handoff,
    election,
    routes: supernodeRoutes({
      self,
      directory,
      hosts,
      tracker,
      pushLimiter,
      handoff,
      election,
      refusals,
      trustProxy: config.trustProxy,
    }),
    start() {
      if (timers.length) return
      handoff.init(Math.floor(Date.now() / 1000))
      every(1000, () => meter.tick())
      // The owner set is looked at every second (cheap when unchanged: handoff.ts).
      every(1000, rebalance)
      every(Math.max(1, config.supernodePollInterval) * 1000, () => void election.tick())
      exchange.start()
    },
    async close() {
      for (const timer of timers.splice(0)) clearInterval(timer)
      await exchange.stop()
      proxy.close()
      if (self.role !== 'supernode') return
      // Graceful leave: our own signed demotion, so owners drop us now, not after missed
      // polls, and every swarm we hold to its owners among those left (who take a handoff
      // from any supernode they know, so the two go out together, within one budget).
      const record = self.demote()
      directory.changed()
      const [told, batches] = await Promise.all([
        exchange.publish(record),
        handoff.handOffAll(LEAVE_PUSH_BUDGET_MS),
      ])
      log.info('supernode left', { id: record.id, seq: record.seq, told, handoffs: batches })
    },
  }
}
