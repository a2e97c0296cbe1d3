// Buffers of the sizes a transfer allocates over and over (a data-channel batch, a piece),
// handed back once nothing reads them and handed out again.
//
// Why: a fresh ArrayBuffer of a few hundred KiB comes from memory the allocator has just
// given back to the kernel, so the kernel faults in and zeroes every page of it again. In a
// 256 MiB bench/transfer here (perf, Chromium 156, 2 cores), joining each piece's blocks and
// copying each piece for the OPFS worker took 21 % of the leecher's main-thread CPU, most of
// it in page faults, and joining each piece message's header and block into one batch 33 %
// of the seeder's (18 points of it page faults). On this machine every CPU-second a transfer
// saves is speed: the browser's own threads use the rest. A buffer used again costs only the
// copy.
//
// Only a buffer this pool made comes back into it, and only once: a buffer given back twice
// would be handed out twice. Whoever gives one back must be the last to read it.

/** Free buffers kept for reuse, in bytes, per pool. */
export const POOL_BYTES = 8 * 1024 * 1024

/** Free buffers are let go of once nothing was taken for this long: a pool keeps memory only
 * while a transfer runs. */
export const POOL_IDLE_MS = 3000

export class BufferPool {
  readonly #budget: number
  #takes = 0
  #trim: ReturnType<typeof setTimeout> | null = null
  /** Free buffers by length. */
  readonly #free = new Map<number, ArrayBuffer[]>()
  #bytes = 0
  /** Every buffer this pool made (or took back from a worker: adopt), free or not. */
  readonly #ours = new WeakSet<ArrayBuffer>()
  readonly #idle = new WeakSet<ArrayBuffer>()

  constructor(budget = POOL_BYTES) {
    if (!(budget >= 0)) throw new RangeError(`budget must be ≥ 0, not ${budget}`)
    this.#budget = budget
  }

  /** Bytes held free. */
  get size(): number {
    return this.#bytes
  }

  /** A buffer of `length` bytes, reused when one is free (its old bytes still in it). */
  take(length: number): Uint8Array {
    this.#takes++
    const free = this.#free.get(length)
    const reused = free?.pop()
    if (reused) {
      this.#bytes -= length
      this.#idle.delete(reused)
      return new Uint8Array(reused)
    }
    const made = new ArrayBuffer(length)
    this.#ours.add(made)
    return new Uint8Array(made)
  }

  /** Whether `view` is the whole of a buffer this pool made. */
  owns(view: Uint8Array): boolean {
    const buf = view.buffer
    return (
      buf instanceof ArrayBuffer &&
      this.#ours.has(buf) &&
      view.byteOffset === 0 &&
      view.byteLength === buf.byteLength &&
      buf.byteLength > 0
    )
  }

  /** Counts `buf` as this pool's: the buffer a worker handed back after one of ours was
   * transferred to it (the transferred one is detached; this one holds its memory). */
  adopt(buf: ArrayBuffer): Uint8Array {
    this.#ours.add(buf)
    return new Uint8Array(buf)
  }

  /** Gives back the whole buffer under `view` (the view may be part of it) for reuse;
   * ignored unless this pool made it, it is not free already, and the budget has room. */
  give(view: Uint8Array): void {
    const buf = view.buffer
    if (!(buf instanceof ArrayBuffer) || !this.#ours.has(buf) || buf.byteLength === 0) return
    if (this.#idle.has(buf) || this.#bytes + buf.byteLength > this.#budget) return
    let free = this.#free.get(buf.byteLength)
    if (!free) this.#free.set(buf.byteLength, (free = []))
    free.push(buf)
    this.#idle.add(buf)
    this.#bytes += buf.byteLength
    if (this.#trim === null) this.#trim = this.#trimLater()
  }

  #trimLater(): ReturnType<typeof setTimeout> {
    const takes = this.#takes
    return setTimeout(() => this.#trimIdle(takes), POOL_IDLE_MS)
  }

  /** Lets go of every free buffer if nothing was taken since the count was `takes`. */
  #trimIdle(takes: number): void {
    this.#trim = null
    if (this.#takes !== takes) {
      this.#trim = this.#trimLater()
      return
    }
    this.#free.clear()
    this.#bytes = 0
  }
}

/** Piece buffers of this page's downloads: joined from their blocks (pieces.ts), handed to the
 * OPFS worker and back without a copy (opfs-store.ts), and given back by RecentPieces when it
 * lets go of a piece it never served. */
export const pieceBuffers = new BufferPool()
