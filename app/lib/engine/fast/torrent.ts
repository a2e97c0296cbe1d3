// The fast path for one of our client's torrents (WebTorrent 3.0.21): each WebRTC wire gets
// batched messages and a deeper send buffer (wire.ts), a bounded start against Chromium's
// early packet drops (start.ts) and, with another Monsoon peer, larger requests
// (requests.ts); pieces are picked rarest first; the request loop runs as soon as a block
// lands instead of when the page is idle; the last blocks are asked of more than one peer
// (endgame.ts); each piece is joined into a pooled buffer (pieces.ts). Instance patches only
// (see wire.ts).

import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'
import { hasBlocksToAsk, internals, peerOfWire, type TorrentInternals } from '../internals.ts'
import { engineReport, recordPatch } from '../patches.ts'
import { runEndgame } from './endgame.ts'
import { poolPiece } from './pieces.ts'
import { mergeRequests } from './requests.ts'
import { boundStart, type StartEnd } from './start.ts'
import { batchWire, deepenChannel, skipRedundantHaves } from './wire.ts'

/**
 * Replaces Torrent#_update. WebTorrent runs its request loop (_updateWireWrapper) from
 * requestIdleCallback (timeout 250 ms), once per block received. A page busy receiving at
 * full speed is seldom idle, so the pipeline refilled late (up to the 250 ms timeout) and the
 * queue of idle callbacks grew with every block. Here one run is queued per microtask
 * checkpoint, however many blocks asked for it.
 */
function promptUpdates(t: TorrentInternals): boolean {
  if (typeof t._updateWireWrapper !== 'function') return false
  let queued = false
  t._update = () => {
    if (queued) return
    queued = true
    queueMicrotask(() => {
      queued = false
      if (!t.destroyed) t._updateWireWrapper()
    })
  }
  return true
}

/**
 * Rarest first (WebTorrent's 'rarest' strategy) in place of its default, 'sequential', with
 * a filter that skips pieces that cannot be asked for. Why rarest: with 'sequential' every
 * leecher of a swarm asks for the same pieces at the same time, all from the seeder, and has
 * little to trade; rarest first spreads them so leechers serve each other. Why the filter:
 * RarityMap#getRarestPiece scans every piece per call, and the request loop calls it again
 * for each piece it could not use (verified, or every block already asked for), so near the
 * end of a download one refill cost (pieces)² filter calls; now every piece it returns can
 * be asked for. Streaming is unchanged: critical pieces and priority selections come first
 * in WebTorrent's loop, and while a stream reads the order is sequential, as stock.
 */
function rarestFirst(t: TorrentInternals, applied: (ok: boolean) => void): void {
  // Sequential while a stream reads (WebTorrent's file iterator selects with priority 1):
  // rarest first would fetch the stream's range in random order.
  const streaming = () => {
    for (let i = 0; i < t._selections.length; i++) if (t._selections.get(i).priority) return true
    return false
  }
  Object.defineProperty(t, 'strategy', {
    configurable: true,
    get: () => (streaming() ? 'sequential' : 'rarest'),
    set: () => {},
  })
  const patch = () => {
    const map = t._rarityMap
    if (!map || typeof map.getRarestPiece !== 'function' || !Array.isArray(t.pieces)) {
      return applied(false)
    }
    const usable = (filter?: (i: number) => boolean) => (i: number) =>
      hasBlocksToAsk(t.pieces[i]) && (!filter || filter(i))
    const original = map.getRarestPiece
    const n = map._numPieces
    if (!Array.isArray(map._pieces) || !Number.isSafeInteger(n) || n !== map._pieces.length) {
      map.getRarestPiece = (filter) => original.call(map, usable(filter))
      return applied(true)
    }
    const picker = new RarestPicker(() => map._pieces, n)
    map.getRarestPiece = (filter) => picker.pick(usable(filter), filter ?? null)
    applied(true)
  }
  if (t._rarityMap) patch()
  else t.once('metadata', patch)
}

/**
 * Joins each piece this torrent downloads into a pooled buffer (pieces.ts): every piece is
 * asked for through Torrent#_request (the request loop's and the endgame's), so each gets
 * its flush() there, before its first block is reserved.
 */
