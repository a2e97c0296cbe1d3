// The torrents this browser keeps across reloads: their records (persist.ts), a keeper per
// running torrent that saves its progress (persist-torrent.ts), and the options that add a
// download with its data in OPFS (opfs-store.ts). TorrentClient asks it how to add each
// torrent and tells it when one stops.

import type { Torrent, TorrentOptions } from './engine/index.ts'
import { OpfsChunkStore, isQuotaError, opfsFiles, opfsSupported } from './opfs-store.ts'
import { TorrentKeeper } from './persist-torrent.ts'
import { TorrentRecords, type TorrentRecord, type TorrentSource } from './persist.ts'
import { storage } from './storage.svelte.ts'

/** The app starts without the kept torrents rather than wait longer for IndexedDB. */
const LOAD_TIMEOUT_MS = 3_000

export class TorrentLibrary {
  readonly records = new TorrentRecords()
  readonly opfs = opfsSupported()
  readonly #kept = new Map<string, TorrentRecord>()
  readonly #keepers = new Map<string, TorrentKeeper>()

  /** Reads the kept records (bounded by LOAD_TIMEOUT_MS: the app starts without them). */
  async load(): Promise<TorrentRecord[]> {
    const all = await Promise.race([
      this.records.all(),
      new Promise<TorrentRecord[]>((resolve) => setTimeout(() => resolve([]), LOAD_TIMEOUT_MS)),
    ]).catch((err: unknown) => {
      console.warn('Monsoon could not read its kept torrents', err)
      return []
    })
    for (const r of all) this.#kept.set(r.infoHash, r)
    return all
  }

  kept(infoHash: string): TorrentRecord | undefined {
    return this.#kept.get(infoHash)
  }

  /** What to pass client.add for a download: the kept .torrent and bitfield if there are
   * any (so the verified pieces are trusted, not fetched again), and the OPFS store. */
  download(infoHash: string): { id: string | Uint8Array; opts: TorrentOptions } {
    const kept = this.#kept.get(infoHash)
    const bitfield = this.#keepers.get(infoHash)?.bitfield ?? kept?.bitfield
    const opts: TorrentOptions = this.opfs
      ? {
          // Read through RecentPieces (engine.ts), at most 8 MiB of pieces in memory. The rest
          // a download holds in the page does not grow with the torrent either: blocks
          // requested (about a second of each wire's speed: WebTorrent's
          // PIPELINE_MAX_DURATION), pieces being assembled, and pieces waiting for their write
          // to return (immediate-chunk-store). bench/bigfile measures it at 4 GiB.
          store: OpfsChunkStore,
          ...(bitfield && { bitfield: bitfield.slice() }),
        }
      : {}
    return { id: kept?.torrentFile ?? infoHash, opts }
  }

  /** Saves the torrent's record and progress from now on. */
  keep(torrent: Torrent, source: TorrentSource, trackers: () => string[]): void {
    if (!this.opfs && source === 'download') return
    void storage.askOnce()
    const key = torrent.infoHash
    if (key) this.#keepers.get(key)?.stop()
    const keeper = new TorrentKeeper(this.records, torrent, {
      source,
      file: source === 'download' ? opfsFiles().file(torrent.infoHash || 'none') : null,
      trackers,
    })
    const register = () => this.#keepers.set(torrent.infoHash, keeper)
    if (torrent.infoHash) register()
    else torrent.on('infoHash', register)
    torrent.on('error', (err) => {
      console.warn(`Monsoon stopped torrent ${torrent.infoHash}:`, err)
      // The data written so far stays; the record says which pieces to trust.
      if (isQuotaError(err)) void keeper.save({ storageFull: true })
      else void keeper.save()
    })
  }

  /** Deletes the torrent's record and its OPFS data. */
  async forget(infoHash: string): Promise<void> {
    this.#keepers.get(infoHash)?.stop()
    this.#keepers.delete(infoHash)
    this.#kept.delete(infoHash)
    await this.records.delete(infoHash)
    if (this.opfs) await opfsFiles().file(infoHash).remove()
  }
}
