// A chunk store wrapper (abstract-chunk-store: put, get, close, destroy) that keeps the
// pieces written or read last in memory, up to a byte budget, and answers reads of them
// without a copy. It is our client's read cache, in place of WebTorrent's own.
//
// Why: in a swarm a leecher uploads a piece to the other leechers right after it announced
// it (BEP 3 `have`), and WebTorrent's read cache (cache-chunk-store) drops a piece when it is
// written, so each of those uploads read the piece back from the OPFS store, through its
// worker (and, in a private window, the browser process). And cache-chunk-store answers every
// read of part of a piece with a copy (`slice`): one more copy of every byte a page serves
// (copying 256 MiB into fresh buffers takes ~0.2 CPU-s here). Here a read of a piece not held
// reads the whole piece once (readers of the same piece meanwhile wait for that one read),
// and every read of a held piece is a view of it (`subarray`): nothing downstream writes to
// it (the wire copies it into its batch or the data channel copies it on send).
//
// A piece that the store handed back after its write (the OPFS store: its memory went to the
// worker and back, so the store keeps none of it) goes, when let go of without a view of it
// ever served, to `recycle` (the page's pool of piece buffers, buffer-pool.ts): nothing else
// holds it by then. A piece served once is left to the garbage collector, since a view of it
// may still be waiting to be sent; one the store may keep (a memory store) is never recycled.

import {
  callbackOf,
  rangeOf,
  spanIn,
  type Callback,
  type ChunkRange as Range,
  type GetOptions,
} from '../../chunk-store-args.ts'

/** The chunk-store surface WebTorrent uses. */
export interface ChunkStore {
  readonly chunkLength: number
  /** `cb`'s value, when given, is the piece's bytes as the store now holds them: the store
   * took `buf` itself (its memory moved to a worker and back, opfs-store.ts), and `buf` is
   * empty (detached) from then on. */
  put(index: number, buf: Uint8Array, cb?: Callback<Uint8Array | void>): void
  get(
    index: number,
    opts: { offset?: number; length?: number } | null,
    cb: Callback<Uint8Array>,
  ): void
  close(cb?: Callback<void>): void
  destroy(cb?: Callback<void>): void
}

/** What the last pieces written may hold in memory, per torrent. */
export const RECENT_PIECES_BYTES = 8 * 1024 * 1024

export class RecentPieces implements ChunkStore {
  readonly chunkLength: number
  readonly #store: ChunkStore
  readonly #budget: number
  /** Insertion order is age: the first entry is the oldest. */
  readonly #pieces = new Map<number, Uint8Array>()
  #bytes = 0
  /** Whole-piece reads under way, with the reads waiting on each. */
  readonly #reading = new Map<number, { opts: Range | null; done: Callback<Uint8Array> }[]>()
  /** Pieces written while a read of them was under way: that read is not kept. */
  readonly #overwritten = new Set<number>()
  /** Pieces held that a view was handed out of. */
  readonly #served = new WeakSet<Uint8Array>()
  /** Pieces the store handed back after writing them: it keeps none of their memory. */
  readonly #handedBack = new WeakSet<Uint8Array>()
  readonly #recycle: (buf: Uint8Array) => void
  #open = true

  /** `recycle`: where a piece goes that is let go of unserved. */
  constructor(
    store: ChunkStore,
    budget = RECENT_PIECES_BYTES,
    recycle: (buf: Uint8Array) => void = () => {},
  ) {
    if (!(budget >= 0)) throw new RangeError(`budget must be ≥ 0, not ${budget}`)
    this.#store = store
    this.#budget = budget
    this.#recycle = recycle
    this.chunkLength = store.chunkLength
  }

  put(index: number, buf: Uint8Array, cb: Callback<void> = () => {}): void {
    this.#forget(index)
    if (this.#reading.has(index)) this.#overwritten.add(index)
    this.#store.put(index, buf, (err, kept) => {
      if (!err && kept) this.#handedBack.add(kept)
      if (!err) this.#remember(index, kept ?? buf)
      cb(err)
    })
  }

  get(index: number, given?: GetOptions | Callback<Uint8Array>, cb?: Callback<Uint8Array>): void {
    const opts = rangeOf(given)
    const done = callbackOf(given, cb)
    const buf = this.#pieces.get(index)
    if (buf) {
      // Most recently used last: reads keep a piece that is still asked for.
      this.#pieces.delete(index)
      this.#pieces.set(index, buf)
      this.#served.add(buf)
      return queueMicrotask(() => serve(index, buf, opts, done))
    }
    // Pieces too large to keep two of are read in part, as asked.
    if (this.chunkLength * 2 > this.#budget) return this.#store.get(index, opts, done)
    const waiting = this.#reading.get(index)
    if (waiting) return void waiting.push({ opts, done })
    this.#reading.set(index, [{ opts, done }])
    this.#store.get(index, null, (err, whole) => {
      const waiters = this.#reading.get(index) ?? []
      this.#reading.delete(index)
      // A put since the read began holds newer bytes than it read (and keeps them itself).
      const overwritten = this.#overwritten.delete(index)
      if (err || !whole) {
        const error = err ?? new Error(`chunk ${index} is not stored`)
        for (const w of waiters) w.done(error)
        return
      }
      if (!overwritten && this.#open) this.#remember(index, whole)
      this.#served.add(whole)
      for (const w of waiters) serve(index, whole, w.opts, w.done)
    })
  }

  close(cb?: Callback<void>): void {
    this.#open = false
    this.#clear()
    this.#store.close(cb)
  }

  destroy(cb?: Callback<void>): void {
    this.#open = false
    this.#clear()
    this.#store.destroy(cb)
  }

  #remember(index: number, buf: Uint8Array): void {
    if (buf.length > this.#budget) return
    this.#forget(index)
    this.#pieces.set(index, buf)
    this.#bytes += buf.length
    for (const [old, b] of this.#pieces) {
      if (this.#bytes <= this.#budget) break
      this.#pieces.delete(old)
      this.#bytes -= b.length
      this.#letGo(b)
    }
  }

  #forget(index: number): void {
    const b = this.#pieces.get(index)
    if (!b) return
    this.#pieces.delete(index)
    this.#bytes -= b.length
    this.#letGo(b)
  }

  #letGo(buf: Uint8Array): void {
    if (this.#handedBack.has(buf) && !this.#served.has(buf)) this.#recycle(buf)
  }

  #clear(): void {
    this.#pieces.clear()
    this.#bytes = 0
  }
}

/** Answers a read of `opts` (the whole piece when null) from `piece`, as a view of it. */
function serve(index: number, piece: Uint8Array, opts: Range | null, done: Callback<Uint8Array>) {
  const span = spanIn(index, piece.length, opts)
  if (span instanceof Error) return done(span)
  done(null, piece.subarray(span.offset, span.offset + span.length))
}
