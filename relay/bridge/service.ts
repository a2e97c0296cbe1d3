// The bridge as the relay runs it (server.ts): built from the config, announcing each hash to
// its owners' trackers (placement), asked by classic clients' announces, and its routes.
// Without --bridge it is only the routes, answering that this relay does not bridge. The
// client starts once the relay listens (loading WebTorrent takes a moment): requests that
// come first wait for it (routes.ts).

import type { Hono } from 'hono'
import type { RelayConfig } from '../config.ts'
import type { Logger } from '../log.ts'
import type { Refusals } from '../refusals.ts'
import type { Supernode } from '../supernode/supernode.ts'
import { requestInfoHashes } from '../tracker/http.ts'
import type { Tracker } from '../tracker/tracker.ts'
import { Bridge } from './bridge.ts'
import { bridgeRoutes } from './routes.ts'
import { ownerTrackers, selfOrigin } from './trackers.ts'

export interface RelayBridge {
  readonly bridge: Bridge | null
  readonly routes: Hono
  /** Starts the client once the relay listens on `port`. */
  start(port: number): Promise<void>
  /** A classic client's /announce request target (before it is answered). */
  onAnnounce(url: string): void
  close(): Promise<void>
}

export interface RelayBridgeDeps {
  log: Logger
  tracker: Tracker
  supernode: Supernode
  refusals?: Refusals
}

export function createRelayBridge(
  config: RelayConfig,
  { log, tracker, supernode, refusals }: RelayBridgeDeps,
): RelayBridge {
  let state: 'starting' | 'running' | 'closed' = 'starting'
  let started = () => {}
  const starting = new Promise<void>((resolve) => (started = resolve))
  /** True once running; waits up to `waitMs` while starting. */
  const running = async (waitMs: number): Promise<boolean> => {
    if (state === 'starting' && waitMs > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([
        starting,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs))),
      ])
      clearTimeout(timer)
    }
    return state === 'running'
  }
  const routeOptions = {
    localNetwork: config.localNetwork,
    maxRate: config.bridgeMaxRate,
    trustProxy: config.trustProxy,
    perAddress: config.bridgeTorrentsPerAddress,
    refusals,
    running,
  }
  if (!config.bridge) {
    return {
      bridge: null,
      routes: bridgeRoutes(null, routeOptions),
      start: async () => undefined,
      onAnnounce: () => undefined,
      close: async () => undefined,
    }
  }
  let origin = config.publicUrl
  const specific = config.host !== '0.0.0.0' && config.host !== '::'
  const bridge = new Bridge(
    {
      dataDir: config.dataDir,
      limits: {
        maxTorrents: config.bridgeMaxTorrents,
        maxDiskBytes: config.bridgeMaxDisk,
        maxMemoryBytes: config.bridgeMaxMemory,
      },
      maxRate: config.bridgeMaxRate,
      port: config.bridgePort,
      dht: config.bridgeDht,
      lsd: config.bridgeLsd,
      // The bridge runs where the relay does, reachable as it is: STUN at most. TURN names
      // need credentials minted per browser (relay/ice/), never passed bare.
      iceServers: config.iceServers.filter((url) => /^stuns?:/.test(url)),
      ...(specific && { bindAddress: config.host }),
    },
    {
      log,
      trackers: (infoHash) =>
        ownerTrackers(supernode.placement.of(infoHash), supernode.directory.selfId, origin),
      seeders: (infoHash) => {
        const swarm = tracker.swarms.get(infoHash)
        if (!swarm) return null
        return { tcp: swarm.tcp.seeders.length, rtc: swarm.rtc.seeders.length }
      },
    },
  )
  return {
    bridge,
    routes: bridgeRoutes(bridge, routeOptions),
    async start(port) {
      origin = selfOrigin(config.publicUrl, config.host, port)
      const peerPort = await bridge.start()
      if (state === 'starting') state = 'running'
      started()
      log.info('bridge listening', { port: peerPort, tracker: origin })
    },
    onAnnounce(url) {
      const [infoHash] = requestInfoHashes(url)
      if (infoHash) bridge.onClassicAnnounce(infoHash)
    },
    close: () => {
      state = 'closed'
      started()
      return bridge.close()
    },
  }
}
