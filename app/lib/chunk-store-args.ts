// The argument rules of the chunk-store interface WebTorrent uses (abstract-chunk-store,
// https://github.com/mafintosh/abstract-chunk-store: put(index, buf, cb?), get(index, opts?,
// cb), close(cb?), destroy(cb?)), once for every store here: `opts` may be left out,
// `offset` defaults to 0 and `length` to the rest of the chunk, the last chunk is shorter,
// and callbacks never run inside the call.

export type Callback<T> = (err: Error | null, value?: T) => void

/** The part of a chunk `get` reads; none: the whole chunk. */
export interface ChunkRange {
  offset?: number
  length?: number
}

export type GetOptions = ChunkRange | null | undefined

/** The range of `get(index, opts, cb)` or `get(index, cb)` (null: the whole chunk). */
export function rangeOf(opts: GetOptions | Callback<Uint8Array>): ChunkRange | null {
  return typeof opts === 'function' ? null : (opts ?? null)
}

/** The callback of `get(index, opts, cb)` or `get(index, cb)`; one that does nothing when
 * there is none. */
export function callbackOf(
  opts: GetOptions | Callback<Uint8Array>,
  cb: Callback<Uint8Array> | undefined,
): Callback<Uint8Array> {
  return typeof opts === 'function' ? opts : (cb ?? ignore)
}

/** Where a read of `range` lies in chunk `index` of `size` bytes, or the Error to answer
 * with when it does not lie wholly inside it. */
export function spanIn(
  index: number,
  size: number,
  range: ChunkRange | null,
): { offset: number; length: number } | Error {
  const offset = range?.offset ?? 0
  const length = range?.length ?? size - offset
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > size
  ) {
    return new RangeError(`range ${offset}+${length} is outside chunk ${index}`)
  }
  return { offset, length }
}

/** The chunks of `length` bytes cut every `chunkLength`: which indexes exist, and each
 * one's size (the last one's may be shorter). */
export class ChunkLayout {
  readonly chunkLength: number
  readonly length: number
  /** How many chunks there are (0 for no bytes). */
  readonly count: number

  constructor(chunkLength: number, length: number) {
    if (!Number.isSafeInteger(chunkLength) || chunkLength <= 0) {
      throw new RangeError('chunk length must be a positive integer')
    }
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new RangeError('length must be a non-negative integer')
    }
    this.chunkLength = chunkLength
    this.length = length
    this.count = Math.ceil(length / chunkLength)
  }

  has(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.count
  }

  /** The byte size of chunk `index`, which must exist. */
  size(index: number): number {
    return index === this.count - 1 ? this.length - index * this.chunkLength : this.chunkLength
  }

  /** Why chunk `index` cannot be read or written now, or null. */
  refusal(index: number, closed = false): Error | null {
    if (closed) return new Error('storage is closed')
    return this.has(index) ? null : new RangeError(`no chunk ${index}`)
  }

  /** Why `put(index, buf)` with `byteLength` bytes must fail, or null. */
  putRefusal(index: number, byteLength: number, closed: boolean): Error | null {
    const wrong = this.refusal(index, closed)
    if (wrong) return wrong
    const size = this.size(index)
    return byteLength === size
      ? null
      : new RangeError(`chunk ${index} must be ${size} bytes, not ${byteLength}`)
  }

  /** `get(index, opts, cb)` or `get(index, cb)` read against this layout: the bytes asked
   * and the callback, or null once the callback has been told why not. */
  read(
    index: number,
    opts: GetOptions | Callback<Uint8Array>,
    cb: Callback<Uint8Array> | undefined,
    closed: boolean,
  ): { offset: number; length: number; done: Callback<Uint8Array> } | null {
    const done = callbackOf(opts, cb)
    const wrong = this.refusal(index, closed)
    const span = wrong ?? spanIn(index, this.size(index), rangeOf(opts))
    if (span instanceof Error) {
      failSoon(done, span)
      return null
    }
    return { ...span, done }
  }
}

/** Calls `cb` back with `err` on a later microtask. */
export function failSoon(cb: Callback<never>, err: Error | string): void {
  const error = typeof err === 'string' ? new Error(err) : err
  queueMicrotask(() => cb(error))
}

/** A rejection reason as an Error. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

function ignore(): void {}
