// Keeps one torrent's IndexedDB record (persist.ts) up to date while it runs: written when
// its metadata arrives, then its bitfield every SAVE_MS while pieces come in and at once
// when it completes or stops. A piece enters the stored bitfield only after its bytes were
// flushed to OPFS, so a reload or a crash can lose the last second of pieces (they are
// fetched again) but never trusts a piece that is not on disk.

import type { Torrent } from './engine/index.ts'
import type { ChunkFile } from './opfs-store.ts'
import type { TorrentRecord, TorrentRecords, TorrentSource } from './persist.ts'

/** Bitfield saves at most this often while downloading: one small IDB write a second. */
const SAVE_MS = 1_000

export class TorrentKeeper {
  readonly #records: TorrentRecords
  readonly #torrent: Torrent
  readonly #source: TorrentSource
  readonly #file: ChunkFile | null
  readonly #trackers: () => string[]
  #bits: Uint8Array | null = null
  #timer: ReturnType<typeof setTimeout> | null = null
  #saving: Promise<void> = Promise.resolve()
  #stopped = false

  /** `file` is the torrent's OPFS data file (null for a share read from the user's files). */
  constructor(
    records: TorrentRecords,
    torrent: Torrent,
    init: { source: TorrentSource; file: ChunkFile | null; trackers: () => string[] },
  ) {
    this.#records = records
    this.#torrent = torrent
    this.#source = init.source
    this.#file = init.file
    this.#trackers = init.trackers
    if (torrent.ready) this.#onReady()
    else torrent.on('ready', () => this.#onReady())
    torrent.on('verified', (index: number) => this.#onVerified(index))
    torrent.on('done', () => void this.save())
  }

  /** Pieces verified and stored so far (BEP 3 bitfield), or null before metadata. */
  get bitfield(): Uint8Array | null {
    return this.#bits
  }

  /** Flushes the data file, then stores the bitfield as it was before the flush. */
  save(extra: Partial<TorrentRecord> = {}): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    const bits = this.#bits?.slice()
    const infoHash = this.#torrent.infoHash
    this.#saving = this.#saving
      .then(async () => {
        if (!bits || !infoHash || this.#stopped) return
        await this.#file?.flush()
        await this.#records.update(infoHash, { bitfield: bits, ...extra })
      })
      .catch((err: unknown) => console.warn('Monsoon could not save torrent progress', err))
    return this.#saving
  }

  /** Stops saving (the record is being deleted, or the tab is closing). */
  stop(): void {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
  }

  #onReady(): void {
    const t = this.#torrent
    this.#bits = new Uint8Array(t.bitfield.buffer.subarray(0, Math.ceil(t.pieces.length / 8)))
    const bits = this.#bits.slice()
    // In the same queue as the bitfield saves, so none of them runs before the record exists.
    this.#saving = this.#saving
      .then(() => this.#create(t, bits))
      .catch((err: unknown) => console.warn('Monsoon could not keep this torrent', err))
  }

  async #create(t: Torrent, bits: Uint8Array): Promise<void> {
    if (this.#stopped) return
    const old = await this.#records.get(t.infoHash)
    await this.#records.put({
      infoHash: t.infoHash,
      name: t.name,
      source: this.#source,
      torrentFile: new Uint8Array(t.torrentFile),
      files: t.files.map((f) => ({ path: f.path, length: f.length })),
      length: t.length,
      pieceLength: t.pieceLength,
      bitfield: bits,
      trackers: this.#trackers(),
      addedAt: old?.addedAt ?? Date.now(),
      ...(old?.storageFull && { storageFull: false }),
    })
  }

  #onVerified(index: number): void {
    if (!this.#bits || this.#stopped) return
    this.#bits[index >> 3]! |= 0x80 >> (index & 7)
    this.#timer ??= setTimeout(() => void this.save(), SAVE_MS)
  }
}
