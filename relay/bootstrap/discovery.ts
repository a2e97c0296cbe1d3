// Discovery as the relay runs it (ARCHITECTURE.md, "Discovery"): the zone it answers for
// (DoH on its port, and plain DNS on --dns-port), its bootstrap list, and the bootstrap
// loop that finds other relays through the host cache, DNS and lists. server.ts mounts the
// routes, starts it once listening and closes it on shutdown.

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Hono } from 'hono'
import type { RelayConfig } from '../config.ts'
import type { Logger } from '../log.ts'
import type { PeerTransport } from '../peering/peer-fetch.ts'
import type { Refusals } from '../refusals.ts'
import { zoneSource } from '../dns/authority.ts'
import { dohHandler, noZoneHandler } from '../dns/doh.ts'
import { h2cDoh } from '../dns/h2c.ts'
import { startDnsServer, type DnsServer } from '../dns/server.ts'
import type { Supernode } from '../supernode/supernode.ts'
import { Bootstrap } from './bootstrap.ts'
import { discoveryRoutes } from './routes.ts'

export interface Discovery {
  readonly bootstrap: Bootstrap
  readonly routes: Hono[]
  /** The plain DNS server, once started with --dns-port. */
  readonly dns: DnsServer | undefined
  /** The handler of /dns-query: DoH when the relay serves a zone, else a clear 404. */
  readonly doh: (req: IncomingMessage, res: ServerResponse) => void
  /** Hands a connection that opened with the HTTP/2 preface to DoH over h2c (h2c.ts);
   * false when the error was something else, or no zone is served. */
  handOffHttp2(err: Error, socket: Socket): boolean
  start(): Promise<void>
  close(): Promise<void>
}

export function createDiscovery(
  config: RelayConfig,
  supernode: Supernode,
  log: Logger,
  /** How the bootstrap's requests to other relays travel (relay/sealed/transport.ts). */
  transport: PeerTransport,
  /** Where the DNS server's refusals are counted (relay/refusals.ts). */
  refusals?: Refusals,
): Discovery {
  const { directory, hosts } = supernode
  const live = (nowSeconds: number) => directory.live(nowSeconds)
  // DNS and bootstrap lists name admitted supernodes only (shared/admission.ts): a record
  // pushed by anyone must not be handed to every resolver.
  const owning = (nowSeconds: number) => directory.owning(nowSeconds)
  const mayName = (url: string) => hosts.check(url).ok
  const zone = zoneSource({ config, live: owning, mayName })
  const bootstrap = new Bootstrap({
    directory,
    hosts,
    self: () => supernode.self.current(),
    zones: config.dnsZones,
    dohEndpoints: config.dohEndpoints,
    listUrls: config.bootstrapUrls,
    log,
    transport,
  })
  // A page served here may resolve the zones through this relay too, and read its list.
  // Read per request: the default public URL names port 0 until the relay listens.
  const hints = () => ({
    zones: config.dnsZones,
    dohEndpoints: [
      ...new Set([
        ...config.dohEndpoints,
        ...(config.dnsZones.length ? [`${config.publicUrl}/dns-query`] : []),
      ]),
    ],
    lists: [...config.bootstrapUrls, `${config.publicUrl}/.well-known/monsoon.json`],
  })
  const routes = [
    discoveryRoutes({
      live,
      owning,
      mayName,
      bootstrap,
      peers: config.peers,
      ttl: config.dnsTtl,
      hints,
    }),
  ]
  const served = config.dnsZones.length ? dohHandler(zone) : undefined
  const h2c = served && h2cDoh(served)
  const doh = served ?? noZoneHandler
  let dns: DnsServer | undefined
  return {
    bootstrap,
    routes,
    doh,
    get dns() {
      return dns
    },
    handOffHttp2: (err, socket) => h2c?.handOff(err, socket) ?? false,
    async start() {
      if (config.dnsPort !== undefined) {
        dns = await startDnsServer({
          host: config.host,
          port: config.dnsPort,
          zone,
          log,
          queriesPerSecond: config.dnsRate,
          refusals,
        })
        log.info('dns listening', { port: dns.port, host: config.host, zones: config.dnsZones })
      }
      if (config.dohEndpoints.length || config.bootstrapUrls.length) bootstrap.start()
    },
    async close() {
      await bootstrap.stop()
      await dns?.close()
      h2c?.close()
    },
  }
}
