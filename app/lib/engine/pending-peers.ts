// Which of two WebRTC connection attempts with the same peer a torrent keeps.
//
// Why this exists: WebTorrent 3.0.21 keys peers by the remote peer id and, when a second
// peer with that id arrives, keeps the first and destroys the new one (Torrent#_addPeer,
// "ignoring peer: duplicate"), even while the first has not connected. Over WebSocket
// trackers an attempt can be dead on one side only: the other browser dropped its offer
// (a re-homed torrent replaces its tracker client, rehome.ts; a tab reloads) after this side
// had answered it. The dead attempt then blocks every fresh one for WebTorrent's 25 s WebRTC
// connect timeout, and each side's blocked attempts become the dead ones that block the
// other side next: with both announcing every few seconds the two browsers can refuse each
// other for as long as they run. e2e/supernodes.spec.ts caught exactly that after a
// promotion (seeder and leecher each with a live answer for the other, neither connecting).
//
// Here a newer attempt replaces one still connecting; a connected peer is never replaced.
// Both sides hear of each attempt within one tracker round trip, so the newest attempt is
// the same on both and connects. Instance patch (see fast/wire.ts for why not prototypes).

import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'

/** WebTorrent's Peer (lib/peer.js), the parts read here. */
interface PeerInternals {
  type: string
  connected: boolean
  destroyed: boolean
}

interface AddingTorrent {
  destroyed: boolean
  _peers: Map<string, PeerInternals> | null
  _addPeer(peer: unknown, ...rest: unknown[]): unknown
  removePeer(peer: PeerInternals | string): void
}

/** Makes `torrent` replace a still-connecting WebRTC peer with a newer attempt from the same
 * peer id. False, changing nothing, where WebTorrent's internals are not as expected. */
export function preferNewestAttempt(torrent: Torrent): boolean {
  const t = torrent as unknown as AddingTorrent
  const add = t._addPeer
  if (typeof add !== 'function' || typeof t.removePeer !== 'function') return false
  t._addPeer = function (this: AddingTorrent, peer: unknown, ...rest: unknown[]) {
    // A WebRTC attempt arrives as its simple-peer, named by the remote peer id.
    const id = typeof peer === 'object' && peer ? (peer as { id?: unknown }).id : undefined
    if (typeof id === 'string' && !t.destroyed) {
      const old = t._peers?.get(id)
      if (old && old.type === 'webrtc' && !old.connected && !old.destroyed) t.removePeer(id)
    }
    return add.call(this, peer, ...rest)
  }
  return true
}
