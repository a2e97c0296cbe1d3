// The bridge's HTTP surface: POST /v1/bridge/:infohash bridges a hash (the body, optional, is
// its .torrent file or magnet link, else the metadata comes from the swarm), GET /v1/bridge
// lists what is bridged. Thin: parse, call the bridge, encode.

import { Hono, type Context } from 'hono'
import parseTorrent from 'parse-torrent'
import { MAX_BRIDGE_POST_BYTES } from '../limits.ts'
import { jsonBodyLimit } from '../post-body.ts'
import type { Bridge, BridgeRequest } from './bridge.ts'
import { BridgeFullError } from './ledger.ts'
import { bodyTrackers } from './trackers.ts'

const INFO_HASH = /^[0-9a-fA-F]{40}$/

export interface BridgeRouteOptions {
  /** Accept trackers on private and loopback hosts from posted torrents (--local-network). */
  localNetwork: boolean
  maxRate: number
}

export function bridgeRoutes(bridge: Bridge | null, opts: BridgeRouteOptions): Hono {
  const app = new Hono()

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
    const known = bridge.has(infoHash)
    try {
      return c.json({ torrent: bridge.add(req) }, known ? 200 : 202)
    } catch (err) {
      if (!(err instanceof BridgeFullError)) throw err
      const status = err.reason === 'too-large' ? 413 : 429
      if (status === 429) c.header('Retry-After', '60')
      return c.json({ error: err.message, code: 'bridge-full', reason: err.reason }, status)
    }
  })

  return app
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
