// The search index across reloads: a snapshot plus the listings stored after it gives the
// index a rebuild gives, whatever the snapshot's state.

import { afterEach, describe, expect, it, vi } from 'vitest'
import { createIdentity } from '../../shared/identity.ts'
import { createListing, type Listing } from '../../shared/listing.ts'
import { sampleDraft } from '../../relay/catalog/test-support.ts'
import type { SearchIndex, SearchQuery } from '../catalog/search-index.ts'
import { IndexSnapshots, SNAPSHOT_INTERVAL_MS, loadIndex } from './catalog-index-store.ts'
import { memoryCatalogStorage } from './catalog-test-support.ts'

const NOW = 1_764_115_200_000
const author = createIdentity()
const listing = (i: number, seq = 1): Listing =>
  createListing(sampleDraft(i), author, { seq, ts: NOW / 1000 })
const queries: SearchQuery[] = ['', 'sample', 'release 1', 'nothing'].map((text) => ({
  text,
  sort: 'seeds',
  descending: true,
  offset: 0,
  limit: 100,
}))
/** What each query finds; rows that tie keep the order they were indexed in, which a
 * rebuild (in key order) and a catch-up (in arrival order) need not share. */
const answers = (index: SearchIndex) =>
  queries.map((q) => {
    const r = index.search(q)
    return { ...r, keys: [...r.keys].sort() }
  })
const load = (storage: ReturnType<typeof memoryCatalogStorage>) =>
  loadIndex(storage.storage, () => undefined)

/** Saves `index` now, as the replica's IndexSnapshots does. */
async function save(storage: ReturnType<typeof memoryCatalogStorage>, index: SearchIndex) {
  const basis = await storage.storage.snapshotBasis()
  const { parts, headBytes } = index.snapshotParts()
  const bytes = new Blob(parts as Uint8Array<ArrayBuffer>[])
  return storage.storage.saveIndexSnapshot({ ...basis, figuresAt: NOW, bytes, headBytes })
}

/** Two listings stored, their index saved: the index and the snapshot as storage holds it. */
async function savedSnapshot() {
  const storage = memoryCatalogStorage()
  await storage.put([listing(1), listing(2)], NOW)
  const good = (await load(storage)).index
  await save(storage, good)
  return { storage, good, saved: storage.snapshot! }
}

