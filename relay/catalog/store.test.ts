import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import type { Listing } from '../../shared/listing.ts'
import { CatalogStore } from './store.ts'
import { listingRow, type ListingRow } from './listing-row.ts'
import { FastSigner, sampleDraft } from './test-support.ts'

const NOW = 1_764_115_200
const signers = [new FastSigner(), new FastSigner(), new FastSigner()]
const dirs: string[] = []
const opened: CatalogStore[] = []

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'monsoon-store-'))
  dirs.push(dir)
  return join(dir, 'catalog.sqlite')
}

function open(file = tempFile(), options = {}): CatalogStore {
  const store = new CatalogStore(file, { synchronous: 'normal', ...options })
  opened.push(store)
  return store
}

function listing(signer: number, item: number, seq = 1): Listing {
  return signers[signer].listing(sampleDraft(item), { seq, ts: NOW + seq })
}

function bytesOf(...listings: Listing[]): number {
  return listings.reduce((n, l) => n + Buffer.byteLength(JSON.stringify(l)), 0)
}

/** Every listing a puller gets starting at `after`, page by page. */
function pullAll(store: CatalogStore, after = 0, limit = 3): Listing[] {
  const out: Listing[] = []
  for (;;) {
    const page = store.page(after, limit)
    out.push(...page.rows.map((r) => JSON.parse(r) as Listing))
    after = page.next
    if (!page.more) return out
  }
}

