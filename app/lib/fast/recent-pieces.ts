// A chunk store wrapper (abstract-chunk-store: put, get, close, destroy) that answers reads
// of the pieces it stored last from memory, up to a byte budget.
//
// Why: in a swarm a leecher uploads a piece to the other leechers right after it announced
// it (BEP 3 `have`), and WebTorrent's read cache (cache-chunk-store) drops a piece when it is
// written, so each of those uploads read the piece back from the OPFS store, through its
// worker (and, in a private window, the browser process). Those pieces are the ones asked
// for most; keeping the last few megabytes of them costs little and bounded memory.

type Callback<T> = (err: Error | null, value?: T) => void

/** The chunk-store surface WebTorrent uses. */
export interface ChunkStore {
  readonly chunkLength: number
  put(index: number, buf: Uint8Array, cb?: Callback<void>): void
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

  constructor(store: ChunkStore, budget = RECENT_PIECES_BYTES) {
    if (!(budget >= 0)) throw new RangeError(`budget must be ≥ 0, not ${budget}`)
    this.#store = store
    this.#budget = budget
    this.chunkLength = store.chunkLength
  }

  put(index: number, buf: Uint8Array, cb: Callback<void> = () => {}): void {
    this.#forget(index)
    this.#store.put(index, buf, (err) => {
      if (!err) this.#remember(index, buf)
      cb(err)
    })
  }

  get(
    index: number,
    opts: { offset?: number; length?: number } | null | Callback<Uint8Array>,
    cb?: Callback<Uint8Array>,
  ): void {
    if (typeof opts === 'function') return this.get(index, null, opts)
    const done = cb ?? (() => {})
    const buf = this.#pieces.get(index)
    if (!buf) return this.#store.get(index, opts, done)
    const offset = opts?.offset ?? 0
    const length = opts?.length ?? buf.length - offset
    if (offset < 0 || length < 0 || offset + length > buf.length) {
      return this.#store.get(index, opts, done) // the store's own error for a bad range
    }
    queueMicrotask(() => done(null, buf.subarray(offset, offset + length)))
  }

  close(cb?: Callback<void>): void {
    this.#clear()
    this.#store.close(cb)
  }

  destroy(cb?: Callback<void>): void {
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
    }
  }

  #forget(index: number): void {
    const b = this.#pieces.get(index)
    if (!b) return
    this.#pieces.delete(index)
    this.#bytes -= b.length
  }

  #clear(): void {
    this.#pieces.clear()
    this.#bytes = 0
  }
}
