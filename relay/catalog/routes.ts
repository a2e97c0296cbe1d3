// The catalog's HTTP surface (thin: parse, call the core, encode):
//   POST /v1/listings             one listing, or {"listings": [...]} (up to MAX_LISTINGS_PER_POST)
//   GET  /v1/listings?after=&limit=  a page in cursor order, for pulling (relays and the app);
//                                    built once and compressed for many (page-server.ts)
//   GET  /v1/listings/:infohash   every publisher's listing of one hash
//   GET  /v1/relays               this relay's URL and the relays it syncs with
//   GET  /v1/stats?ih=…&ih=…      live swarm figures of up to MAX_SCRAPE_HASHES hashes
// Swarm figures (seeds, leechers, downloads) travel in a separate `stats` map: they are not
// signed, and not part of any listing. A page of listings carries this relay's own counts
// (those not all zero: the page says a missing one is zero);
// /v1/stats and /v1/listings/:infohash ask each hash's owners (`liveScrape`), so whichever
// relay the app asks, the figures on screen are the owners'.

import { Hono, type Context } from 'hono'
import {
  DEFAULT_PAGE_LISTINGS,
  MAX_LISTINGS_PER_HASH,
  MAX_LISTINGS_PER_POST,
  MAX_LISTINGS_POST_BYTES,
  MAX_PAGE_LISTINGS,
  MAX_SCRAPE_HASHES,
} from '../limits.ts'
import type { Logger } from '../log.ts'
import { jsonBodyLimit, readPostedBatch, requestAddress } from '../post-body.ts'
import type { Refusals } from '../refusals.ts'
import type { ScrapeEntry, Tracker } from '../tracker/tracker.ts'
import { PageServer, type PageServerOptions, type SwarmFigures } from './page-server.ts'
import type { ListingPublisher, PublishResult } from './publish.ts'
import type { CatalogStore } from './store.ts'

export interface CatalogRouteDeps {
  store: CatalogStore
  publisher: ListingPublisher
  tracker: Tracker
  /** This relay's public URL (known once listening, when the port was 0). */
  publicUrl: () => string
  peers: readonly string[]
  trustProxy: boolean
  /** Figures of hashes from their owners (this relay's tracker for those it owns); a hash
   * whose owners could not be asked (fan-out busy) is missing from the answer. */
  liveScrape?: (hashes: string[], ask?: LiveScrapeAsk) => Promise<ScrapeEntry[]>
  /** Where sync pages refused for a budget are counted (/metrics). */
  refusals?: Refusals
  /** The page server's budgets (tests shrink them). */
  pages?: Partial<PageServerOptions>
  /** Where a page build given up for overrunning its turn is reported. */
  log?: Logger
}

/** Who asks for live figures, and how. */
export interface LiveScrapeAsk {
  /** The client's address: the requests to other relays its ask starts are capped. */
  source: string
  /** Another relay asking this one as an owner (GET /v1/stats?owned=1): only the hashes this
   * relay owns, from its own tracker, never asked of anyone further. */
  ownedOnly?: boolean
}

const HEX40 = /^[0-9a-fA-F]{40}$/
const CURSOR = /^\d{1,15}$/

