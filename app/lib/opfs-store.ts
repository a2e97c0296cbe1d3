// A chunk store (the abstract-chunk-store interface WebTorrent uses: put, get, close,
// destroy, chunkLength) that keeps each torrent in one file of the origin-private file
// system, named by its info hash, piece i at byte i × pieceLength.
//
// Why not WebTorrent 3's own browser default (fsa-chunk-store): it writes each piece to a
// file of its own through createWritable, which copies into a swap file and renames on every
// close, so each byte is written twice; on import it wipes an OPFS folder named `chunks`;
// and a write that fails destroys the torrent with nothing to tell the user why. Here the
// writes go to a worker (app/workers/opfs.worker.ts) that writes in place with a
// FileSystemSyncAccessHandle, a piece at a time: the page never holds more than the pieces in
// flight, so a 4 GiB torrent costs no more memory than a 4 MiB one; and a full disk comes
// back as a QuotaExceededError that the app turns into a paused torrent and a message.
// Saving a finished torrent's file takes a slice of the data file as a disk-backed File
// (`savedFile`): the bytes go from disk to the download without passing through the page.

import { ChunkLayout, asError, failSoon } from './chunk-store-args.ts'
import type { Callback, GetOptions } from './chunk-store-args.ts'
import { pieceBuffers } from './engine/index.ts'
import type { OpfsReply, OpfsRequest } from './opfs-protocol.ts'

/** One torrent's data file. */
export interface ChunkFile {
  /** `size`: the whole file's length, reserved before the first write (see the worker).
   * `handOver`: `data` is the whole of a buffer nobody else reads until this settles; it may
   * be moved to the worker rather than copied (detached here), and comes back in the result.
   * The result is `data`'s bytes as handed back, or nothing when `data` was copied. */
  write(at: number, data: Uint8Array, size: number, handOver?: boolean): Promise<Uint8Array | void>
  /** Rejects with a NotFoundError while nothing at all is stored in the file. */
  read(at: number, length: number): Promise<Uint8Array>
  /** Durable once this resolves: call before recording pieces as kept (persist.ts). */
  flush(): Promise<void>
  close(): Promise<void>
  /** The whole file, flushed, as a Blob backed by the disk (the worker's File). Only for a
   * file no longer written to: see app/workers/opfs.worker.ts. */
  snapshot(): Promise<Blob>
  remove(): Promise<void>
}

/** Where the data files live: the OPFS worker in the page, memory in unit tests. */
export interface ChunkFiles {
  file(key: string): ChunkFile
}

/** What WebTorrent passes a store's constructor (its own fields plus `storeOpts`). */
export interface OpfsStoreOptions {
  length: number
  /** WebTorrent's torrent: its info hash names the file. */
  torrent?: { infoHash: string }
  /** The file's name when there is no torrent object (tests). */
  key?: string
  backend?: ChunkFiles
}

export function isQuotaError(err: unknown): boolean {
  return err instanceof Error && err.name === 'QuotaExceededError'
}

/** The open stores, by key: how the page finds a torrent's data file to save from it
 * (WebTorrent wraps the store in caches and keeps no public handle on it). */
const openStores = new Map<string, OpfsChunkStore>()

/** The OPFS store holding the torrent `key` in this page, if it is kept in OPFS. */
export function opfsStoreOf(key: string): OpfsChunkStore | undefined {
  return openStores.get(key)
}

export class OpfsChunkStore {
  readonly chunkLength: number
  readonly length: number
  readonly key: string
  readonly #file: ChunkFile
  readonly #layout: ChunkLayout
  #closed = false
  /** The file held nothing when first read (a new download): chunks this store has not
   * written since cannot be there, and are refused at once. Why: WebTorrent checks every
   * piece of a new torrent against its store before it starts; asking the worker for each
   * of a thousand pieces, two at a time, cost a new download a good part of a second before
   * its first byte (bench/transfer). */
  #empty = false
  /** Chunks written through this store: the only ones an empty file can hold. */
  readonly #written = new Set<number>()

  constructor(chunkLength: number, opts: OpfsStoreOptions) {
    this.#layout = new ChunkLayout(chunkLength, opts.length)
    const key = opts.key ?? opts.torrent?.infoHash
    if (!key || !/^[0-9a-z-]+$/i.test(key)) throw new TypeError('a store needs a plain file key')
    this.chunkLength = chunkLength
    this.length = opts.length
    this.key = key
    this.#file = (opts.backend ?? opfsFiles()).file(key)
    openStores.set(key, this)
  }

  /** The torrent's whole data as a disk-backed Blob (every piece must be stored: the file
   * must not be written again while the Blob is in use). */
  snapshot(): Promise<Blob> {
    if (this.#closed) return Promise.reject(new Error('storage is closed'))
    return this.#file.snapshot()
  }

  /** `cb`'s value, when there is one, holds the piece's bytes: `buf` (a pooled piece) was moved
   * to the worker and back, and is detached. */
  put(index: number, buf: Uint8Array, cb: Callback<Uint8Array | undefined> = () => {}): void {
    const wrong = this.#layout.putRefusal(index, buf.length, this.#closed)
    if (wrong) return failSoon(cb, wrong)
    this.#written.add(index)
    // A piece joined into the page's pool (fast/pieces.ts) is read by nothing else while it is
    // written (WebTorrent serves and reads a piece only once its put has completed), so it is
    // moved to the worker and back instead of copied.
    const handOver = pieceBuffers.owns(buf)
    this.#file.write(index * this.chunkLength, buf, this.length, handOver).then(
      (back) => cb(null, back ? pieceBuffers.adopt(back.buffer as ArrayBuffer) : undefined),
      (err: unknown) => cb(asError(err)),
    )
  }

