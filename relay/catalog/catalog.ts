// The catalog as the relay runs it: the store in the data directory, the fast verifier,
// quotas, the HTTP routes, a puller per --peer and the gossip pusher. server.ts creates it,
// starts it once listening and closes it on shutdown.

import { join } from 'node:path'
import type { Hono } from 'hono'
import type { RelayConfig } from '../config.ts'
import {
  CATALOG_BYTES_PER_ADDRESS_PER_MINUTE,
  MAX_RATE_BUCKETS,
  PEER_PULL_BYTES_PER_LISTING,
} from '../limits.ts'
import type { Logger } from '../log.ts'
import type { PeerTransport } from '../peering/peer-fetch.ts'
import type { Refusals } from '../refusals.ts'
import type { ScrapeEntry, Tracker } from '../tracker/tracker.ts'
import { ListingPublisher } from './publish.ts'
import { Gossip } from './push.ts'
import { RateLimiter } from '../budget/quotas.ts'
import { catalogRoutes } from './routes.ts'
import { CatalogStore } from './store.ts'
import { PeerPuller } from './sync.ts'
import { createFastVerifier } from '../signatures/verify.ts'
import { VerifyPool, defaultPoolSize } from './verify-pool.ts'

export interface Catalog {
  readonly store: CatalogStore
  readonly routes: Hono
  readonly pullers: readonly PeerPuller[]
  readonly gossip: Gossip
  start(): void
  close(): Promise<void>
}

export function createCatalog(
  config: RelayConfig,
  tracker: Tracker,
  log: Logger,
  refusals: Refusals,
  /** How pulls and pushes to peer relays travel (relay/sealed/transport.ts). */
  transport: PeerTransport,
  liveScrape?: (hashes: string[]) => Promise<ScrapeEntry[]>,
): Catalog {
  const store = new CatalogStore(join(config.dataDir, 'catalog.sqlite'), {
    maxListingsPerPublisher: config.maxListingsPerPublisher,
    maxCatalogBytes: config.maxCatalogBytes,
  })
  const verify = createFastVerifier()
  const peers = config.peers.filter((url) => url !== config.publicUrl)
  const gossip = new Gossip(peers, { log, transport })
  const publisher = new ListingPublisher({
    store,
    verify,
    perAddress: new RateLimiter({
      perMinute: config.publishRatePerAddress,
      maxKeys: MAX_RATE_BUCKETS,
    }),
    perPublisher: new RateLimiter({
      perMinute: config.publishRatePerPublisher,
      maxKeys: MAX_RATE_BUCKETS,
    }),
    // An hour's worth at once, refilled over the hour.
    newPublishersPerAddress: new RateLimiter({
      perMinute: config.newPublishersPerAddress / 60,
      burst: config.newPublishersPerAddress,
      maxKeys: MAX_RATE_BUCKETS,
    }),
    bytesPerAddress: new RateLimiter({
      perMinute: CATALOG_BYTES_PER_ADDRESS_PER_MINUTE,
      maxKeys: MAX_RATE_BUCKETS,
    }),
    refusals,
    onStored: (listings) => gossip.push(listings),
  })
  // Pulled pages are verified on worker threads (only started when there are peers).
  const pool = new VerifyPool(peers.length > 0 ? defaultPoolSize() : 0, verify)
  const pullers = peers.map(
    (peer) =>
      new PeerPuller(
        peer,
        { store, pool, log, refusals, transport },
        {
          pollIntervalMs: config.peerPollInterval * 1000,
          listingsPerMinute: config.peerPullRate,
          bytesPerMinute: config.peerPullRate * PEER_PULL_BYTES_PER_LISTING,
        },
      ),
  )
  const routes = catalogRoutes({
    store,
    publisher,
    tracker,
    publicUrl: () => config.publicUrl,
    peers,
    trustProxy: config.trustProxy,
    liveScrape,
    refusals,
    log,
  })
  log.info('catalog open', {
    listings: store.count(),
    bytes: store.bytes(),
    latest: store.latest(),
    peers,
  })
  return {
    store,
    routes,
    pullers,
    gossip,
    start: () => pullers.forEach((p) => p.start()),
    async close() {
      await Promise.all([gossip.stop(), ...pullers.map((p) => p.stop())])
      await pool.close()
      store.close()
    },
  }
}