afterEach(() => {
  for (const s of opened.splice(0)) s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('CatalogStore', () => {
  it('stores listings with increasing cursors and pages through them', () => {
    const store = open()
    const results = store.putMany([listing(0, 1), listing(0, 2), listing(1, 1)])
    expect(results.map((r) => r.outcome)).toEqual(['inserted', 'inserted', 'inserted'])
    expect(results.map((r) => r.cursor)).toEqual([1, 2, 3])
    const first = store.page(0, 2)
    expect(first.rows.length).toBe(2)
    expect(first).toMatchObject({ next: 2, more: true })
    const second = store.page(first.next, 2)
    expect(second).toMatchObject({ next: 3, more: false })
    expect(JSON.parse(second.rows[0])).toEqual(listing(1, 1))
    expect(store.page(3, 10)).toEqual({ rows: [], next: 3, more: false })
    expect(store.latest()).toBe(3)
  })

  it('keeps the latest cursor as SQLite has it, across replacements and a reopen', () => {
    const file = tempFile()
    const store = open(file)
    expect(store.latest()).toBe(0)
    store.putMany([listing(0, 1), listing(0, 2)])
    store.put(listing(0, 1, 2))
    expect(store.latest()).toBe(3)
    store.put(listing(0, 1, 1))
    expect(store.latest()).toBe(3)
    store.close()
    expect(open(file).latest()).toBe(3)
  })

  it('replaces with a higher seq under a new cursor, so pullers see the update', () => {
    const store = open()
    store.putMany([listing(0, 1), listing(0, 2)])
    const updated = listing(0, 1, 5)
    expect(store.put(updated)).toMatchObject({ outcome: 'replaced', cursor: 3 })
    expect(store.get(signers[0].id, updated.infoHash)).toEqual(updated)
    expect(store.count()).toBe(2)
    expect(store.publisherCount(signers[0].id)).toBe(2)
    // A puller that had seen everything up to cursor 2 gets exactly the update.
    expect(pullAll(store, 2)).toEqual([updated])
  })

  it('never reuses the cursor of a replaced newest row', () => {
    const store = open()
    store.put(listing(0, 1))
    expect(store.put(listing(0, 1, 2)).cursor).toBe(2)
    expect(store.put(listing(0, 1, 3)).cursor).toBe(3)
  })

  it('refuses a replayed lower or equal seq and keeps what is stored', () => {
    const store = open()
    const kept = listing(0, 1, 3)
    store.put(kept)
    const before = store.page(0, 10)
    expect(store.put(listing(0, 1, 2))).toEqual({ outcome: 'stale', storedSeq: 3 })
    const sameSeq = signers[0].listing(
      { ...sampleDraft(1), name: 'Other name' },
      { seq: 3, ts: NOW },
    )
    expect(store.put(sameSeq)).toEqual({ outcome: 'stale', storedSeq: 3 })
    expect(store.page(0, 10)).toEqual(before)
    expect(store.get(signers[0].id, kept.infoHash)).toEqual(kept)
  })

  it('joins a page of rows as page() reads them, across replaced rows and byte caps', () => {
    const store = open()
    // Replacements leave gaps in the cursors and move rows to the end; a name outside ASCII
    // makes bytes and characters differ, as the byte cap counts.
    const wide = signers[1].listing(
      { ...sampleDraft(3), name: 'Größe – 日本語 ✓' },
      { seq: 1, ts: NOW + 1 },
    )
    store.putMany([listing(0, 1), listing(0, 2), wide, listing(0, 4), listing(1, 5)])
    store.putMany([listing(0, 2, 2), listing(1, 5, 3), listing(0, 6)])
    const rowBytes = (json: string) => Buffer.byteLength(json)
    const all = store.page(0, 100).rows
    expect(all).toHaveLength(6)
    const caps = [Infinity, 1, rowBytes(all[0]) + rowBytes(all[1]), rowBytes(all[0]) + 1]
    for (const limit of [1, 2, 3, 100]) {
      for (const maxBytes of caps) {
        for (let after = 0; after <= store.latest(); after = store.page(after, 1).next + 1) {
          const joined = store.joinedPage(after, limit, maxBytes)
          // page()'s rows, cut where their UTF-8 bytes pass the cap (page() counts characters).
          const rows = store.page(after, limit).rows
          const kept: string[] = []
          let bytes = 0
          for (const row of rows) {
            if (kept.length > 0 && bytes + rowBytes(row) > maxBytes) break
            kept.push(row)
            bytes += rowBytes(row)
          }
          expect(joined.body.toString()).toBe(kept.join(','))
          expect(joined.infoHashes).toEqual(kept.map((r) => (JSON.parse(r) as Listing).infoHash))
          const whole = store.page(after, kept.length || limit)
          expect(joined.next).toBe(kept.length ? whole.next : after)
          expect(joined.more).toBe(store.page(joined.next, 1).rows.length > 0)
        }
      }
    }
    expect(store.joinedPage(store.latest(), 10)).toEqual({
      body: Buffer.alloc(0),
      infoHashes: [],
      next: store.latest(),
      more: false,
    })
  })

  it('stores a batch in one go and reports duplicates inside it as stale', () => {
    const store = open()
    const results = store.putMany([listing(0, 1, 1), listing(0, 1, 2), listing(0, 1, 2)])
    expect(results.map((r) => r.outcome)).toEqual(['inserted', 'replaced', 'stale'])
    expect(store.count()).toBe(1)
  })

  it('caps the listings stored per publisher, but lets it update them', () => {
    const store = open(undefined, { maxListingsPerPublisher: 2 })
    expect(
      store.putMany([listing(0, 1), listing(0, 2), listing(0, 3)]).map((r) => r.outcome),
    ).toEqual(['inserted', 'inserted', 'full'])
    expect(store.put(listing(0, 2, 9)).outcome).toBe('replaced')
    expect(store.put(listing(1, 3)).outcome).toBe('inserted')
    expect(store.publisherCount(signers[0].id)).toBe(2)
  })

  it('answers every publisher of one hash, newest first, capped', () => {
    const store = open()
    store.putMany([listing(0, 7), listing(1, 7), listing(2, 7), listing(0, 8)])
    const hash = sampleDraft(7).infoHash
    const rows = store.byInfoHash(hash, 10).map((r) => (JSON.parse(r) as Listing).publisher)
    expect(rows).toEqual([signers[2].id, signers[1].id, signers[0].id])
    expect(store.byInfoHash(hash, 2).length).toBe(2)
    expect(store.byInfoHash('ff'.repeat(20), 10)).toEqual([])
  })

  it('stops a page at the byte cap, but always sends one row', () => {
    const store = open()
    store.putMany([listing(0, 1), listing(0, 2), listing(0, 3)])
    const one = store.page(0, 10, 10)
    expect(one).toMatchObject({ next: 1, more: true })
    expect(one.rows.length).toBe(1)
    const rowBytes = one.rows[0].length
    expect(store.page(0, 10, rowBytes * 2 + 5).rows.length).toBe(2)
  })

  it('keeps peer cursors and its epoch across a reopen, moved with the page', () => {
    const file = tempFile()
    const store = open(file)
    const epoch = store.epoch
    store.ingest('http://peer', 'e1', 40, [listing(0, 1), listing(0, 2)], 3)
    store.ingest('http://peer', 'e1', 45, [listing(0, 3)], 1)
    store.close()
    const again = open(file)
    expect(again.epoch).toBe(epoch)
    expect(again.peerCursor('http://peer')).toEqual({
      peer: 'http://peer',
      epoch: 'e1',
      cursor: 45,
      fetched: 4,
    })
    expect(again.count()).toBe(3)
    again.resetPeer('http://peer', 'e2')
    expect(again.peerCursor('http://peer')).toMatchObject({ epoch: 'e2', cursor: 0, fetched: 4 })
  })

  it('commits pulled pages without an fsync of their own, and keeps FULL for the rest', () => {
    const store = open(undefined, { synchronous: 'full' })
    expect(store.synchronousMode()).toBe('full')
    store.ingest('http://peer', 'e1', 1, [listing(0, 1)], 1)
    expect(store.synchronousMode()).toBe('full')
    const broken = { ...listing(0, 2), publisher: null } as unknown as Listing
    expect(() => store.ingest('http://peer', 'e1', 2, [broken], 1)).toThrow()
    expect(store.synchronousMode()).toBe('full')
    expect(open().synchronousMode()).toBe('normal')
  })

  it('moves neither rows nor the cursor when storing a page fails', () => {
    const store = open()
    store.ingest('http://peer', 'e1', 10, [listing(0, 1)], 1)
    const broken = { ...listing(0, 3), publisher: null } as unknown as Listing
    expect(() => store.ingest('http://peer', 'e1', 20, [listing(0, 2), broken], 2)).toThrow()
    expect(store.peerCursor('http://peer')).toMatchObject({ cursor: 10, fetched: 1 })
    expect(store.count()).toBe(1)
    expect(store.bytes()).toBe(bytesOf(listing(0, 1)))
  })

  it('stores several pulled pages in one transaction: results per page, cursor of the last', () => {
    const store = open()
    const row = (s: number, i: number, seq = 1) => listingRow(listing(s, i, seq))
    store.ingestRows('http://peer', 'e1', 3, [row(0, 1)], 1)
    const results = store.ingestPages('http://peer', 'e1', [
      { next: 10, rows: [row(0, 2), row(1, 1)], received: 3 },
      { next: 12, rows: [], received: 1 },
      { next: 20, rows: [row(0, 1), row(0, 2, 2), row(1, 1)], received: 3 },
    ])
    expect(results.map((page) => page.map((r) => r.outcome))).toEqual([
      ['inserted', 'inserted'],
      [],
      ['stale', 'replaced', 'stale'],
    ])
    expect(store.peerCursor('http://peer')).toMatchObject({ epoch: 'e1', cursor: 20, fetched: 8 })
    expect(store.count()).toBe(3)
    expect(store.publisherCount(signers[0].id)).toBe(2)
    expect(store.ingestPages('http://peer', 'e1', [])).toEqual([])
    // One bad row in the last page: none of the pages, and not the cursor.
    const broken = { ...row(2, 1), publisher: null } as unknown as ListingRow
    const pages = [
      { next: 25, rows: [row(2, 2)], received: 1 },
      { next: 30, rows: [broken], received: 1 },
    ]
    expect(() => store.ingestPages('http://peer', 'e1', pages)).toThrow()
    expect(store.peerCursor('http://peer')).toMatchObject({ cursor: 20, fetched: 8 })
    expect(store.count()).toBe(3)
  })

  it('caps the bytes stored per publisher; an update that does not grow is still taken', () => {
    const [a, b] = [listing(0, 1), listing(0, 2)]
    const store = open(undefined, { maxPublisherBytes: bytesOf(a) + 10 })
    expect(store.put(a).outcome).toBe('inserted')
    expect(store.put(b).outcome).toBe('full')
    expect(store.put(listing(1, 2)).outcome).toBe('inserted')
    // Same item, higher seq: the JSON is as long (ts and seq of one digit each way).
    expect(store.put(listing(0, 1, 2))).toMatchObject({ outcome: 'replaced' })
    expect(store.publisherBytes(signers[0].id)).toBe(bytesOf(listing(0, 1, 2)))
  })

  it('refuses new rows when the catalog is full, evicts nothing, and keeps the total on reopen', () => {
    const file = tempFile()
    const first = [listing(0, 1), listing(1, 1)]
    const store = open(file, { maxCatalogBytes: bytesOf(...first) + 10 })
    expect(store.putMany(first).map((r) => r.outcome)).toEqual(['inserted', 'inserted'])
    expect(store.put(listing(2, 1)).outcome).toBe('catalog-full')
    expect(store.put(listing(0, 2)).outcome).toBe('catalog-full')
    expect(store.ingest('http://peer', 'e1', 5, [listing(2, 3)], 1)[0].outcome).toBe('catalog-full')
    expect(pullAll(store)).toEqual(first)
    expect(store.bytes()).toBe(bytesOf(...first))
    store.close()
    expect(open(file).bytes()).toBe(bytesOf(...first))
  })

  it('counts the bytes of a catalog made before bytes were counted', () => {
    const file = tempFile()
    const db = new Database(file)
    db.exec(`
      CREATE TABLE listings (
        cursor INTEGER PRIMARY KEY AUTOINCREMENT, publisher TEXT NOT NULL,
        info_hash TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL,
        json TEXT NOT NULL, UNIQUE (publisher, info_hash));
      CREATE TABLE publishers (publisher TEXT PRIMARY KEY, listings INTEGER NOT NULL)
        WITHOUT ROWID;`)
    const old = [listing(0, 1), listing(0, 2), listing(1, 1)]
    for (const l of old) {
      db.prepare(
        'INSERT INTO listings (publisher, info_hash, seq, ts, json) VALUES (?, ?, ?, ?, ?)',
      ).run(l.publisher, l.infoHash, l.seq, l.ts, JSON.stringify(l))
      db.prepare(
        `INSERT INTO publishers VALUES (?, 1)
         ON CONFLICT (publisher) DO UPDATE SET listings = listings + 1`,
      ).run(l.publisher)
    }
    db.close()
    const store = open(file)
    expect(store.bytes()).toBe(bytesOf(...old))
    expect(store.publisherBytes(signers[0].id)).toBe(bytesOf(old[0], old[1]))
    expect(store.publisherCount(signers[0].id)).toBe(2)
  })

  it('ends with the highest seq of each key, and a full pull sees each exactly once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(2), fc.nat(2), fc.nat(4)), { maxLength: 30 }),
        fc.nat(40),
        (ops, pullFrom) => {
          const store = open(':memory:')
          const model = new Map<string, number>()
          for (const [s, item, seq] of ops) {
            const l = listing(s, item, seq)
            const key = `${l.publisher}/${l.infoHash}`
            const was = model.get(key)
            const outcome = store.put(l).outcome
            if (was === undefined || seq > was) {
              model.set(key, seq)
              expect(outcome).toBe(was === undefined ? 'inserted' : 'replaced')
            } else {
              expect(outcome).toBe('stale')
            }
          }
          const all = pullAll(store)
          expect(all.length).toBe(model.size)
          expect(store.bytes()).toBe(bytesOf(...all))
          for (const l of all) expect(model.get(`${l.publisher}/${l.infoHash}`)).toBe(l.seq)
          // From any cursor, pulling gives rows whose cursors are above it, once each.
          const tail = pullAll(store, Math.min(pullFrom, store.latest()))
          expect(new Set(tail.map((l) => l.sig)).size).toBe(tail.length)
          store.close()
        },
      ),
      { numRuns: 60 },
    )
  })
})
