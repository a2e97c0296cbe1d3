// What the bridge holds and what it may take: a count of torrents, their bytes on disk and
// the relay's memory, each under its limit, least recently used evicted first
// (ARCHITECTURE.md, "Bridge to classic BitTorrent"). Pure bookkeeping: the clock and the
// memory figure are passed in, and the caller destroys what `evict` lists.

import { BRIDGE_MIN_IDLE_MS } from '../limits.ts'

export interface BridgeLimits {
  /** Torrents bridged at once. */
  maxTorrents: number
  /** Bytes of torrent data stored at once (each torrent counts its full length). */
  maxDiskBytes: number
  /** Resident memory of the relay above which idle torrents are evicted and new ones refused. */
  maxMemoryBytes: number
  /** A torrent used this recently is never evicted for another one. */
  minIdleMs?: number
}

export interface LedgerEntry {
  readonly infoHash: string
  /** The torrent's length, once its metadata is known (0 before). */
  bytes: number
  lastUsed: number
}

export type RefusalReason = 'torrents' | 'disk' | 'memory' | 'too-large'

/** The bridge cannot take a torrent now: every slot is held by one used lately. */
export class BridgeFullError extends Error {
  override name = 'BridgeFullError'
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message)
  }
}

export class BridgeLedger {
  readonly limits: Required<BridgeLimits>
  /** Map order is use order: the first entry is the least recently used. */
  readonly #entries = new Map<string, LedgerEntry>()

  constructor(limits: BridgeLimits) {
    this.limits = { minIdleMs: BRIDGE_MIN_IDLE_MS, ...limits }
  }

  get size(): number {
    return this.#entries.size
  }

  get diskBytes(): number {
    let total = 0
    for (const e of this.#entries.values()) total += e.bytes
    return total
  }

  has(infoHash: string): boolean {
    return this.#entries.has(infoHash)
  }

  get(infoHash: string): LedgerEntry | undefined {
    return this.#entries.get(infoHash)
  }

  /** Entries, least recently used first. */
  entries(): LedgerEntry[] {
    return [...this.#entries.values()]
  }

  /**
   * Takes a new torrent (of `bytes` when known up front), listing the entries to evict for
   * it; throws BridgeFullError when it cannot fit without evicting one used lately. A hash
   * already held is only marked used.
   */
  admit(infoHash: string, now: number, memoryBytes: number, bytes = 0): string[] {
    if (this.#entries.has(infoHash)) {
      this.touch(infoHash, now)
      return []
    }
    this.#checkSize(bytes)
    const evict: string[] = []
    const idle = this.#idle(now)
    const take = (reason: RefusalReason, message: string) => {
      const next = idle.shift()
      if (!next) throw new BridgeFullError(reason, message)
      evict.push(next.infoHash)
    }
    // Over the memory limit, one idle torrent goes for each new one (what it frees shows
    // only later); with none idle, nothing new is taken.
    if (memoryBytes > this.limits.maxMemoryBytes) {
      take('memory', `the bridge is over its memory limit (${this.limits.maxMemoryBytes} bytes)`)
    }
    while (this.#entries.size - evict.length >= this.limits.maxTorrents) {
      take('torrents', `the bridge holds its limit of ${this.limits.maxTorrents} torrents`)
    }
    let disk = this.#diskWithout(evict) + bytes
    while (disk > this.limits.maxDiskBytes) {
      take('disk', `the bridge's disk limit (${this.limits.maxDiskBytes} bytes) is used`)
      disk = this.#diskWithout(evict) + bytes
    }
    for (const hash of evict) this.#entries.delete(hash)
    this.#entries.set(infoHash, { infoHash, bytes, lastUsed: now })
    return evict
  }

  /**
   * Records a torrent's length once its metadata arrives, listing the idle entries to evict
   * to make room; throws BridgeFullError (and forgets the torrent) when it cannot fit.
   */
  setBytes(infoHash: string, bytes: number, now: number): string[] {
    const entry = this.#entries.get(infoHash)
    if (!entry) return []
    try {
      this.#checkSize(bytes)
    } catch (err) {
      this.#entries.delete(infoHash)
      throw err
    }
    entry.bytes = bytes
    const idle = this.#idle(now).filter((e) => e.infoHash !== infoHash)
    const evict: string[] = []
    while (this.#diskWithout(evict) > this.limits.maxDiskBytes) {
      const next = idle.shift()
      if (!next) {
        this.#entries.delete(infoHash)
        throw new BridgeFullError(
          'disk',
          `the bridge's disk limit (${this.limits.maxDiskBytes} bytes) is used`,
        )
      }
      evict.push(next.infoHash)
    }
    for (const hash of evict) this.#entries.delete(hash)
    return evict
  }

  /** Marks a torrent used now: it moves to the back of the eviction order. */
  touch(infoHash: string, now: number): void {
    const entry = this.#entries.get(infoHash)
    if (!entry) return
    entry.lastUsed = Math.max(entry.lastUsed, now)
    this.#entries.delete(infoHash)
    this.#entries.set(infoHash, entry)
  }

  /** The least recently used idle entry to evict while memory is over its limit, if any. */
  overMemory(now: number, memoryBytes: number): string | null {
    if (memoryBytes <= this.limits.maxMemoryBytes) return null
    const next = this.#idle(now)[0]
    if (!next) return null
    this.#entries.delete(next.infoHash)
    return next.infoHash
  }

  remove(infoHash: string): boolean {
    return this.#entries.delete(infoHash)
  }

  #checkSize(bytes: number): void {
    if (bytes > this.limits.maxDiskBytes) {
      throw new BridgeFullError(
        'too-large',
        `the torrent (${bytes} bytes) is larger than the bridge's disk limit (${this.limits.maxDiskBytes} bytes)`,
      )
    }
  }

  /** Entries not used within minIdleMs, least recently used first. */
  #idle(now: number): LedgerEntry[] {
    return this.entries().filter((e) => now - e.lastUsed >= this.limits.minIdleMs)
  }

  #diskWithout(evicted: string[]): number {
    let total = 0
    for (const e of this.#entries.values()) if (!evicted.includes(e.infoHash)) total += e.bytes
    return total
  }
}
