// The endgame (BEP 3: "When a download is almost complete, there's a tendency for the last
// few pieces to all be downloaded off a single maxed-out connection ... send requests for all
// of its missing blocks to all of its peers"), which WebTorrent 3.0.21 lacks: it asks one
// peer for each block, and takes a block back from a wire ("hotswap") only once that wire
// runs under 48 KiB/s. In bench/swarm (one seeder, four leechers) the last leecher sat at
// 97-98 % for 4-6 s of a ~30 s swarm, three runs in four: every block it lacked was asked of
// the busy seeder, 256 requests deep, while its three other peers, finished and idle, had
// every piece.
//
// Here, once nothing is left to ask for (every block of every wanted piece is asked of some
// peer), a peer with room in its pipeline is also asked for blocks that are out on other
// wires, at most two wires per block. The first answer completes the block; WebTorrent drops
// the later one (torrent-piece keeps the first, and a piece once verified is no longer the
// one a late answer belongs to). A duplicate goes through WebTorrent's own Torrent#_request,
// so verification, storing and `have` are WebTorrent's: the block is handed back to the piece
// as if cancelled (torrent-piece's `_cancellations`), which is what `_request` reserves next.

import { BLOCK_BYTES } from './requests.ts'
import {
  hasBlocksToAsk,
  type PieceInternals,
  type TorrentInternals,
  type WireInternals,
} from '../internals.ts'

/** How often a torrent that is not done checks whether it has reached its endgame. */
export const ENDGAME_CHECK_MS = 200
/** The most requests a wire gets out at once in the endgame (2 MiB). */
export const ENDGAME_MAX_REQUESTS = 128
/** The most wires one block is asked of at once. */
const MAX_ASKED = 2

/** Starts checking `t` for its endgame (from the torrent's 'ready' on, until 'done' or
 * 'close'). Returns a stop function. */
export function runEndgame(t: TorrentInternals): () => void {
  const timer = setInterval(() => {
    if (t.destroyed || t.done) return stop()
    endgameStep(t)
  }, ENDGAME_CHECK_MS)
  const stop = () => clearInterval(timer)
  t.once('done', stop)
  t.once('close', stop)
  return stop
}

/**
 * One round: if nothing is left to ask for, asks wires with room for the blocks still out
 * on other wires. Returns the duplicate requests sent (0 outside the endgame).
 */
export function endgameStep(t: TorrentInternals): number {
  if (t.destroyed || t.done || !t.ready || typeof t._request !== 'function') return 0
  const missing: number[] = []
  for (let i = 0; i < t.pieces.length; i++) {
    const piece = t.pieces[i]
    if (!piece || t.bitfield.get(i) || !wanted(t, i)) continue
    // Blocks nobody was asked for: WebTorrent's own request loop hands those out.
    if (hasBlocksToAsk(piece)) return 0
    missing.push(i)
  }
  let sent = 0
  for (const wire of t.wires) {
    if (wire.destroyed || wire.peerChoking || wire.type === 'webSeed') continue
    for (const index of missing) {
      if (wire.requests.length >= ENDGAME_MAX_REQUESTS) break
      if (!wire.peerPieces.get(index)) continue
      const piece = t.pieces[index]
      if (!piece?._buffer || !piece._cancellations) continue
      for (let chunk = 0; chunk < piece._chunks; chunk++) {
        if (wire.requests.length >= ENDGAME_MAX_REQUESTS) break
        if (piece._buffer[chunk]) continue
        const asked = askedOf(t, index, chunk * BLOCK_BYTES)
        if (asked.includes(wire) || asked.length >= MAX_ASKED) continue
        if (!duplicate(t, wire, index, piece, chunk)) break
        sent++
      }
    }
  }
  return sent
}

/** Asks `wire` for block `chunk` of `index` through WebTorrent's _request. False when it
 * would not send (its pipeline is full), the block left as it was. */
function duplicate(
  t: TorrentInternals,
  wire: WireInternals,
  index: number,
  piece: PieceInternals,
  chunk: number,
): boolean {
  const cancellations = piece._cancellations!
  cancellations.push(chunk)
  if (t._request(wire, index, false)) return true
  // Not reserved after all: take the block back out, wherever _request left it.
  const at = cancellations.lastIndexOf(chunk)
  if (at >= 0) cancellations.splice(at, 1)
  return false
}

/** The wires with a request out for the block at `offset` of piece `index`. */
function askedOf(t: TorrentInternals, index: number, offset: number): WireInternals[] {
  const out: WireInternals[] = []
  for (const wire of t.wires) {
    for (const r of wire.requests) {
      if (r.piece === index && r.offset === offset) {
        out.push(wire)
        break
      }
    }
  }
  return out
}

/** Whether piece `index` is in one of the torrent's selections (what it downloads). */
function wanted(t: TorrentInternals, index: number): boolean {
  for (let i = 0; i < t._selections.length; i++) {
    const s = t._selections.get(i)
    if (index >= s.from && index <= s.to) return true
  }
  return false
}
