// The bridge's HTTP surface: POST /v1/bridge/:infohash bridges a hash (the body, optional, is
// its .torrent file or magnet link, else the metadata comes from the swarm), GET /v1/bridge
// lists what is bridged. Thin: parse, call the bridge, encode.
//
// Budgets (issue 20): one address may hold only its share of the bridge's torrents by asking
// (--bridge-torrents-per-address; 429 beyond it, counted 'bridge-slots-per-address'), so it
// cannot take all the slots; asking again for a hash already bridged only marks it used. A
// POST that arrives while the bridge is still starting waits for it (up to
// BRIDGE_START_WAIT_MS), then gets 503 with Retry-After: never a 500.

import { Hono, type Context } from 'hono'
import parseTorrent from 'parse-torrent'
import {
  BRIDGE_START_WAIT_MS,
  BRIDGE_TORRENTS_PER_ADDRESS,
  MAX_BRIDGE_POST_BYTES,
} from '../limits.ts'
import { jsonBodyLimit, requestAddress } from '../post-body.ts'
import { quietRefusals, type Refusals } from '../refusals.ts'
import { addressKey } from '../tracker/holdings.ts'
import type { Bridge, BridgeRequest } from './bridge.ts'
import { BridgeFullError } from './ledger.ts'
import { bodyTrackers } from './trackers.ts'

const INFO_HASH = /^[0-9a-fA-F]{40}$/

export interface BridgeRouteOptions {
  /** Accept trackers on private and loopback hosts from posted torrents (--local-network). */
  localNetwork: boolean
  maxRate: number
  /** Take the client address from X-Forwarded-For (--trust-proxy). */
  trustProxy?: boolean
  /** Bridged torrents one address may hold by asking (--bridge-torrents-per-address). */
  perAddress?: number
  refusals?: Refusals
  /** True once the bridge runs, waiting up to `waitMs` while it starts; false when it did
   * not start in time or has closed. */
  running?: (waitMs: number) => Promise<boolean>
}

export function bridgeRoutes(bridge: Bridge | null, opts: BridgeRouteOptions): Hono {
  const app = new Hono()
  const perAddress = opts.perAddress ?? BRIDGE_TORRENTS_PER_ADDRESS
  const refusals = opts.refusals ?? quietRefusals()
  const running = opts.running ?? (async () => true)
  /** Who asked for each hash bridged on request: no more entries than the bridge holds, as
   * those it no longer holds are dropped before each count. */
  const askedBy = new Map<string, string>()
  const heldBy = (address: string): number => {
    let held = 0
    for (const [infoHash, who] of askedBy) {
      if (!bridge?.has(infoHash)) askedBy.delete(infoHash)
      else if (who === address) held++
    }
    return held
  }

  app.get('/v1/bridge', (c) => {
    if (!bridge) return c.json({ enabled: false, torrents: [] })
    const { limits } = bridge.ledger
    return c.json({
      enabled: true,
      port: bridge.port,
      limits: {
        maxTorrents: limits.maxTorrents,
        maxDiskBytes: limits.maxDiskBytes,
        maxMemoryBytes: limits.maxMemoryBytes,
        maxRate: opts.maxRate,
        perAddress,
      },
      diskBytes: bridge.ledger.diskBytes,
      torrents: bridge.list(),
    })
  })

  app.post('/v1/bridge/:infohash', jsonBodyLimit(MAX_BRIDGE_POST_BYTES), async (c) => {
    const hash = c.req.param('infohash')
    if (!INFO_HASH.test(hash)) {
      return c.json({ error: 'the info hash must be 40 hex digits', code: 'malformed' }, 400)
    }
    if (!bridge) {
      return c.json(
        { error: 'this relay does not bridge to classic BitTorrent', code: 'no-bridge' },
        404,
      )
    }
    const infoHash = hash.toLowerCase()
    const req = await readRequest(c, infoHash, opts.localNetwork)
    if (req instanceof Response) return req
    if (!(await running(BRIDGE_START_WAIT_MS))) return notRunning(c)
    const known = bridge.has(infoHash)
    const address = addressKey(requestAddress(c, opts.trustProxy ?? false))
    if (!known) {
      const held = heldBy(address)
      if (held >= perAddress) {
        refusals.refuse('bridge-slots-per-address', address, { held })
        c.header('Retry-After', '60')
        return c.json(
          {
            error: `this address already has ${held} torrents bridged, its most; one is freed when unused for a minute`,
            code: 'bridge-full',
            reason: 'per-address',
          },
          429,
        )
      }
    }
    try {
      const torrent = bridge.add(req)
      if (!known) askedBy.set(infoHash, address)
      return c.json({ torrent }, known ? 200 : 202)
    } catch (err) {
      // Closed under the request (the relay is stopping): not the client's fault, not ours.
      if (!(await running(0))) return notRunning(c)
      if (!(err instanceof BridgeFullError)) throw err
      const status = err.reason === 'too-large' ? 413 : 429
      if (status === 429) c.header('Retry-After', '60')
      return c.json({ error: err.message, code: 'bridge-full', reason: err.reason }, status)
    }
  })

  return app
}

function notRunning(c: Context): Response {
  c.header('Retry-After', '5')
  return c.json({ error: 'the bridge is starting or stopping; retry soon', code: 'starting' }, 503)
}

/** The request a body makes: nothing (the hash alone), a magnet link, or a .torrent file,
 * which must be of the hash in the path. */
async function readRequest(
  c: Context,
  infoHash: string,
  localNetwork: boolean,
): Promise<BridgeRequest | Response> {
  const body = new Uint8Array(await c.req.arrayBuffer())
  if (body.length === 0) return { infoHash }
  const text = new TextDecoder().decode(body.subarray(0, 7))
  if (text !== 'magnet:' && body[0] !== 0x64 /* 'd', a bencoded dictionary */) {
    return c.json(
      { error: 'the body must be a magnet link or a .torrent file', code: 'malformed' },
      400,
    )
  }
  let parsed: { infoHash?: string; announce?: string[]; length?: number; info?: unknown }
  try {
    const input = text === 'magnet:' ? new TextDecoder().decode(body).trim() : body
    parsed = (await parseTorrent(input)) as typeof parsed
  } catch (err) {
    return c.json(
      { error: `unreadable torrent: ${(err as Error).message}`, code: 'malformed' },
      400,
    )
  }
  if (parsed.infoHash !== infoHash) {
    return c.json({ error: 'the body is of another info hash', code: 'mismatch' }, 400)
  }
  const trackers = bodyTrackers(parsed.announce ?? [], localNetwork)
  if (!parsed.info) return { infoHash, trackers }
  return { infoHash, trackers, torrent: parsed, length: parsed.length }
}
