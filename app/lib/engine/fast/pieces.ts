// A downloaded piece's blocks joined into a pooled buffer (buffer-pool.ts: pieceBuffers)
// instead of a fresh one, on each of our torrents' Piece objects (torrent-piece, what
// WebTorrent 3.0.21 downloads into). The pooled buffer then goes to the OPFS worker and back
// without a copy (opfs-store.ts) and returns to the pool when RecentPieces lets go of it
// unserved (recent-pieces.ts). Instance patches only: the bundle's Piece class is shared with
// any other WebTorrent client in the page.

import { pieceBuffers } from './buffer-pool.ts'
import type { PieceInternals } from '../internals.ts'

interface FlushablePiece extends PieceInternals {
  length: number
  _buffered: number
  _flushed: boolean
  sources: unknown[] | null
  flush(): Uint8Array | null
}

const pooled = new WeakSet<object>()

/**
 * Gives `piece` a flush() that joins its blocks into a buffer from pieceBuffers, doing what
 * torrent-piece's flush does otherwise (null until every block is in; then the blocks, the
 * cancellations and the sources are dropped and the piece counts as flushed). Returns false,
 * leaving the piece as it is, when it is not the shape this relies on.
 */
export function poolPiece(p: PieceInternals): boolean {
  const piece = p as FlushablePiece
  if (pooled.has(piece)) return true
  if (typeof piece.flush !== 'function' || typeof piece.length !== 'number') return false
  if (typeof piece._buffered !== 'number' || typeof piece._chunks !== 'number') return false
  pooled.add(piece)
  piece.flush = function (this: FlushablePiece) {
    const blocks = this._buffer
    if (!blocks || this._chunks !== this._buffered) return null
    const out = pieceBuffers.take(this.length)
    let at = 0
    for (const block of blocks) {
      out.set(block!, at)
      at += block!.length
    }
    this._buffer = null
    this._cancellations = null
    this.sources = null
    this._flushed = true
    return out
  }
  return true
}
