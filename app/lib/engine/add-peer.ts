// The one wrapper around Torrent#_addPeer, where WebTorrent 3.0.21 takes every new peer: an
// address to dial (type 'tcp' or 'utp') or a WebRTC peer (its simple-peer, type 'webrtc').
// Monsoon changes two things there (each a rule in its own file, run in order here), and a
// torrent gets one wrapper however many rules it runs:
// - oneAttemptPerPeer (pending-peers.ts): of two WebRTC attempts with one peer, both sides keep
//   the same one (a dead one replaced, glare broken by the lower peer id);
// - tcpBeforeUtp (tcp-first.ts): the bridge dials classic peers over TCP before uTP.
// Instance patch, never the prototype (see fast/wire.ts for why).

import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'
import { internals, type TorrentInternals } from './internals.ts'

/** Looks at a peer WebTorrent is about to add and returns the transport type to add it with
 * (`type` unchanged when the rule does not apply). May act on the torrent first. */
export type AddPeerRule = (torrent: TorrentInternals, peer: unknown, type: string) => string

const ROUTED = Symbol('monsoon.addPeer')

/** Runs `rules` on every peer `torrent` adds. False, changing nothing, where WebTorrent's
 * internals are not as expected or the torrent already has its rules. */
export function routeAddPeer(torrent: Torrent, rules: readonly AddPeerRule[]): boolean {
  const t = internals(torrent) as TorrentInternals & { [ROUTED]?: true }
  const add = t._addPeer
  if (t[ROUTED] || typeof add !== 'function' || typeof t.removePeer !== 'function') return false
  t._addPeer = function (this: TorrentInternals, peer, type, source) {
    let chosen = type
    if (!t.destroyed) for (const rule of rules) chosen = rule(t, peer, chosen)
    return add.call(this, peer, chosen, source)
  }
  t[ROUTED] = true
  return true
}
