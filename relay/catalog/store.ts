// The relay's catalog: verified listings in SQLite (better-sqlite3, WAL), keyed by
// (publisher, info hash), the highest `seq` kept (ARCHITECTURE.md, "The catalog").
//
// Every stored row has a local cursor (an AUTOINCREMENT rowid: never reused, even after the
// newest row is replaced), and an update gets a new one, so a node pulling "after CURSOR"
// sees exactly what changed since. The cursors this relay has reached on each peer live in
// the same database and move in the same transaction as the rows of the page they came
// with: after a crash, either both are there or neither, so nothing is fetched twice.
//
// Stored bytes (the rows' JSON, UTF-8) are counted per publisher and in total, so one key
// and the whole catalog stay under their caps; at a cap new rows are refused, never evicted.
//
// No sockets and no verification here: callers pass listings already verified, as listings
// or as rows made beside the check (listing-row.ts). A put, or a run of pages pulled from
// one peer (ingestPages: each commit writes every index page it touched, so a few pages
// together cost ~30 % less than one at a time), is one transaction: a new row
// looks its key up and inserts (an INSERT tried first saved nothing measurable, and a
// conflicting one uses up a cursor), and each publisher's counts are read once and written
// once per transaction, not per row.

import { randomBytes } from 'node:crypto'
import Database from 'better-sqlite3'
import type { Listing } from '../../shared/listing.ts'
import { listingRow, type ListingRow } from './listing-row.ts'
import {
  MAX_CATALOG_BYTES,
  MAX_LISTINGS_PER_PUBLISHER,
  MAX_PUBLISHER_BYTES,
  SQLITE_BUSY_TIMEOUT_MS,
} from '../limits.ts'

/** 'full': the publisher is at its listing or byte cap; 'catalog-full': the catalog is. */
export type PutOutcome = 'inserted' | 'replaced' | 'stale' | 'full' | 'catalog-full'

export interface PutResult {
  outcome: PutOutcome
  /** The row's cursor when stored. */
  cursor?: number
  /** The seq kept, when the listing was stale. */
  storedSeq?: number
  /** Bytes of the row stored (its JSON, UTF-8). */
  bytes?: number
}

export interface CatalogPage {
  /** Stored listings as JSON text, in cursor order. */
  rows: string[]
  /** The cursor to ask `after` next time (the last row's, or `after` if none). */
  next: number
  /** True when rows remain after `next`. */
  more: boolean
}

/** A verified page pulled from a peer, as ingestPages stores it. */
export interface PulledRows {
  /** The peer's cursor after this page. */
  next: number
  rows: readonly ListingRow[]
  /** Listings the page held, including those that failed verification. */
  received: number
}

/** A page of rows as a sync page sends them (page-server.ts): their JSON joined in SQLite. */
export interface JoinedPage {
  /** The rows' JSON, UTF-8, joined by commas (empty when there are none). */
  body: Buffer
  /** Each row's info hash, in cursor order. */
  infoHashes: string[]
  /** As CatalogPage's. */
  next: number
  more: boolean
}

export interface PeerCursor {
  peer: string
  /** The peer's catalog id: a new one means its database was replaced; start over. */
  epoch: string
  cursor: number
  /** Listings received from this peer, over all runs. */
  fetched: number
}

