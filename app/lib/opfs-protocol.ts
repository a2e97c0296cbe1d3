// Messages between the page's OPFS chunk stores (opfs-store.ts) and the worker that owns
// the files (app/workers/opfs.worker.ts). Each torrent's data is one file, `key`, in the
// origin-private file system (https://fs.spec.whatwg.org/#sandboxed-filesystem). The worker
// answers the requests on one file in the order they were sent (perKeyQueue), so a snapshot
// is never split by a read that takes the file's handle between its close and its getFile.

export type OpfsRequest =
  /** `size` is the torrent's length: the file is given that size before its first write. */
  | { id: number; op: 'write'; key: string; size: number; at: number; data: ArrayBuffer }
  | { id: number; op: 'read'; key: string; at: number; length: number }
  /** Makes every earlier write durable (FileSystemSyncAccessHandle.flush). */
  | { id: number; op: 'flush'; key: string }
  /** Releases the file's access handle (the next read or write takes it again). */
  | { id: number; op: 'close'; key: string }
  /** Flushes and releases the handle, then answers with the file as a disk-backed File. */
  | { id: number; op: 'snapshot'; key: string }
  | { id: number; op: 'remove'; key: string }

export type OpfsReply =
  /** `data`: the bytes a read asked for, or a write's own buffer handed back once written;
   * `file`: a snapshot's File (a handle to the disk, not the bytes: structured clone passes
   * Files by reference). */
  | { id: number; ok: true; data?: ArrayBuffer; file?: File }
  /** `name` is the DOMException's name: QuotaExceededError, NoModificationAllowedError… */
  | { id: number; ok: false; name: string; message: string }

/** The OPFS folder that holds one file per torrent, named by info hash. */
export const TORRENT_DIR = 'torrents'

/** Runs jobs one at a time per key, each once every earlier job on that key has settled
 * (failed or not); jobs on different keys do not wait for each other. */
export function perKeyQueue() {
  const tails = new Map<string, Promise<unknown>>()
  return function inOrder<T>(key: string, job: () => Promise<T>): Promise<T> {
    const result = (tails.get(key) ?? Promise.resolve()).then(job, job)
    const tail = result.catch(() => undefined)
    tails.set(key, tail)
    // The map only holds keys with work pending.
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key)
    })
    return result
  }
}
