// The OPFS store's data files kept in memory, as the OPFS worker (app/workers/opfs.worker.ts)
// keeps them on disk: for tests of the OPFS store and of what is built on it, in Node.

import type { ChunkFile, ChunkFiles } from './opfs-store.ts'

/** Files in memory, as the OPFS worker keeps them on disk; `quota` caps the bytes held. */
export class MemoryFiles implements ChunkFiles {
  readonly data = new Map<string, Uint8Array>()
  flushed = 0
  /** Reads that reached the files. */
  reads = 0
  constructor(readonly quota = Infinity) {}

  file(key: string): ChunkFile {
    return {
      write: async (at, bytes, length, handOver) => {
        // A buffer handed over moves here and back, as to and from the OPFS worker.
        const back =
          handOver && bytes.byteLength === bytes.buffer.byteLength
            ? new Uint8Array(
                structuredClone(bytes.buffer, { transfer: [bytes.buffer as ArrayBuffer] }),
              )
            : undefined
        if (back) bytes = back
        const old = this.data.get(key) ?? new Uint8Array(0)
        // The whole file is taken at the first write, as the OPFS worker does.
        const size = Math.max(old.length, at + bytes.length, length)
        const others = [...this.data].reduce((n, [k, v]) => (k === key ? n : n + v.length), 0)
        if (others + size > this.quota) throw new DOMException('quota', 'QuotaExceededError')
        const next = new Uint8Array(size)
        next.set(old)
        next.set(bytes, at)
        this.data.set(key, next)
        return back
      },
      read: async (at, length) => {
        this.reads++
        const all = this.data.get(key) ?? new Uint8Array(0)
        if (all.length === 0) throw new DOMException('nothing is stored yet', 'NotFoundError')
        if (at + length > all.length) throw new RangeError('short read')
        return all.slice(at, at + length)
      },
      flush: async () => void this.flushed++,
      close: async () => {},
      snapshot: async () => new Blob([(this.data.get(key) ?? new Uint8Array(0)).slice()]),
      remove: async () => void this.data.delete(key),
    }
  }
}