  get(index: number, opts?: GetOptions | Callback<Uint8Array>, cb?: Callback<Uint8Array>): void {
    const read = this.#layout.read(index, opts, cb, this.#closed)
    if (!read) return
    const { offset, length, done } = read
    if (length === 0) return void queueMicrotask(() => done(null, new Uint8Array(0)))
    if (this.#empty && !this.#written.has(index)) {
      return failSoon(done, `chunk ${index} is not stored`)
    }
    this.#file.read(index * this.chunkLength + offset, length).then(
      (data) => done(null, data),
      (err: unknown) => {
        if ((err as { name?: unknown } | null)?.name === 'NotFoundError') this.#empty = true
        done(asError(err))
      },
    )
  }

  close(cb: Callback<void> = () => {}): void {
    if (this.#closed) return failSoon(cb, 'storage is closed')
    this.#closed = true
    this.#forget()
    this.#file.close().then(
      () => cb(null),
      (err: unknown) => cb(asError(err)),
    )
  }

  /** Deletes the torrent's data file. */
  destroy(cb: Callback<void> = () => {}): void {
    this.#closed = true
    this.#forget()
    this.#file.remove().then(
      () => cb(null),
      (err: unknown) => cb(asError(err)),
    )
  }

  #forget(): void {
    if (openStores.get(this.key) === this) openStores.delete(this.key)
  }
}

/** Where file `index` lies in its torrent's data: a torrent's files are its pieces' bytes cut
 * in order (BEP 3, the info dictionary's `files`). `lengths`: every file's length. */
export function fileSpan(
  lengths: readonly number[],
  index: number,
): { start: number; end: number } {
  if (!Number.isInteger(index) || index < 0 || index >= lengths.length) {
    throw new RangeError(`no file ${index} in this torrent`)
  }
  let start = 0
  for (let i = 0; i < index; i++) start += lengths[i]!
  return { start, end: start + lengths[index]! }
}

/** File `index` of a torrent stored whole in `store`, as a disk-backed Blob of `type`. */
export async function savedFile(
  store: OpfsChunkStore,
  lengths: readonly number[],
  index: number,
  type = '',
): Promise<Blob> {
  const { start, end } = fileSpan(lengths, index)
  return (await store.snapshot()).slice(start, end, type)
}

/** Whether this browser can keep torrents in OPFS through a worker's sync access handles. */
export function opfsSupported(): boolean {
  return (
    typeof Worker !== 'undefined' &&
    typeof navigator !== 'undefined' &&
    typeof navigator.storage?.getDirectory === 'function' &&
    // createSyncAccessHandle itself is only exposed in dedicated workers, not here; every
    // browser with OPFS and module workers has it (Chromium 102, Firefox 111, Safari 15.2).
    typeof FileSystemFileHandle !== 'undefined'
  )
}

/** The page's data files, served by one OPFS worker. */
class WorkerFiles implements ChunkFiles {
  #worker: Worker | null = null
  #next = 1
  readonly #pending = new Map<number, { resolve: (r: OpfsReply) => void }>()

  file(key: string): ChunkFile {
    return {
      write: async (at, data, size, handOver = false) => {
        // Handed over: the buffer itself moves to the worker, which moves it back once
        // written. Otherwise one copy, moved: the caller may read its buffer meanwhile (a
        // piece not from the pool). Never structured clone, which copies twice (into the
        // message, then into the worker): on 2 cores every copy is speed. (A clone keeps the
        // copy out of the page's heap; at 4 GiB the tab peaked at 227 MB with it and at
        // 227-268 MB without: within the 300 either way, bench/bigfile.)
        const whole =
          handOver && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
        const moved = whole ? (data.buffer as ArrayBuffer) : data.slice().buffer
        const reply = await this.#ask({ op: 'write', key, size, at, data: moved }, [moved])
        return whole && reply.data ? new Uint8Array(reply.data) : undefined
      },
      read: async (at, length) => {
        const reply = await this.#ask({ op: 'read', key, at, length })
        return new Uint8Array(reply.data ?? new ArrayBuffer(0))
      },
      flush: async () => void (await this.#ask({ op: 'flush', key })),
      close: async () => void (await this.#ask({ op: 'close', key })),
      snapshot: async () => {
        const reply = await this.#ask({ op: 'snapshot', key })
        if (!reply.file) throw new Error(`no file for ${key}`)
        return reply.file
      },
      remove: async () => void (await this.#ask({ op: 'remove', key })),
    }
  }

  async #ask(
    req: DistributiveOmit<OpfsRequest, 'id'>,
    transfer: Transferable[] = [],
  ): Promise<OpfsReply & { ok: true }> {
    const id = this.#next++
    const reply = await new Promise<OpfsReply>((resolve) => {
      this.#pending.set(id, { resolve })
      this.#spawn().postMessage({ ...req, id } as OpfsRequest, { transfer })
    })
    this.#pending.delete(id)
    if (!reply.ok) throw new DOMException(reply.message, reply.name)
    return reply
  }

  #spawn(): Worker {
    if (!this.#worker) {
      // Vite bundles the worker from this exact `new URL(…, import.meta.url)` form.
      this.#worker = new Worker(new URL('../workers/opfs.worker.ts', import.meta.url), {
        type: 'module',
      })
      this.#worker.onmessage = (event: MessageEvent<OpfsReply>) => {
        this.#pending.get(event.data.id)?.resolve(event.data)
      }
    }
    return this.#worker
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

let shared: WorkerFiles | null = null

/** The page's one set of OPFS data files. */
export function opfsFiles(): ChunkFiles {
  shared ??= new WorkerFiles()
  return shared
}
