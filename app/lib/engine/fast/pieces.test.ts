// poolPiece on torrent-piece's Piece, the class WebTorrent 3.0.21 downloads into.
import { describe, expect, it } from 'vitest'
import Piece from 'torrent-piece'
import { pieceBuffers } from './buffer-pool.ts'
import type { PieceInternals } from '../internals.ts'
import { poolPiece } from './pieces.ts'

const BLOCK = 16 * 1024

type P = PieceInternals & {
  reserve(): number
  set(i: number, data: Uint8Array, source: unknown): boolean
  flush(): Uint8Array | null
  _flushed: boolean
}

function filled(piece: P, length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length).map((_, k) => (k * 7 + seed) % 251)
  for (let i = piece.reserve(); i !== -1; i = piece.reserve()) {
    expect(piece.flush()).toBeNull() // not every block is in yet
    piece.set(i, bytes.subarray(i * BLOCK, (i + 1) * BLOCK), 'peer')
  }
  return bytes
}

describe('poolPiece', () => {
  it('joins the blocks into a pooled buffer, as torrent-piece joins them', () => {
    const length = 3 * BLOCK + 100 // a short last block
    const stock = new Piece(length) as unknown as P
    const ours = new Piece(length) as unknown as P
    expect(poolPiece(ours)).toBe(true)
    const a = filled(stock, length, 1)
    filled(ours, length, 1)
    const joined = ours.flush()!
    expect(joined).toEqual(stock.flush())
    expect(joined).toEqual(a)
    expect(pieceBuffers.owns(joined)).toBe(true)
    // As torrent-piece leaves a flushed piece: nothing more to reserve, set or flush.
    expect(ours._buffer).toBeNull()
    expect(ours._flushed).toBe(true)
    expect(ours.reserve()).toBe(-1)
    expect(ours.flush()).toBeNull()
  })

  it('reuses a buffer given back, writing every byte of it again', () => {
    const length = 2 * BLOCK
    const first = new Piece(length) as unknown as P
    poolPiece(first)
    filled(first, length, 5)
    const used = first.flush()!
    pieceBuffers.give(used)
    const second = new Piece(length) as unknown as P
    poolPiece(second)
    const bytes = filled(second, length, 9)
    const joined = second.flush()!
    expect(joined.buffer).toBe(used.buffer)
    expect(joined).toEqual(bytes)
  })

  it('leaves an object of another shape alone', () => {
    const odd = { _chunks: 1, _buffer: null, _reservations: 0, _cancellations: null }
    expect(poolPiece(odd)).toBe(false)
  })
})