export function catalogRoutes(deps: CatalogRouteDeps): Hono {
  const { store, publisher, tracker } = deps
  const app = new Hono()
  const pages = new PageServer(
    {
      store,
      figures: (hashes) => stats(tracker, hashes),
      refusals: deps.refusals,
      log: deps.log,
    },
    deps.pages,
  )
  const live = async (hashes: string[], ask?: LiveScrapeAsk) =>
    figuresOf(deps.liveScrape ? await deps.liveScrape(hashes, ask) : tracker.scrape(hashes))

  app.post('/v1/listings', jsonBodyLimit(MAX_LISTINGS_POST_BYTES), async (c) => {
    const posted = await readPostedBatch(c, 'listings', MAX_LISTINGS_PER_POST, 'listings')
    if (posted instanceof Response) return posted
    const { values, batch } = posted
    const results = publisher.publish(values, requestAddress(c, deps.trustProxy), Date.now())
    const waits = results.map((r) => ('retryAfter' in r ? (r.retryAfter ?? 0) : 0))
    if (Math.max(0, ...waits) > 0) c.header('Retry-After', String(Math.max(...waits)))
    if (!batch) {
      const [r] = results
      if (r.status === 200) return c.json({ listing: r.listing, cursor: r.cursor }, 200)
      return c.json({ error: r.error, code: r.code }, r.status)
    }
    // A batch refused whole for a budget is a 429 as a whole, so a pusher retries it later.
    const first = results[0]
    if (first?.status === 429 && results.every((r) => r.status === 429)) {
      return c.json({ error: first.error, code: first.code }, 429)
    }
    const stored = results.filter((r) => r.status === 200).length
    return c.json({ stored, results: results.map(brief) }, 200)
  })

  app.get('/v1/listings', async (c) => {
    const after = c.req.query('after') ?? '0'
    const limitText = c.req.query('limit') ?? String(DEFAULT_PAGE_LISTINGS)
    if (!CURSOR.test(after)) return badRequest(c, 'after must be a cursor (a whole number)')
    if (!CURSOR.test(limitText)) return badRequest(c, 'limit must be a whole number')
    const limit = Math.min(MAX_PAGE_LISTINGS, Math.max(1, Number(limitText)))
    const answer = await pages.answer({
      after: Number(after),
      limit,
      address: requestAddress(c, deps.trustProxy),
      acceptEncoding: c.req.header('accept-encoding'),
      ifNoneMatch: c.req.header('if-none-match'),
    })
    if (answer.status === 304) return c.body(null, 304, answer.headers)
    if (answer.status === 200) {
      return direct(c, c.body(answer.body as Uint8Array<ArrayBuffer>, 200, answer.headers))
    }
    c.header('Retry-After', String(answer.retryAfterSeconds))
    return c.json({ error: answer.error, code: answer.code }, answer.status)
  })

  app.get('/v1/listings/:infohash', async (c) => {
    const infoHash = c.req.param('infohash')
    if (!HEX40.test(infoHash)) return badRequest(c, 'info hash must be 40 hex chars')
    const hash = infoHash.toLowerCase()
    const rows = store.byInfoHash(hash, MAX_LISTINGS_PER_HASH)
    if (rows.length === 0) return c.json({ error: 'no listing for this info hash' }, 404)
    const figures = JSON.stringify((await live([hash]))[hash] ?? null)
    const json = `{"infoHash":"${hash}","listings":[${rows.join(',')}],"stats":${figures}}`
    return c.body(json, 200, { 'Content-Type': 'application/json' })
  })

  app.get('/v1/relays', (c) => c.json({ self: deps.publicUrl(), relays: deps.peers }))

  // The index page's figures go stale once a listing is synced; the app refreshes the rows
  // on screen from here (a JSON scrape, capped like the tracker's own). A hash whose owners
  // could not be asked now (fan-out busy) is left out: its figure is unknown, and the app
  // keeps the one it shows. `owned=1` is another relay asking this one as an owner.
  app.get('/v1/stats', async (c) => {
    const asked = c.req.queries('ih') ?? []
    if (asked.length === 0) return badRequest(c, 'ih (an info hash) is required')
    if (asked.length > MAX_SCRAPE_HASHES) {
      return badRequest(c, `at most ${MAX_SCRAPE_HASHES} info hashes`)
    }
    const bad = asked.find((h) => !HEX40.test(h))
    if (bad !== undefined) return badRequest(c, 'each ih must be 40 hex chars')
    const hashes = [...new Set(asked.map((h) => h.toLowerCase()))]
    const source = requestAddress(c, deps.trustProxy)
    const ownedOnly = c.req.query('owned') === '1'
    return c.json({ stats: await live(hashes, { source, ownedOnly }) })
  })

  return app
}

export type { SwarmFigures }

/** A page's figures: the hashes with a swarm only (a page says absent means zero,
 * page-server.ts STATS_ABSENT_IS_ZERO). */
function stats(tracker: Tracker, hashes: Iterable<string>): Record<string, SwarmFigures> {
  const out: Record<string, SwarmFigures> = {}
  for (const s of tracker.scrape(hashes)) {
    if (s.complete === 0 && s.incomplete === 0 && s.downloaded === 0) continue
    out[s.infoHash] = { seeds: s.complete, leechers: s.incomplete, downloads: s.downloaded }
  }
  return out
}

function figuresOf(entries: ScrapeEntry[]): Record<string, SwarmFigures> {
  const out: Record<string, SwarmFigures> = {}
  for (const s of entries) {
    out[s.infoHash] = { seeds: s.complete, leechers: s.incomplete, downloads: s.downloaded }
  }
  return out
}

function brief(r: PublishResult) {
  if (r.status !== 200) return { status: r.status, code: r.code, error: r.error }
  const { infoHash, publisher, seq } = r.listing
  return { status: 200, infoHash, publisher, seq, cursor: r.cursor }
}

/**
 * Makes `res` the answer as it is. A response returned over one a middleware touched (cors
 * sets its headers before the route runs) is wrapped again by Hono, which reads its body as
 * a stream: a copy of every page, and most of a crowd's garbage. `res` already carries those
 * headers (c.body copies them), so it is set directly: clearing first skips the wrapping.
 */
function direct(c: Context, res: Response): Response {
  c.res = undefined
  c.res = res
  return res
}

function badRequest(c: Context, error: string) {
  return c.json({ error, code: 'malformed' }, 400)
}