export interface CatalogStoreOptions {
  maxListingsPerPublisher: number
  /** Bytes of listings stored for one publisher key. */
  maxPublisherBytes: number
  /** Bytes of listings stored in all. */
  maxCatalogBytes: number
  /** 'full' syncs the WAL on every commit, so an acknowledged listing survives power loss;
   * 'normal' only survives a crashed process (fine for benchmarks and tests of speed).
   * Pages pulled from peers are committed as 'normal' either way (ingestRows says why). */
  synchronous: 'full' | 'normal'
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS listings (
  cursor INTEGER PRIMARY KEY AUTOINCREMENT,
  publisher TEXT NOT NULL,
  info_hash TEXT NOT NULL,
  seq INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  json TEXT NOT NULL,
  UNIQUE (publisher, info_hash)
);
CREATE INDEX IF NOT EXISTS listings_by_info_hash ON listings (info_hash);
CREATE TABLE IF NOT EXISTS publishers (
  publisher TEXT PRIMARY KEY,
  listings INTEGER NOT NULL,
  bytes INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS peer_cursors (
  peer TEXT PRIMARY KEY,
  epoch TEXT NOT NULL,
  cursor INTEGER NOT NULL,
  fetched INTEGER NOT NULL
) WITHOUT ROWID;
`

export class CatalogStore {
  readonly options: CatalogStoreOptions
  /** This catalog's id, made when the database was created; pullers compare it. */
  readonly epoch: string
  readonly #db: Database.Database
  readonly #sql
  /** Bytes of all stored rows (the sum of publishers.bytes), kept in step with each put. */
  #bytes = 0
  /** The highest cursor given, kept in step with each insert: every page served reads it. */
  #latest = 0
  readonly #putAllTx: (rows: readonly ListingRow[]) => PutResult[]
  readonly #joinedTx: (after: number, limit: number, maxBytes: number) => JoinedPage
  readonly #ingest: (peer: string, epoch: string, pages: readonly PulledRows[]) => PutResult[][]

  constructor(file: string, options: Partial<CatalogStoreOptions> = {}) {
    this.options = {
      maxListingsPerPublisher: MAX_LISTINGS_PER_PUBLISHER,
      maxPublisherBytes: MAX_PUBLISHER_BYTES,
      maxCatalogBytes: MAX_CATALOG_BYTES,
      synchronous: 'full',
      ...options,
    }
    const db = new Database(file)
    this.#db = db
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${this.options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
    db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`)
    db.exec(SCHEMA)
    addPublisherBytes(db)
    db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run(
      'epoch',
      randomBytes(16).toString('hex'),
    )
    this.epoch = (db.prepare("SELECT value FROM meta WHERE key = 'epoch'").get() as Row).value

