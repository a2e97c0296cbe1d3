// The discovery surface of a relay:
//   GET /.well-known/monsoon.json   this relay's bootstrap list (shared/bootstrap-list.ts):
//                                   the live supernodes it would name in DNS, itself first.
//                                   Anyone may read it (CORS) and republish it anywhere.
//   GET /v1/discovery               how this relay found each live supernode, and where a
//                                   page it serves may look when it knows too few:
//                                   {supernodes: [{id, url, route}], zones: [name],
//                                    dohEndpoints: [url], lists: [url]}; route is one of
//                                   'self', 'config' (--peer), 'peer' (named by another
//                                   relay), 'host-cache', 'dns', 'list' (bootstrap.ts)

import { Hono } from 'hono'
import { cors } from 'hono/cors'
import { encodeBootstrapList } from '../../shared/bootstrap-list.ts'
import type { SupernodeRecord } from '../../shared/supernode.ts'
import type { Bootstrap } from './bootstrap.ts'

export interface DiscoveryRouteDeps {
  /** The directory's live records, own first. */
  live: (nowSeconds: number) => SupernodeRecord[]
  /** The admitted supernodes that own hashes (directory.ts owning()). */
  owning: (nowSeconds: number) => SupernodeRecord[]
  /** Whether this relay would contact `url` (HostCache.check): only those are published. */
  mayName: (url: string) => boolean
  bootstrap: Bootstrap
  peers: readonly string[]
  /** Seconds a reader may cache the list (the DNS TTL). */
  ttl: number
  /** Where the app may bootstrap from: zones, DoH endpoints, list URLs. */
  hints: () => {
    zones: readonly string[]
    dohEndpoints: readonly string[]
    lists: readonly string[]
  }
}

export function discoveryRoutes(deps: DiscoveryRouteDeps): Hono {
  const app = new Hono()
  const now = () => Math.floor(Date.now() / 1000)

  app.use('/.well-known/monsoon.json', cors({ origin: '*', allowMethods: ['GET'] }))
  app.get('/.well-known/monsoon.json', (c) => {
    const urls = deps
      .owning(now())
      .map((r) => r.urls.find(deps.mayName))
      .filter((url): url is string => url !== undefined)
    c.header('Cache-Control', `max-age=${deps.ttl}`)
    return c.json(encodeBootstrapList(urls, now()))
  })

  app.get('/v1/discovery', (c) => {
    const [self, ...others] = deps.live(now())
    const supernodes = [
      { id: self.id, url: self.urls[0], route: 'self' },
      ...others.map((r) => ({ id: r.id, url: r.urls[0], route: routeOf(r.urls[0]) })),
    ]
    c.header('Cache-Control', 'no-cache')
    return c.json({ supernodes, ...deps.hints() })
  })

  function routeOf(url: string): string {
    if (deps.peers.includes(url)) return 'config'
    return deps.bootstrap.routeOf(url) ?? 'peer'
  }
  return app
}