/** Promise.withResolvers, which Node 20 lacks. */
function withResolvers() {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

afterEach(() => vi.useRealTimers())

describe('loadIndex', () => {
  it('rebuilds from the stored listings when there is no snapshot', async () => {
    const storage = memoryCatalogStorage()
    await storage.put([listing(1), listing(2)], NOW)
    const { index, stale } = await load(storage)
    expect(stale).toBe(true)
    expect(index.size).toBe(2)
  })

  it('loads a stale snapshot and catches up: new, replaced rows and later figures', async () => {
    const storage = memoryCatalogStorage()
    await storage.put([listing(1), listing(2), listing(3)], NOW)
    await save(storage, (await load(storage)).index)
    await storage.put([listing(4), listing(2, 2)], NOW)
    const figures = { infoHash: listing(3).infoHash, seeds: 9, leechers: 0, downloads: 1 }
    await storage.storage.putFigures([{ ...figures, at: NOW + 1 }])
    const restored = await load(storage)
    expect(restored.stale).toBe(true)
    expect(restored.index.figures(listing(3).infoHash)).toEqual({
      seeds: 9,
      leechers: 0,
      downloads: 1,
    })
    storage.storage.indexSnapshot = async () => undefined
    const rebuilt = await load(storage)
    expect(answers(restored.index)).toEqual(answers(rebuilt.index))
    expect(restored.index.size).toBe(4)
    expect(restored.index.search(queries[0]).keys[0]).toContain(listing(3).infoHash)
  })

  it('takes figures stored after the snapshot without calling it stale', async () => {
    const storage = memoryCatalogStorage()
    await storage.put([listing(1)], NOW)
    await save(storage, (await load(storage)).index)
    const live = { seeds: 4, leechers: 2, downloads: 7 }
    await storage.storage.putFigures([{ infoHash: listing(1).infoHash, ...live, at: NOW + 1 }])
    const { stale, index } = await load(storage)
    expect(stale).toBe(false)
    expect(index.figures(listing(1).infoHash)).toEqual(live)
  })

  it('rebuilds when the snapshot is corrupt, and gets the same index', async () => {
    const { storage, good, saved } = await savedSnapshot()
    saved.bytes = saved.bytes.slice(0, saved.bytes.length - 8)
    const { index, stale } = await load(storage)
    expect(stale).toBe(true)
    expect(answers(index)).toEqual(answers(good))
  })

  it('rebuilds from a snapshot of an older version, the reads asked for early unhandled', async () => {
    const { storage, good, saved } = await savedSnapshot()
    new DataView(saved.bytes.buffer, saved.bytes.byteOffset).setUint32(4, 1, true)
    // Asked for before the snapshot is refused: their failure must not go unhandled.
    const listingsAfter = vi.fn(async () => Promise.reject(new Error('closing')))
    storage.storage.listingsAfter = listingsAfter
    storage.storage.figuresSince = async () => Promise.reject(new Error('closing'))
    const { index, stale } = await load(storage)
    expect(listingsAfter).toHaveBeenCalled()
    expect(stale).toBe(true)
    expect(answers(index)).toEqual(answers(good))
  })

  it('answers searches from the head before the tables are read, then takes changes', async () => {
    const { storage, good } = await savedSnapshot()
    const tables = withResolvers()
    const read = storage.storage.indexSnapshot
    storage.storage.indexSnapshot = async () => {
      const saved = (await read())!
      return { ...saved, tables: () => tables.promise.then(saved.tables) }
    }
    const seen: SearchIndex[] = []
    const loading = loadIndex(storage.storage, (index) => void seen.push(index))
    await vi.waitFor(() => expect(seen).toHaveLength(1))
    expect(seen[0].complete).toBe(false)
    expect(answers(seen[0])).toEqual(answers(good))
    expect(() => seen[0].upsert([])).toThrow(/still loading/)
    tables.resolve()
    const { index, stale } = await loading
    expect([index, index.complete, stale]).toEqual([seen[0], true, false])
    index.upsert([])
  })

  it("rebuilds when the tables are another snapshot's, or cut short", async () => {
    const { storage, good, saved } = await savedSnapshot()
    const other = memoryCatalogStorage()
    await other.put([listing(1), listing(2), listing(3)], NOW)
    await save(other, (await load(other)).index)
    const { headBytes } = saved
    for (const tables of [
      other.snapshot!.bytes.slice(other.snapshot!.headBytes),
      new Uint8Array(0),
    ]) {
      const bytes = new Uint8Array(headBytes + tables.length)
      bytes.set(saved.bytes.subarray(0, headBytes))
      bytes.set(tables, headBytes)
      saved.bytes = bytes
      const { index, stale } = await load(storage)
      expect([index.complete, stale]).toEqual([true, true])
      expect(answers(index)).toEqual(answers(good))
    }
  })

  it('rebuilds when the snapshot cannot be read at all', async () => {
    const storage = memoryCatalogStorage()
    await storage.put([listing(1)], NOW)
    storage.storage.indexSnapshot = async () => {
      throw new DOMException('blob gone', 'NotReadableError')
    }
    expect((await load(storage)).index.size).toBe(1)
  })

  it('loses a snapshot to a deleted listing, and a save begun before the deletion', async () => {
    const storage = memoryCatalogStorage()
    await storage.put([listing(1), listing(2)], NOW)
    const { index } = await load(storage)
    await save(storage, index)
    const basis = await storage.storage.snapshotBasis()
    const removed = storage.listings.get(`${author.id}:${listing(2).infoHash}`)!
    await storage.storage.removeListing(removed.cursor)
    expect(await storage.storage.indexSnapshot()).toBeUndefined()
    const late = { ...basis, figuresAt: NOW, bytes: index.snapshot(), headBytes: 0 }
    expect(await storage.storage.saveIndexSnapshot(late)).toBe(false)
    expect((await load(storage)).index.size).toBe(1)
  })
})

describe('IndexSnapshots', () => {
  /** A stored listing, its index, and snapshots of it whose saves are counted (fake timers). */
  async function oneListingSaved(now: () => number) {
    vi.useFakeTimers()
    const storage = memoryCatalogStorage()
    await storage.put([listing(1)], NOW)
    const { index } = await load(storage)
    const saves = vi.spyOn(storage.storage, 'saveIndexSnapshot')
    const snapshots = new IndexSnapshots(storage.storage, now, () => index)
    return { storage, index, saves, snapshots }
  }

  it('saves at most once per interval, and the last change in the end', async () => {
    let now = NOW
    const { storage, index, saves, snapshots } = await oneListingSaved(() => now)
    snapshots.settle()
    expect(saves).not.toHaveBeenCalled()
    snapshots.changed()
    snapshots.settle()
    await vi.waitFor(() => expect(saves).toHaveBeenCalledTimes(1))
    index.upsert([{ ...indexed(listing(2)) }])
    snapshots.changed()
    snapshots.settle()
    snapshots.settle()
    await vi.advanceTimersByTimeAsync(SNAPSHOT_INTERVAL_MS / 2)
    expect(saves).toHaveBeenCalledTimes(1)
    now += SNAPSHOT_INTERVAL_MS
    await vi.advanceTimersByTimeAsync(SNAPSHOT_INTERVAL_MS)
    expect(saves).toHaveBeenCalledTimes(2)
    expect((await load(storage)).index.size).toBe(2)
    snapshots.stop()
  })

  it('saves at once when asked, whatever the interval, and resolves once it is stored', async () => {
    const { storage, index, saves, snapshots } = await oneListingSaved(() => NOW)
    await snapshots.saveNow()
    expect(saves).not.toHaveBeenCalled()
    snapshots.changed()
    snapshots.settle()
    index.upsert([indexed(listing(2))])
    snapshots.changed()
    // The first save is under way and the interval not up: saveNow waits for it, then saves.
    await snapshots.saveNow()
    expect(saves).toHaveBeenCalledTimes(2)
    expect((await storage.storage.indexSnapshot())?.cursor).toBe(1)
    expect((await load(storage)).index.size).toBe(2)
    snapshots.stop()
  })

  it('claims only what its index covers when another tab stored after it', async () => {
    const storage = memoryCatalogStorage()
    await storage.put([listing(1), listing(2)], NOW)
    const loaded = await load(storage)
    expect(loaded.cursor).toBe(2)
    // Another tab stores two more; this tab's index has not seen them.
    await storage.put([listing(3), listing(4)], NOW)
    const snapshots = new IndexSnapshots(
      storage.storage,
      () => NOW,
      () => loaded.index,
      () => loaded.cursor,
    )
    snapshots.changed()
    snapshots.settle()
    await vi.waitFor(async () => expect((await storage.storage.indexSnapshot())?.cursor).toBe(2))
    snapshots.stop()
    // The next start catches up from the cursor the snapshot claims: nothing is missed.
    const next = await load(storage)
    expect(next.index.size).toBe(4)
    expect(next.cursor).toBe(4)
  })

  it('keeps going when storage refuses the save (a full disk)', async () => {
    const storage = memoryCatalogStorage()
    const { index } = await load(storage)
    storage.storage.saveIndexSnapshot = async () => {
      throw new DOMException('full', 'QuotaExceededError')
    }
    const snapshots = new IndexSnapshots(
      storage.storage,
      () => NOW,
      () => index,
    )
    snapshots.changed()
    await new Promise((r) => setTimeout(r, 0))
    expect(await storage.storage.indexSnapshot()).toBeUndefined()
    snapshots.stop()
  })
})

function indexed(l: Listing) {
  return {
    key: `${l.publisher}:${l.infoHash}`,
    infoHash: l.infoHash,
    name: l.name,
    description: l.description,
    category: l.category,
    size: l.size,
    ts: l.ts,
  }
}
