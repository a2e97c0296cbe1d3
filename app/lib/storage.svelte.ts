// How much of the browser's storage Monsoon uses and how much is left
// (StorageManager.estimate, https://storage.spec.whatwg.org/#dom-storagemanager-estimate),
// and the one request for persistent storage (persist()), so the browser does not evict the
// downloads under storage pressure. Asked once, when the user first downloads or shares:
// Chromium grants or refuses it without a prompt, other browsers may ask the user.

import { countPieces, type TorrentRecord } from './persist.ts'

const ASKED_KEY = 'monsoon.persist-asked'

export class StorageStatus {
  /** Bytes this origin uses (the catalog and caches included), and may use. */
  usage = $state<number | null>(null)
  quota = $state<number | null>(null)
  /** Whether the browser keeps Monsoon's data under storage pressure. */
  persisted = $state<boolean | null>(null)

  get supported(): boolean {
    return typeof navigator !== 'undefined' && typeof navigator.storage?.estimate === 'function'
  }

  /** Bytes still free for Monsoon. */
  get free(): number | null {
    return this.usage === null || this.quota === null ? null : Math.max(0, this.quota - this.usage)
  }

  async refresh(): Promise<void> {
    if (!this.supported) return
    const [estimate, persisted] = await Promise.all([
      navigator.storage.estimate(),
      navigator.storage.persisted?.() ?? Promise.resolve(false),
    ])
    this.usage = estimate.usage ?? null
    this.quota = estimate.quota ?? null
    this.persisted = persisted
  }

  /** Asks for persistent storage the first time it is called in this browser. */
  async askOnce(): Promise<void> {
    if (!this.supported || localStorage.getItem(ASKED_KEY)) return
    localStorage.setItem(ASKED_KEY, String(Date.now()))
    this.persisted = (await navigator.storage.persist?.()) ?? false
  }
}

/** Bytes a kept torrent holds in storage: its verified pieces. */
export function storedBytes(record: TorrentRecord): number {
  const pieces = Math.ceil(record.length / record.pieceLength)
  const lastFull = countPieces(record.bitfield, pieces) * record.pieceLength
  const lastIndex = pieces - 1
  const lastSet = (record.bitfield[lastIndex >> 3]! & (0x80 >> (lastIndex & 7))) !== 0
  // The last piece is shorter than the others.
  return lastSet
    ? lastFull - record.pieceLength + (record.length - lastIndex * record.pieceLength)
    : lastFull
}

/** The page's one view of storage. */
export const storage = new StorageStatus()