function poolPieces(t: TorrentInternals): boolean {
  const request = t._request
  if (typeof request !== 'function') return false
  t._request = function (this: TorrentInternals, wire, index, hotswap) {
    const piece = this.pieces[index]
    if (piece) poolPiece(piece)
    return request.call(this, wire, index, hotswap)
  }
  return true
}

/**
 * RarityMap#getRarestPiece in O(1) per piece picked: one of the usable pieces of least
 * availability (how many peers have it), chosen at random, or -1. WebTorrent's scans every
 * piece and builds an array of every candidate on each call, and its request loop calls it
 * once for each piece it starts, with a new filter each time the loop runs: a 1,024-piece
 * download from one peer cost a million filter calls and array entries (by perf, 2-10 % of
 * the leecher's main thread in bench/transfer). Here the first call with a filter scans once
 * and keeps the candidates (in `scratch`, one slot per piece); later calls with the same
 * filter draw from them at random, each checked again, since the loop reserves the pieces it
 * was given (and marks them tried); once none is left it scans again. A new filter, or the
 * next microtask, starts afresh: availability only changes between the loop's runs.
 */
export class RarestPicker {
  readonly #availability: () => readonly (number | undefined)[]
  readonly #scratch: Int32Array
  #filter: ((i: number) => boolean) | null = null
  #left = 0

  constructor(availability: () => readonly (number | undefined)[], pieces: number) {
    this.#availability = availability
    this.#scratch = new Int32Array(pieces)
  }

  pick(usable: (i: number) => boolean, filter: ((i: number) => boolean) | null): number {
    let fresh = filter === null || filter !== this.#filter
    if (fresh && !this.#scan(usable, filter)) return -1
    for (;;) {
      while (this.#left > 0) {
        const at = (Math.random() * this.#left) | 0
        const i = this.#scratch[at]!
        this.#scratch[at] = this.#scratch[--this.#left]!
        if (usable(i)) return i
      }
      // Drawn out: the next rarest, unless the scan just made found nothing usable left.
      if (fresh || !this.#scan(usable, filter)) return -1
      fresh = true
    }
  }

  /** Keeps every usable piece of least availability; false when there is none. */
  #scan(usable: (i: number) => boolean, filter: ((i: number) => boolean) | null): boolean {
    const availability = this.#availability()
    const scratch = this.#scratch
    const n = Math.min(availability.length, scratch.length)
    let count = 0
    let min = Infinity
    for (let i = 0; i < n; i++) {
      if (!usable(i)) continue
      const a = availability[i]!
      if (a === min) scratch[count++] = i
      else if (a < min) {
        min = a
        scratch[0] = i
        count = 1
      }
    }
    this.#left = count
    if (this.#filter === null && filter !== null) queueMicrotask(() => (this.#filter = null))
    this.#filter = filter
    return count > 0
  }
}

/** Puts `torrent` on the fast path; call it as the client makes the torrent ('add'). Each
 * patch is recorded by name (patches.ts). */
export function accelerate(torrent: Torrent): void {
  const t = internals(torrent)
  const report = engineReport(torrent)
  const record = (name: Parameters<typeof recordPatch>[1], ok: boolean) =>
    recordPatch(torrent, name, ok)
  record('prompt-updates', promptUpdates(t))
  rarestFirst(t, (ok) => record('rarest-first', ok))
  record('pooled-pieces', poolPieces(t))
  // Peers are asked for blocks already out on other wires once nothing else is left.
  const endgame = () => {
    const fits = typeof t._request === 'function' && Array.isArray(t.pieces)
    if (record('endgame', fits)) runEndgame(t)
  }
  if (t.ready) endgame()
  else t.once('ready', endgame)
  // 'wire' comes once the peer's handshake is in, before WebTorrent sends its bitfield.
  t.on('wire', (wire) => {
    report.wires++
    record('skip-redundant-haves', skipRedundantHaves(wire))
    const peer = peerOfWire(torrent, wire)
    if (peer?.type !== 'webrtc') return
    if (!peer.conn || !record('batching', batchWire(wire))) return
    record('deep-channel', deepenChannel(peer.conn))
    record('request-merging', mergeRequests(wire))
    const done = (end: StartEnd) => (report.startEnds[end] = (report.startEnds[end] ?? 0) + 1)
    record('bounded-start', boundStart(wire, peer.conn, { done }))
  })
}
