// The supernode API's HTTP routes (thin: parse, call the directory, encode):
//   GET  /v1/hello               this relay's signed supernode record
//   GET  /v1/supernodes          {supernodes: [record, …], roots, admissions, maxPerPrefix}:
//                                every live record known, own first, and what a reader needs
//                                to tell which of them own hashes (shared/admission.ts)
//   POST /v1/supernodes          one record, or {records: [...]} (up to MAX_SUPERNODES_PER_POST)
//   GET  /v1/lookup/:infohash    who owns a hash: {owner, owners: [{id, urls}], swarm?}
//   POST /v1/promote             a signed promotion to this candidate (election.ts): 200
//                                {record} (our record as a supernode), 409 when already one
//   POST /v1/handoff             signed swarm state from another supernode (handoff.ts):
//                                200 {swarms, adopted}
//   GET  /v1/hosts               the host cache, best first:
//                                {hosts: [{url, lastSeen, successes, failures}]}; who named a
//                                host (possibly a client's address) is not published
// Records are passed on exactly as signed; the receiver verifies each (directory.ts).

import { Hono, type Context } from 'hono'
import type { RateLimiter } from '../budget/quotas.ts'
import {
  MAX_NODE_MESSAGE_POST_BYTES,
  MAX_SUPERNODES_PER_POST,
  MAX_SUPERNODES_POST_BYTES,
} from '../limits.ts'
import { jsonBodyLimit, readPostedBatch, requestAddress } from '../post-body.ts'
import type { Refusals } from '../refusals.ts'
import type { Tracker } from '../tracker/tracker.ts'
import type { OfferOutcome, SupernodeDirectory } from './directory.ts'
import { PromotionConflict, type Election } from './election.ts'
import type { Handoff } from './handoff.ts'
import { NodeMessageError, nodeMessageStatus } from './node-message.ts'
import type { HostCache } from './host-cache.ts'
import type { SelfRecord } from './self-record.ts'

export interface SupernodeRouteDeps {
  self: SelfRecord
  directory: SupernodeDirectory
  hosts: HostCache
  tracker: Tracker
  handoff: Handoff
  election: Election
  /** Records pushed per minute per client address, charged before verifying. */
  pushLimiter: RateLimiter
  refusals: Refusals
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
    return c.json({ supernodes: directory.live(now()), ...directory.admissionView() })
  })

  app.post('/v1/supernodes', jsonBodyLimit(MAX_SUPERNODES_POST_BYTES), async (c) => {
    const posted = await readPostedBatch(c, 'records', MAX_SUPERNODES_PER_POST, 'records')
    if (posted instanceof Response) return posted
    const { values, batch } = posted
    const from = requestAddress(c, deps.trustProxy)
    const granted = pushLimiter.take(from, values.length, Date.now())
    if (granted < values.length) {
      deps.refusals.refuse('supernode-push-rate', from, { refused: values.length - granted })
    }
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
    const overQuota = results.filter(
      (r) => r.outcome === 'refused' && (r.code === 'source-quota' || r.code === 'full'),
    ).length
    if (overQuota) deps.refusals.refuse('supernode-source-quota', from, { refused: overQuota })
    if (!batch) {
      const [r] = results
      if (r.outcome !== 'refused') return c.json(r, 200)
      return c.json({ error: r.error, code: r.code }, refusalStatus(r.code))
    }
    const accepted = results.filter((r) => r.outcome === 'added' || r.outcome === 'replaced')
    return c.json({ accepted: accepted.length, results }, 200)
  })

  // Relay-to-relay messages: a bad one gets its code and a one-line reason.
  const refused = (c: Context, err: unknown) => {
    if (err instanceof NodeMessageError) {
      return c.json({ error: err.message, code: err.code }, nodeMessageStatus(err.code))
    }
    if (err instanceof PromotionConflict) return c.json({ error: err.message, code: err.code }, 409)
    throw err
  }
  const readMessage = async (c: Context): Promise<unknown> => {
    try {
      return JSON.parse(await c.req.text())
    } catch {
      throw new NodeMessageError('malformed', 'body is not JSON')
    }
  }

  app.post('/v1/promote', jsonBodyLimit(MAX_NODE_MESSAGE_POST_BYTES), async (c) => {
    try {
      const record = deps.election.accept(await readMessage(c), now())
      return c.json({ record })
    } catch (err) {
      return refused(c, err)
    }
  })

  app.post('/v1/handoff', jsonBodyLimit(MAX_NODE_MESSAGE_POST_BYTES), async (c) => {
    try {
      return c.json(deps.handoff.receive(await readMessage(c), now()))
    } catch (err) {
      return refused(c, err)
    }
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
