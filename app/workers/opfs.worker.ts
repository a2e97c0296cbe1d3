// Owns the torrents' data files in the origin-private file system and does every read and
// write with a FileSystemSyncAccessHandle: synchronous, in place, at an offset, without the
// swap-file copy that createWritable makes on each close. Those handles exist only in
// dedicated workers, hence this worker. One handle per file, opened on first use and kept
// until `close` or `snapshot`; a handle locks its file, so a second tab gets
// NoModificationAllowedError.
//
// Saving a finished download (`snapshot`) releases the handle and hands the page the file
// itself as a File: a reference to the disk that the browser reads in slices as it saves or
// plays, never the bytes in memory. Seeding goes on through the same store: the next piece a
// peer asks for takes the handle again (`open`). A finished torrent is never written again,
// so the File stays valid. Why release rather than call getFile() beside the open handle:
// the handle is an exclusive lock, and File System Access does not promise that a File
// taken under it is complete and readable in every browser (Chromium allows it, others may
// not); after a flush and close it is. Requests on one file run one at a time, in order
// (`inOrder`), so a read that comes in while a snapshot is being taken cannot slip in between
// its close and its getFile().

import { TORRENT_DIR, perKeyQueue, type OpfsReply, type OpfsRequest } from '../lib/opfs-protocol.ts'

interface SyncHandle {
  read(buffer: Uint8Array, opts: { at: number }): number
  write(buffer: Uint8Array, opts: { at: number }): number
  getSize(): number
  truncate(size: number): void
  flush(): void
  close(): void
}
type SyncFileHandle = FileSystemFileHandle & { createSyncAccessHandle(): Promise<SyncHandle> }

const handles = new Map<string, Promise<SyncHandle>>()
let dir: Promise<FileSystemDirectoryHandle> | null = null

function folder(): Promise<FileSystemDirectoryHandle> {
  dir ??= navigator.storage
    .getDirectory()
    .then((root) => root.getDirectoryHandle(TORRENT_DIR, { create: true }))
  return dir
}

/** A page just reloaded may find its old worker still holding the file for a moment. */
const LOCK_RETRIES = 20
const LOCK_RETRY_MS = 250

async function lock(file: SyncFileHandle): Promise<SyncHandle> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await file.createSyncAccessHandle()
    } catch (err) {
      const locked = err instanceof DOMException && err.name === 'NoModificationAllowedError'
      if (!locked || attempt >= LOCK_RETRIES) throw err
      await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS))
    }
  }
}

function open(key: string): Promise<SyncHandle> {
  let handle = handles.get(key)
  if (!handle) {
    handle = folder()
      .then((d) => d.getFileHandle(key, { create: true }))
      .then((f) => lock(f as SyncFileHandle))
    handles.set(key, handle)
    handle.catch(() => handles.delete(key))
  }
  return handle
}

/** Gives the file the torrent's whole length before the first piece lands. Pieces arrive in
 * any order, and a piece near the end needs the file, and so the quota, to reach there; so
 * the space is taken at once: a torrent that does not fit fails before it downloads anything,
 * and one that fits can no longer run out half way when something else fills the disk. */
function reserve(h: SyncHandle, size: number): void {
  try {
    h.truncate(size)
  } catch (err) {
    if (err instanceof DOMException && err.name === 'QuotaExceededError') throw err
    throw new DOMException(`could not reserve ${size} bytes: ${String(err)}`, 'QuotaExceededError')
  }
  if (h.getSize() !== size) {
    throw new DOMException(`could not reserve ${size} bytes`, 'QuotaExceededError')
  }
}

async function release(key: string): Promise<void> {
  const handle = handles.get(key)
  if (!handle) return
  handles.delete(key)
  const h = await handle.catch(() => null)
  h?.flush()
  h?.close()
}

/** Requests on one file run one at a time, in the order they came. */
const inOrder = perKeyQueue()

async function run(req: OpfsRequest): Promise<ArrayBuffer | File | undefined> {
  switch (req.op) {
    case 'write': {
      const h = await open(req.key)
      if (h.getSize() < req.size) reserve(h, req.size)
      const data = new Uint8Array(req.data)
      const written = h.write(data, { at: req.at })
      // Chromium answers a write past the quota with a bogus count (2^32 - 8), not an error.
      if (written !== data.length) {
        throw new DOMException(
          `wrote ${written} of ${data.length} bytes at ${req.at}`,
          'QuotaExceededError',
        )
      }
      // Handed back (moved, not copied): the page may reuse the buffer (opfs-store.ts).
      return req.data
    }
    case 'read': {
      const h = await open(req.key)
      // A new download's file: the store stops asking for pieces it has not written.
      if (h.getSize() === 0) throw new DOMException('nothing is stored yet', 'NotFoundError')
      const out = new Uint8Array(req.length)
      const got = h.read(out, { at: req.at })
      if (got !== req.length) throw new RangeError(`read ${got} of ${req.length} bytes`)
      return out.buffer
    }
    case 'flush':
      if (handles.has(req.key)) (await open(req.key)).flush()
      return undefined
    case 'close':
      await release(req.key)
      return undefined
    case 'snapshot': {
      await release(req.key)
      return (await (await folder()).getFileHandle(req.key)).getFile()
    }
    case 'remove':
      await release(req.key)
      await (await folder()).removeEntry(req.key).catch((err: unknown) => {
        if (!(err instanceof DOMException && err.name === 'NotFoundError')) throw err
      })
      return undefined
  }
}

self.onmessage = async (event: MessageEvent<OpfsRequest>) => {
  const req = event.data
  let reply: OpfsReply
  const transfer: Transferable[] = []
  try {
    const out = await inOrder(req.key, () => run(req))
    if (out instanceof File) {
      reply = { id: req.id, ok: true, file: out }
    } else {
      reply = out ? { id: req.id, ok: true, data: out } : { id: req.id, ok: true }
      if (out) transfer.push(out)
    }
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err))
    reply = { id: req.id, ok: false, name: e.name, message: e.message }
  }
  self.postMessage(reply, { transfer })
}