    this.#sql = {
      find: db.prepare<[string, string], { cursor: number; seq: number }>(
        'SELECT cursor, seq FROM listings WHERE publisher = ? AND info_hash = ?',
      ),
      // Read only for a replacement: a stale check need not load the row's JSON.
      rowBytes: db.prepare<[number], { bytes: number }>(
        'SELECT length(CAST(json AS BLOB)) AS bytes FROM listings WHERE cursor = ?',
      ),
      remove: db.prepare<[number]>('DELETE FROM listings WHERE cursor = ?'),
      insert: db.prepare<[string, string, number, number, string]>(
        'INSERT INTO listings (publisher, info_hash, seq, ts, json) VALUES (?, ?, ?, ?, ?)',
      ),
      publisher: db.prepare<[string], { listings: number; bytes: number }>(
        'SELECT listings, bytes FROM publishers WHERE publisher = ?',
      ),
      setPublisher: db.prepare<[string, number, number]>(
        `INSERT INTO publishers (publisher, listings, bytes) VALUES (?, ?, ?)
         ON CONFLICT (publisher) DO UPDATE SET
           listings = excluded.listings, bytes = excluded.bytes`,
      ),
      totalBytes: db.prepare<[], { bytes: number }>(
        'SELECT coalesce(sum(bytes), 0) AS bytes FROM publishers',
      ),
      // Rows as [cursor, json] arrays, not objects: ~12 % of a 1,000-row page's read.
      page: db
        .prepare<[number, number], [number, string]>(
          'SELECT cursor, json FROM listings WHERE cursor > ? ORDER BY cursor LIMIT ?',
        )
        .raw(),
      // joinedPage's two reads: each row's cursor, bytes and hash, without its JSON; then the
      // JSON of the rows chosen, joined by SQLite in the subquery's cursor order (rowid order:
      // the scan of a cursor range needs no sort, and group_concat appends rows as they come).
      pageHeads: db
        .prepare<[number, number], [number, number, string]>(
          'SELECT cursor, octet_length(json), info_hash FROM listings WHERE cursor > ? ORDER BY cursor LIMIT ?',
        )
        .raw(),
      pageBody: db
        .prepare<[number, number], Buffer | null>(
          `SELECT CAST(group_concat(json, ',') AS BLOB) FROM
             (SELECT json FROM listings WHERE cursor > ? AND cursor <= ? ORDER BY cursor)`,
        )
        .pluck(),
      byInfoHash: db.prepare<[string, number], { json: string }>(
        'SELECT json FROM listings WHERE info_hash = ? ORDER BY cursor DESC LIMIT ?',
      ),
      get: db.prepare<[string, string], { json: string }>(
        'SELECT json FROM listings WHERE publisher = ? AND info_hash = ?',
      ),
      latest: db.prepare<[], { cursor: number | null }>(
        'SELECT max(cursor) AS cursor FROM listings',
      ),
      count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM listings'),
      peer: db.prepare<[string], PeerCursor>(
        'SELECT peer, epoch, cursor, fetched FROM peer_cursors WHERE peer = ?',
      ),
      setPeer: db.prepare<[string, string, number, number]>(
        `INSERT INTO peer_cursors (peer, epoch, cursor, fetched) VALUES (?, ?, ?, ?)
         ON CONFLICT (peer) DO UPDATE SET
           epoch = excluded.epoch, cursor = excluded.cursor, fetched = excluded.fetched`,
      ),
    }
    this.#bytes = this.#sql.totalBytes.get()!.bytes
    this.#latest = this.#sql.latest.get()?.cursor ?? 0
    this.#putAllTx = db.transaction((rows: readonly ListingRow[]) => this.#putRows(rows))
    this.#joinedTx = db.transaction((after: number, limit: number, maxBytes: number) =>
      this.#readJoined(after, limit, maxBytes),
    )
    this.#ingest = db.transaction((peer: string, epoch: string, pages: readonly PulledRows[]) => {
      // One run of rows, so each publisher's counts are read and written once.
      const all = this.#putRows(pages.length === 1 ? pages[0].rows : pages.flatMap((p) => p.rows))
      let at = 0
      const results = pages.map((p) => all.slice(at, (at += p.rows.length)))
      const before = this.#sql.peer.get(peer)
      let fetched = before?.epoch === epoch ? before.fetched : 0
      for (const p of pages) fetched += p.received
      this.#sql.setPeer.run(peer, epoch, pages.at(-1)!.next, fetched)
      return results
    })
  }

  /** Stores one verified listing unless a row with an equal or higher seq is there. */
  put(listing: Listing): PutResult {
    return this.putMany([listing])[0]
  }

  /** Stores many in one transaction; one result each, in order. */
  putMany(listings: readonly Listing[]): PutResult[] {
    const rows = listings.map(listingRow)
    return this.#counted(() => this.#putAllTx(rows))
  }

  /**
   * Stores a page pulled from `peer` and moves that peer's cursor to `next`, atomically.
   * `received` counts what the page held (including what failed verification).
   */
  ingest(
    peer: string,
    epoch: string,
    next: number,
    listings: readonly Listing[],
    received: number,
  ): PutResult[] {
    return this.ingestRows(peer, epoch, next, listings.map(listingRow), received)
  }

  /** ingest, for rows made where the page was verified (listing-row.ts). */
  ingestRows(
    peer: string,
    epoch: string,
    next: number,
    rows: readonly ListingRow[],
    received: number,
  ): PutResult[] {
    return this.ingestPages(peer, epoch, [{ next, rows, received }])[0]
  }

  /** Stores pages pulled from `peer` one after the other, in one transaction that moves its
   * cursor to the last page's `next`; the results of each page, in order. */
  ingestPages(peer: string, epoch: string, pages: readonly PulledRows[]): PutResult[][] {
    if (pages.length === 0) return []
    // A pulled page needs no fsync of its own: its rows and the peer's cursor commit
    // together, so a power cut that loses the commit loses both, and the page is pulled
    // again. (WAL keeps the database whole either way, and the next FULL commit, or a
    // checkpoint, syncs these frames too.) On a busy disk the fsync was most of a page's
    // store. Listings acknowledged to a publisher keep the configured mode.
    const relaxed = this.options.synchronous === 'full'
    if (relaxed) this.#db.pragma('synchronous = NORMAL')
    try {
      return this.#counted(() => this.#ingest(peer, epoch, pages))
    } finally {
      if (relaxed) this.#db.pragma('synchronous = FULL')
    }
  }

  /** Where pulling from `peer` stands, or undefined if never pulled. */
  peerCursor(peer: string): PeerCursor | undefined {
    return this.#sql.peer.get(peer)
  }

  /** Starts over on a peer whose catalog was replaced (keeps the fetched total). */
  resetPeer(peer: string, epoch: string): void {
    const before = this.#sql.peer.get(peer)
    this.#sql.setPeer.run(peer, epoch, 0, before?.fetched ?? 0)
  }

  /** The seq stored for (publisher, infoHash), if any. */
  storedSeq(publisher: string, infoHash: string): number | undefined {
    return this.#sql.find.get(publisher, infoHash)?.seq
  }

  get(publisher: string, infoHash: string): Listing | undefined {
    const row = this.#sql.get.get(publisher, infoHash)
    return row && (JSON.parse(row.json) as Listing)
  }

  /** Rows after `after`, at most `limit`, and no more bytes than `maxBytes` (at least one),
   * as JSON text one by one (a sync page is read with joinedPage). */
  page(after: number, limit: number, maxBytes = Infinity): CatalogPage {
    const found = this.#sql.page.all(after, limit + 1)
    const rows: string[] = []
    let bytes = 0
    let next = after
    for (let i = 0; i < found.length && i < limit; i++) {
      const [cursor, json] = found[i]
      if (rows.length > 0 && bytes + json.length > maxBytes) break
      rows.push(json)
      bytes += json.length
      next = cursor
    }
    return { rows, next, more: found.length > rows.length }
  }

  /**
   * The rows page() gives (the byte cap counted in UTF-8), their JSON joined by commas in one
   * buffer, with their info hashes: what a sync page is built from (issue 23). Reading 1,000
   * rows as 1.2 KB strings, then measuring and writing each into a buffer, cost the serving
   * relay's thread ~5-7 µs a listing; here SQLite joins them and hands over one blob, and
   * the rows' heads carry no JSON: ~2.5-3 µs. One read transaction, so both reads see the
   * same rows.
   */
  joinedPage(after: number, limit: number, maxBytes = Infinity): JoinedPage {
    return this.#joinedTx(after, limit, maxBytes)
  }

  #readJoined(after: number, limit: number, maxBytes: number): JoinedPage {
    const heads = this.#sql.pageHeads.all(after, limit + 1)
    const infoHashes: string[] = []
    let bytes = 0
    let next = after
    for (let i = 0; i < heads.length && i < limit; i++) {
      const [cursor, rowBytes, infoHash] = heads[i]
      if (infoHashes.length > 0 && bytes + rowBytes > maxBytes) break
      infoHashes.push(infoHash)
      bytes += rowBytes
      next = cursor
    }
    const more = heads.length > infoHashes.length
    if (infoHashes.length === 0) return { body: Buffer.alloc(0), infoHashes, next, more }
    const body = this.#sql.pageBody.get(after, next)
    // The rows chosen, every byte of them and a comma between each: else the two reads did
    // not see the same rows, which one transaction rules out.
    if (!body || body.length !== bytes + infoHashes.length - 1) {
      throw new Error(`page after ${after}: joined ${body?.length ?? 0} bytes, not ${bytes}`)
    }
    return { body, infoHashes, next, more }
  }

  /** Every publisher's listing of one hash, newest first, as JSON text. */
  byInfoHash(infoHash: string, limit: number): string[] {
    return this.#sql.byInfoHash.all(infoHash, limit).map((r) => r.json)
  }

  /** The highest cursor given so far (0 when empty). */
  latest(): number {
    return this.#latest
  }

  count(): number {
    return this.#sql.count.get()!.n
  }

  publisherCount(publisher: string): number {
    return this.#sql.publisher.get(publisher)?.listings ?? 0
  }

  /** Bytes of listings stored for `publisher`. */
  publisherBytes(publisher: string): number {
    return this.#sql.publisher.get(publisher)?.bytes ?? 0
  }

  /** Bytes of all stored listings (their JSON, UTF-8). */
  bytes(): number {
    return this.#bytes
  }

  /** The connection's synchronous mode between writes (the configured one). */
  synchronousMode(): 'full' | 'normal' | 'other' {
    const mode = this.#db.pragma('synchronous', { simple: true })
    return mode === 2 ? 'full' : mode === 1 ? 'normal' : 'other'
  }

  close(): void {
    if (this.#db.open) this.#db.close()
  }

  /** Runs a write transaction; if it throws (rolled back), the totals are read again. */
  #counted<T>(write: () => T): T {
    try {
      return write()
    } catch (err) {
      this.#bytes = this.#sql.totalBytes.get()!.bytes
      this.#latest = this.#sql.latest.get()?.cursor ?? 0
      throw err
    }
  }

  /** Stores rows inside a transaction: each publisher's counts are read when first met and
   * written once at the end. */
  #putRows(rows: readonly ListingRow[]): PutResult[] {
    const publishers = new Map<string, PublisherCounts>()
    const results = rows.map((row) => {
      let counts = publishers.get(row.publisher)
      if (!counts) {
        const stored = this.#sql.publisher.get(row.publisher)
        counts = { listings: stored?.listings ?? 0, bytes: stored?.bytes ?? 0, changed: false }
        publishers.set(row.publisher, counts)
      }
      return this.#putOne(row, counts)
    })
    for (const [publisher, c] of publishers) {
      if (c.changed) this.#sql.setPublisher.run(publisher, c.listings, c.bytes)
    }
    return results
  }

  #putOne(row: ListingRow, publisher: PublisherCounts): PutResult {
    const stored = this.#sql.find.get(row.publisher, row.infoHash)
    if (stored && row.seq <= stored.seq) return { outcome: 'stale', storedSeq: stored.seq }
    const grows = row.bytes - (stored ? this.#sql.rowBytes.get(stored.cursor)!.bytes : 0)
    const { maxListingsPerPublisher, maxPublisherBytes, maxCatalogBytes } = this.options
    if (!stored && publisher.listings >= maxListingsPerPublisher) return { outcome: 'full' }
    // An update that does not grow its row is always taken, caps or not.
    if (grows > 0 && publisher.bytes + grows > maxPublisherBytes) return { outcome: 'full' }
    if (grows > 0 && this.#bytes + grows > maxCatalogBytes) return { outcome: 'catalog-full' }
    if (stored) this.#sql.remove.run(stored.cursor)
    else publisher.listings++
    publisher.bytes += grows
    publisher.changed = true
    this.#bytes += grows
    const cursor = Number(
      this.#sql.insert.run(row.publisher, row.infoHash, row.seq, row.ts, row.json).lastInsertRowid,
    )
    this.#latest = Math.max(this.#latest, cursor)
    return { outcome: stored ? 'replaced' : 'inserted', cursor, bytes: row.bytes }
  }
}

/** A publisher's counts while a transaction runs. */
interface PublisherCounts {
  listings: number
  bytes: number
  changed: boolean
}

/** Databases made before bytes were counted get the column, filled from their rows. */
function addPublisherBytes(db: Database.Database): void {
  const columns = db.prepare('PRAGMA table_info(publishers)').all() as { name: string }[]
  if (columns.some((c) => c.name === 'bytes')) return
  db.transaction(() => {
    db.exec('ALTER TABLE publishers ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0')
    db.exec(`UPDATE publishers SET bytes = (
      SELECT coalesce(sum(length(CAST(json AS BLOB))), 0) FROM listings
      WHERE listings.publisher = publishers.publisher)`)
  })()
}

interface Row {
  value: string
}
