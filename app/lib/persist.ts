// What the app keeps about each torrent across reloads, in IndexedDB (through `idb`): the
// .torrent bytes (its info dictionary, BEP 3), the names of its files, and the pieces already
// verified and stored (a BEP 3 bitfield, high bit first). The data itself is in OPFS
// (opfs-store.ts). On start the app adds every torrent again with that bitfield, so
// WebTorrent trusts the pieces it names instead of hashing every byte again.

import { openDB, type DBSchema, type IDBPDatabase } from 'idb'

/** `download`: the data lives in OPFS. `share`: the user's own files, which a reload takes
 * away: the torrent waits for them to be picked again. */
export type TorrentSource = 'download' | 'share'

export interface TorrentRecord {
  infoHash: string
  /** Untrusted, from the torrent: render as text only. */
  name: string
  source: TorrentSource
  /** The .torrent file (bencoded metainfo). */
  torrentFile: Uint8Array
  files: { path: string; length: number }[]
  length: number
  pieceLength: number
  /** Verified pieces whose bytes were flushed to OPFS before this was written. */
  bitfield: Uint8Array
  trackers: string[]
  addedAt: number
  /** Set when a write ran out of storage: the torrent stays paused until the user resumes. */
  storageFull?: boolean
}

interface PersistSchema extends DBSchema {
  torrents: { key: string; value: TorrentRecord }
}

const DB_NAME = 'monsoon-torrents'

export class TorrentRecords {
  #db: Promise<IDBPDatabase<PersistSchema>> | null = null

  all(): Promise<TorrentRecord[]> {
    return this.#open().then((db) => db.getAll('torrents'))
  }

  get(infoHash: string): Promise<TorrentRecord | undefined> {
    return this.#open().then((db) => db.get('torrents', infoHash))
  }

  async put(record: TorrentRecord): Promise<void> {
    await (await this.#open()).put('torrents', record)
  }

  /** Changes some fields of a stored record; nothing happens if it was deleted meanwhile. */
  async update(infoHash: string, change: Partial<TorrentRecord>): Promise<void> {
    const db = await this.#open()
    const tx = db.transaction('torrents', 'readwrite')
    const old = await tx.store.get(infoHash)
    if (old) await tx.store.put({ ...old, ...change })
    await tx.done
  }

  async delete(infoHash: string): Promise<void> {
    await (await this.#open()).delete('torrents', infoHash)
  }

  #open(): Promise<IDBPDatabase<PersistSchema>> {
    this.#db ??= openDB<PersistSchema>(DB_NAME, 1, {
      upgrade(db) {
        db.createObjectStore('torrents', { keyPath: 'infoHash' })
      },
    })
    return this.#db
  }
}

/** How many pieces a bitfield marks. */
export function countPieces(bitfield: Uint8Array, pieces: number): number {
  let n = 0
  for (let i = 0; i < pieces; i++) if (bitfield[i >> 3]! & (0x80 >> (i & 7))) n++
  return n
}

/** A bitfield with the first `pieces` bits set (a complete torrent). */
export function fullBitfield(pieces: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(pieces / 8))
  for (let i = 0; i < pieces; i++) out[i >> 3]! |= 0x80 >> (i & 7)
  return out
}
