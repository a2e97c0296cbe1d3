// The fast path for one of our client's torrents (WebTorrent 3.0.21): each WebRTC wire gets
// batched messages and a deeper send buffer (wire.ts) and, with another Monsoon peer, larger
// requests (requests.ts); the request loop runs as soon as a block lands instead of when the
// page is idle. Instance patches only (see wire.ts).

import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'
import { internals, type PeerInternals, type TorrentInternals } from './internals.ts'
import { mergeRequests } from './requests.ts'
import { batchWire, deepenChannel } from './wire.ts'

/** What was applied, per torrent, for tests and benchmarks to check. */
export interface FastStats {
  wires: number
  batched: number
  deepened: number
  /** Wires that offered larger requests (requests.ts); they are used if the peer agrees. */
  offered: number
}

const stats = new WeakMap<Torrent, FastStats>()

export function fastStats(torrent: Torrent): FastStats | undefined {
  return stats.get(torrent)
}

function peerOf(t: TorrentInternals, wire: unknown): PeerInternals | undefined {
  for (const peer of t._peers?.values() ?? []) if (peer.wire === wire) return peer
  return undefined
}

/**
 * Replaces Torrent#_update. WebTorrent runs its request loop (_updateWireWrapper) from
 * requestIdleCallback (timeout 250 ms), once per block received. A page busy receiving at
 * full speed is seldom idle, so the pipeline refilled late (up to the 250 ms timeout) and the
 * queue of idle callbacks grew with every block. Here one run is queued per microtask
 * checkpoint, however many blocks asked for it.
 */
function promptUpdates(t: TorrentInternals): void {
  if (typeof t._updateWireWrapper !== 'function') return
  let queued = false
  t._update = () => {
    if (queued) return
    queued = true
    queueMicrotask(() => {
      queued = false
      if (!t.destroyed) t._updateWireWrapper()
    })
  }
}

/** Puts `torrent` on the fast path; call it as the client makes the torrent ('add'). */
export function accelerate(torrent: Torrent): void {
  const t = internals(torrent)
  const s: FastStats = { wires: 0, batched: 0, deepened: 0, offered: 0 }
  stats.set(torrent, s)
  promptUpdates(t)
  // 'wire' comes once the peer's handshake is in, before WebTorrent sends its bitfield.
  t.on('wire', (wire) => {
    s.wires++
    const peer = peerOf(t, wire)
    if (peer?.type !== 'webrtc' || !peer.conn) return
    if (!batchWire(wire)) return
    s.batched++
    if (deepenChannel(peer.conn)) s.deepened++
    if (mergeRequests(wire)) s.offered++
  })
}
