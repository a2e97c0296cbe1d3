// Which of two WebRTC connection attempts with the same peer a torrent keeps (a rule of
// add-peer.ts).
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
// the same on both and connects.

import type { AddPeerRule } from './add-peer.ts'

/** A WebRTC attempt (its simple-peer, named by the remote peer id) replaces an earlier one
 * with that id that has not connected yet. */
export const newestAttemptWins: AddPeerRule = (torrent, peer, type) => {
  const id = typeof peer === 'object' && peer ? (peer as { id?: unknown }).id : undefined
  if (typeof id !== 'string') return type
  const old = torrent._peers?.get(id)
  if (old && old.type === 'webrtc' && !old.connected && !old.destroyed) torrent.removePeer(id)
  return type
}
