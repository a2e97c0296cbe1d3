// A wire's RTCPeerConnection, for its stats (the peer table's path, app/lib/peer-rows.ts).
// WebTorrent keeps each peer's simple-peer in Torrent#_peers (lib/peer.js: `conn`), and
// simple-peer its RTCPeerConnection in `_pc`; neither is public, so this stays in the seam
// folder (internals.ts). e2e/peer-path.spec.ts fails if it stops finding them.

import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'
import { internals, peerOfWire } from './internals.ts'

/** What the peer table reads of a connection. */
export interface StatsSource {
  getStats(): Promise<ReadonlyMap<string, unknown>>
}

/** The peer connection under `wire` if it is a WebRTC wire of `torrent`'s, else null. */
export function peerConnectionOf(torrent: Torrent, wire: unknown): StatsSource | null {
  const pc = peerOfWire(torrent, wire)?.conn?._pc as Partial<StatsSource> | null | undefined
  return pc && typeof pc.getStats === 'function' ? (pc as StatsSource) : null
}

/** True when `torrent` holds a peer (connected or connecting) under `peerId`: WebTorrent keys
 * WebRTC peers by their peer id (Torrent#_peers), so a second attempt would replace or be
 * refused (pending-peers.ts), never connect twice. */
export function hasPeer(torrent: Torrent, peerId: string): boolean {
  return internals(torrent)._peers?.has(peerId) ?? false
}
