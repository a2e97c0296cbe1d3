// The bridge's WebTorrent client (relay/bridge/bridge.ts): the `webtorrent` package's Node
// build, TCP and uTP towards classic clients and WebRTC (node-datachannel through
// webrtc-polyfill) towards browsers. The bridge sees this interface only; what it changes in
// WebTorrent is here: classic peers dialed over TCP before uTP (tcp-first.ts, through the one
// add-peer wrapper, beside the browsers' rule for two WebRTC attempts with one peer), the
// null ICE candidate the polyfill does not fire (end-of-candidates.ts),
// and the extended handshake resent once the metadata has come.

import { randomBytes } from 'node:crypto'
import type { EventEmitter } from 'node:events'
import { PEER_ID_RANDOM_BYTES, bridgePeerId } from '../peer-ids.ts'
import { routeAddPeer } from './add-peer.ts'
import { fireEndOfCandidates } from './end-of-candidates.ts'
import { announceNow } from './discovery-trackers.ts'
import { internals } from './internals.ts'
import { oneAttemptPerPeer } from './pending-peers.ts'
import { recordPatch } from './patches.ts'
import { tcpBeforeUtp } from './tcp-first.ts'

/** What the bridge asks of its client. */
export interface HybridOptions {
  /** TCP and uTP port for classic peers (0: a free one). */
  torrentPort: number
  dht: boolean
  lsd: boolean
  /** Bytes/s each way; -1 for no limit. */
  rate: number
  /** STUN/TURN URLs for the WebRTC side. */
  iceServers: string[]
  /** The address ICE binds to. */
  bindAddress?: string
}

/** The parts of a WebTorrent torrent the bridge reads. */
export interface HybridTorrent extends EventEmitter {
  readonly infoHash: string
  readonly name?: string
  readonly length: number
  readonly progress: number
  readonly downloadSpeed: number
  readonly uploadSpeed: number
  readonly downloaded: number
  readonly uploaded: number
  readonly done: boolean
  readonly ready: boolean
  readonly destroyed: boolean
  readonly wires: readonly { readonly type: string }[]
}

/** The parts of the WebTorrent client the bridge drives. */
export interface HybridClient extends EventEmitter {
  add(torrentId: unknown, opts: { announce: string[]; path: string }): HybridTorrent
  remove(torrent: HybridTorrent, opts: { destroyStore: boolean }, cb: (err?: Error) => void): void
  destroy(cb: (err?: Error) => void): void
  address(): { port: number } | null
}

/** Loads WebTorrent (only a bridging relay pays for it) and makes the bridge's client. */
export async function createHybridClient(opts: HybridOptions): Promise<HybridClient> {
  fireEndOfCandidates()
  const { default: WebTorrent } = (await import('webtorrent')) as unknown as {
    default: new (opts: Record<string, unknown>) => HybridClient
  }
  const client = new WebTorrent({
    // Names itself the bridge (BEP 20 style), so pages can say which peer it is.
    peerId: bridgePeerId(randomBytes(PEER_ID_RANDOM_BYTES)),
    torrentPort: opts.torrentPort,
    dht: opts.dht,
    lsd: opts.lsd,
    natUpnp: false,
    natPmp: false,
    // MSE/PE first, plaintext for peers that refuse it (BEP 8 is not an RFC; this is what
    // Vuze, qBittorrent and Transmission call "prefer encryption").
    secure: 1,
    downloadLimit: opts.rate,
    uploadLimit: opts.rate,
    tracker: {
      rtcConfig: {
        iceServers: opts.iceServers.map((urls) => ({ urls })),
        ...(opts.bindAddress && { bindAddress: opts.bindAddress }),
      },
    },
  })
  // 'add' fires as the torrent is made, before any peer is dialed (WebTorrent parses the
  // torrent id on a later tick).
  client.on('add', (torrent: HybridTorrent) => {
    const t = torrent as never
    // One WebRTC attempt per browser, as a browser keeps it (glare: the lower peer id's offer).
    recordPatch(t, 'add-peer', routeAddPeer(t, [oneAttemptPerPeer, tcpBeforeUtp]))
  })
  return client
}

/**
 * Tells the peers that connected before the metadata came that it has come. Their extended
 * handshake (BEP 10) said no `metadata_size` (BEP 9), so a browser that asked the bridge for
 * the metadata would never ask again; BEP 10 lets a peer send the handshake again to update
 * it. WebTorrent gives each wire the metadata right after 'ready' (call this a tick after it)
 * but does not resend the handshake.
 */
export function resendHandshakes(torrent: HybridTorrent): void {
  if (torrent.destroyed) return
  for (const wire of internals(torrent as never).wires) {
    if (wire.ut_metadata && wire.extendedHandshake?.metadata_size) wire._sendExtendedHandshake?.()
  }
}

/** Announces the torrent to its trackers now (shared/reannounce.ts decides when); false
 * before its discovery started. */
export function announceHybrid(torrent: HybridTorrent): boolean {
  return announceNow(torrent as never)
}
