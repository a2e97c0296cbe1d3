// The relay's HTTP surface other than the tracker hot path: health, the catalog and the
// supernode API (mounted from catalog/routes.ts and supernode/routes.ts) and the built app.
// Tracker requests (/announce, /scrape) never reach Hono; see server.ts.

import { existsSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Hono } from 'hono'
import { cors } from 'hono/cors'
import { HTTPException } from 'hono/http-exception'
import { serveStatic } from '@hono/node-server/serve-static'
import type { RelayConfig } from './config.ts'
import type { RelayIceConfig } from './ice/ice-servers.ts'
import type { Logger } from './log.ts'
import { METRICS_CONTENT_TYPE } from './metrics.ts'
import type { Tracker } from './tracker/tracker.ts'

/** The package's folder: relative paths such as --app-dir are taken from here. */
const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url))

export interface ApiDeps {
  config: RelayConfig
  tracker: Tracker
  log: Logger
  startedAt: number
  /** This relay's node id (hex Ed25519 public key). */
  nodeId: string
  /** Routes mounted before the app's catch-all (the catalog's /v1/…). */
  routes?: Hono[]
  /** The figures for GET /metrics, encoded (relay/metrics.ts). */
  metrics?: () => string
  /** GET /v1/config's ICE servers, credentials minted per answer (relay/ice/). Absent: the
   * --ice-server URLs as they are. */
  iceConfig?: (requestHost: string | undefined) => RelayIceConfig
}

export function createApi({
  config,
  tracker,
  log,
  startedAt,
  nodeId,
  routes = [],
  metrics,
  iceConfig = () => ({ iceServers: config.iceServers.map((urls) => ({ urls })) }),
}: ApiDeps): Hono {
  const app = new Hono()

  app.get('/health', (c) =>
    c.json({
      ok: true,
      version: 1,
      id: nodeId,
      url: config.publicUrl,
      uptime: Math.round((Date.now() - startedAt) / 1000),
      torrents: tracker.swarms.size,
      peers: tracker.peerCount,
    }),
  )

  // The API's reads are public and carry no credentials: an app served by one relay syncs
  // the catalogs and reads the figures of the others. Writes stay same-origin.
  app.use('/v1/*', cors({ origin: '*', allowMethods: ['GET'], maxAge: 86400 }))

  // What the app needs to know of this relay before it opens WebRTC connections: its own
  // STUN and TURN (relay/ice/ice-servers.ts) and those its operator named. The TURN
  // credentials are fresh in every answer, so no cache may keep one.
  app.get('/v1/config', (c) => {
    c.header('Cache-Control', 'no-store')
    return c.json(iceConfig(c.req.header('host')))
  })

  if (metrics) {
    app.get('/metrics', (c) => {
      c.header('Content-Type', METRICS_CONTENT_TYPE)
      c.header('Cache-Control', 'no-store')
      return c.body(metrics())
    })
  }

  for (const sub of routes) app.route('/', sub)

  const appDir = resolve(PACKAGE_ROOT, config.appDir)
  if (existsSync(appDir)) {
    // serveStatic wants a root relative to the working directory.
    const root = relative(process.cwd(), appDir) || '.'
    app.use(
      '/assets/*',
      serveStatic({
        root,
        onFound: (_path, c) => c.header('Cache-Control', 'public, max-age=31536000, immutable'),
      }),
    )
    app.use('*', serveStatic({ root, onFound: (_p, c) => c.header('Cache-Control', 'no-cache') }))
    // Hash routes mean every page is index.html; unknown paths get it too.
    app.get('*', serveStatic({ root, path: 'index.html' }))
  } else {
    log.warn('app not built: only the tracker and API are served', { appDir })
    app.get('/', (c) =>
      c.text('Monsoon relay. The app is not built here: run `npm run build`.', 200),
    )
  }

  app.notFound((c) => c.json({ error: 'not found' }, 404))
  app.onError((err, c) => {
    if (err instanceof HTTPException) return c.json({ error: err.message }, err.status)
    log.error('request failed', { path: c.req.path, error: String(err) })
    return c.json({ error: 'internal error' }, 500)
  })
  return app
}
