// The supernode API's HTTP routes (thin: parse, call the directory, encode):
//   GET  /v1/hello               this relay's signed supernode record
//   GET  /v1/supernodes          {supernodes: [record, …]}: every live record known, own first
//   POST /v1/supernodes          one record, or {records: [...]} (up to MAX_SUPERNODES_PER_POST)
//   GET  /v1/lookup/:infohash    who owns a hash: {owner, owners: [{id, urls}], swarm?}
//   GET  /v1/hosts               the host cache, best first:
//                                {hosts: [{url, lastSeen, successes, failures}]}; who named a
//                                host (possibly a client's address) is not published
// Records are passed on exactly as signed; the receiver verifies each (directory.ts).

import { Hono } from 'hono'
import type { RateLimiter } from '../catalog/quotas.ts'
import { MAX_SUPERNODES_PER_POST, MAX_SUPERNODES_POST_BYTES } from '../limits.ts'
import { jsonBodyLimit, readPostedBatch, requestAddress } from '../post-body.ts'
import type { Tracker } from '../tracker/tracker.ts'
import type { OfferOutcome, SupernodeDirectory } from './directory.ts'
import type { HostCache } from './host-cache.ts'
import type { SelfRecord } from './self-record.ts'

export interface SupernodeRouteDeps {
  self: SelfRecord
  directory: SupernodeDirectory
  hosts: HostCache
  tracker: Tracker
  /** Records pushed per minute per client address, charged before verifying. */
  pushLimiter: RateLimiter
  trustProxy: boolean
}

const HEX40 = /^[0-9a-fA-F]{40}$/

export function supernodeRoutes(deps: SupernodeRouteDeps): Hono {
  const { self, directory, hosts, tracker, pushLimiter } = deps
  const app = new Hono()
  const now = () => Math.floor(Date.now() / 1000)

  app.get('/v1/hello', (c) => {
    c.header('Cache-Control', 'no-cache')
    return c.json(self.current())
  })

  app.get('/v1/supernodes', (c) => {
    c.header('Cache-Control', 'no-cache')
    return c.json({ supernodes: directory.live(now()) })
  })

  app.post('/v1/supernodes', jsonBodyLimit(MAX_SUPERNODES_POST_BYTES), async (c) => {
    const posted = await readPostedBatch(c, 'records', MAX_SUPERNODES_PER_POST, 'records')
    if (posted instanceof Response) return posted
    const { values, batch } = posted
    const from = requestAddress(c, deps.trustProxy)
    const granted = pushLimiter.take(from, values.length, Date.now())
    if (granted === 0 && values.length > 0) {
      c.header('Retry-After', String(pushLimiter.retryAfter(from, Date.now())))
      return c.json(
        { error: 'too many records from this address; retry later', code: 'quota' },
        429,
      )
    }
    const at = now()
    const results: OfferOutcome[] = values.map((value, i) =>
      i < granted
        ? directory.offer(value, from, at)
        : { outcome: 'refused', code: 'quota', error: 'too many records from this address' },
    )
    if (!batch) {
      const [r] = results
      if (r.outcome !== 'refused') return c.json(r, 200)
      return c.json({ error: r.error, code: r.code }, refusalStatus(r.code))
    }
    const accepted = results.filter((r) => r.outcome === 'added' || r.outcome === 'replaced')
    return c.json({ accepted: accepted.length, results }, 200)
  })

  app.get('/v1/hosts', (c) => {
    c.header('Cache-Control', 'no-cache')
    const list = hosts.list().map((h) => ({
      url: h.url,
      lastSeen: Math.floor(h.lastSeenMs / 1000),
      successes: h.successes,
      failures: h.failures,
    }))
    return c.json({ hosts: list })
  })

  app.get('/v1/lookup/:infohash', (c) => {
    const infoHash = c.req.param('infohash')
    if (!HEX40.test(infoHash)) {
      return c.json({ error: 'info hash must be 40 hex chars', code: 'malformed' }, 400)
    }
    const hash = infoHash.toLowerCase()
    const at = now()
    const ids = directory.owners(at).owners(hash)
    const owners = ids.map((id) => ({ id, urls: directory.get(id, at)?.urls ?? [] }))
    c.header('Cache-Control', 'no-cache')
    if (!ids.includes(self.id)) return c.json({ owner: false, owners })
    // Counts only, as a scrape gives them: peers' addresses go through the tracker.
    const [s] = tracker.scrape([hash])
    const swarm = { seeds: s.complete, leechers: s.incomplete, downloads: s.downloaded }
    return c.json({ owner: true, owners, swarm })
  })

  return app
}

function refusalStatus(code: string): 400 | 429 | 503 {
  if (code === 'quota' || code === 'source-quota') return 429
  if (code === 'full') return 503
  return 400
}
