// A read-only chunk store (the abstract-chunk-store interface WebTorrent uses) over the
// user's own files. Seeding from it serves pieces straight from the picked File objects:
// WebTorrent's default would first copy every byte into the origin-private file system, a
// second pass over the data with no progress to show and a second copy on disk.

import { ChunkLayout, asError, failSoon } from './chunk-store-args.ts'
import type { Callback, GetOptions } from './chunk-store-args.ts'

/** The largest piece while a torrent stays within SMALL_PIECES_MAX pieces. Why, first:
 * WebCrypto copies a piece when asked for its digest, and copies much over 512 KiB cost
 * twice as much (likely: the allocator maps one that large afresh, and the kernel faults in
 * and zeroes its pages each time). Chromium, 2 workers on 2 cores, SHA-1 of 1 GiB from one
 * buffer: 512 KiB pieces ~2,800 MiB/s (0.7 CPU-s), 1 MiB pieces ~1,300 (1.4 CPU-s). That
 * cost falls on hashing for seeding (bench/hash, 1 GiB: ours 965-969 MiB/s with 512 KiB
 * pieces, 587-655 with 1 MiB) and on every piece a download verifies. Second: a download
 * holds its pieces' buffers (the blocks received, the piece joined for its hash and, when
 * this was measured, its copy for the OPFS worker) until the page's next garbage collection,
 * and bigger pieces left far more of them uncollected (bench/bigfile, 4 GiB into OPFS, the
 * downloading tab's ArrayBuffers: up to ~390-570 MB with 4 MiB pieces, ~210-270 MB with
 * 1 MiB pieces). */
const SMALL_PIECE_BYTES = 512 * 1024
/** The most pieces a torrent gets for the sake of SMALL_PIECE_BYTES (80 KB of piece hashes
 * in its metadata). */
const SMALL_PIECES_MAX = 4096

/** Piece length for a new torrent: about 1,024 pieces, a power of two in 16 KiB..4 MiB (the
 * rule create-torrent applies by default, fixed here so the store knows it in advance), but
 * no more than SMALL_PIECE_BYTES while that keeps the torrent within SMALL_PIECES_MAX pieces,
 * and then the smallest that does (up to 2 GiB: 512 KiB pieces, as libtorrent's default picks
 * at 1 GiB; 4 GiB: 1 MiB; 8 GiB: 2 MiB; 16 GiB and more: 4 MiB). */
export function pieceLengthFor(totalBytes: number): number {
  const target = Math.round(Math.log2(Math.max(1, totalBytes / 1024)))
  const usual = Math.min(4 * 1024 * 1024, Math.max(16 * 1024, 2 ** target))
  if (usual <= SMALL_PIECE_BYTES) return usual
  const fewest = 2 ** Math.ceil(Math.log2(totalBytes / SMALL_PIECES_MAX))
  return Math.min(usual, Math.max(SMALL_PIECE_BYTES, fewest))
}

export class FileChunkStore {
  readonly chunkLength: number
  readonly length: number
  readonly #files: { blob: Blob; offset: number }[]
  readonly #layout: ChunkLayout
  #closed = false

  /** `files` in torrent order: the order they were given to create the torrent. */
  constructor(chunkLength: number, files: Blob[]) {
    let offset = 0
    this.#files = files.map((blob) => {
      const entry = { blob, offset }
      offset += blob.size
      return entry
    })
    this.#layout = new ChunkLayout(chunkLength, offset)
    this.chunkLength = chunkLength
    this.length = offset
  }

  get(index: number, opts?: GetOptions | Callback<Uint8Array>, cb?: Callback<Uint8Array>): void {
    const read = this.#layout.read(index, opts, cb, this.#closed)
    if (!read) return
    const { offset, length, done } = read
    const begin = index * this.chunkLength + offset
    const end = begin + length
    const parts: Blob[] = []
    for (const { blob, offset: at } of this.#files) {
      if (at >= end) break
      if (at + blob.size <= begin) continue
      parts.push(blob.slice(Math.max(0, begin - at), Math.min(blob.size, end - at)))
    }
    new Blob(parts).arrayBuffer().then(
      (buf) => done(null, new Uint8Array(buf)),
      // A file changed or deleted on disk since it was picked can no longer be read.
      (err: unknown) => done(asError(err)),
    )
  }

  put(_index: number, _buf: Uint8Array, cb: Callback<void> = () => {}): void {
    failSoon(cb, 'these files are shared read-only')
  }

  close(cb?: Callback<void>): void {
    this.#closed = true
    queueMicrotask(() => cb?.(null))
  }

  /** Forgets the files; the user's own files are, of course, left alone. */
  destroy(cb?: Callback<void>): void {
    this.close(cb)
  }
}
