// The catalog worker's search index across reloads (issue 23: a million listings searchable
// within 2 s of opening the app). Re-tokenising every stored listing took 6.3 s at 100,000,
// so the index is saved whole (SearchIndex.snapshot) with the local listing cursor it
// covers; a start loads it and then indexes only the listings stored after that cursor, so a
// stale snapshot still gives the right index. A snapshot that does not load (corrupt, an old
// layout) is ignored and the index is rebuilt from the stored listings, as before.

import type { StoredListing } from '../catalog/db.ts'
import { SearchIndex, type IndexedListing } from '../catalog/search-index.ts'
import type { CatalogStorage } from './catalog-storage.ts'

/** Listings read per IndexedDB request while loading. */
const LOAD_PAGE = 5000
/** The least time between two snapshots: each copies the whole index into a Blob (~200 MB
 * at a million listings) and blocks searches while it does (a few hundred ms there). */
export const SNAPSHOT_INTERVAL_MS = 30_000

export function toIndexed({ key, listing, cursor }: StoredListing): IndexedListing {
  return {
    key,
    infoHash: listing.infoHash,
    name: listing.name,
    description: listing.description,
    category: listing.category,
    size: listing.size,
    ts: listing.ts,
    seq: listing.seq,
    cursor,
  }
}

export interface LoadedIndex {
  index: SearchIndex
  /** Whether it differs from the saved snapshot (none, unusable, or listings came after).
   * Figures stored after it are not counted: every start reads them (figuresSince), and
   * saving the whole index again (~200 MB at a million listings) for a page of figures,
   * which the index page asks relays for as soon as it shows rows, costs far more. */
  stale: boolean
  /** The storage cursor it covers: every listing stored at or before it is in it. */
  cursor: number
}

/** Indexes what was stored after `cursor` (another tab's writes, or those after a snapshot);
 * returns the cursor now covered and how many listings came. */
export async function indexAfter(
  storage: CatalogStorage,
  index: SearchIndex,
  cursor: number,
  progress: () => void = () => {},
  /** The first page after `cursor`, if already asked for. */
  firstPage?: Promise<StoredListing[]>,
): Promise<{ cursor: number; added: number }> {
  let added = 0
  for (let next = firstPage; ; next = undefined) {
    const page = await (next ?? storage.listingsAfter(cursor, LOAD_PAGE))
    if (page.length === 0) break
    index.upsert(page.map(toIndexed))
    added += page.length
    cursor = page[page.length - 1].cursor
    progress()
    if (page.length < LOAD_PAGE) break
  }
  return { cursor, added }
}

/** The index of everything stored: the snapshot and what came after it, or a rebuild. */
export async function loadIndex(
  storage: CatalogStorage,
  /** Called as listings load, with the index so far: searches can use it already. */
  progress: (index: SearchIndex, total: number) => void,
  /** Waited for after a snapshot's head is given to `progress`, before its tables are read:
   * their read and checks hold the thread (~0.3 s at a million listings), and a search
   * asked for meanwhile would wait behind them. */
  beforeTables: () => Promise<void> = async () => {},
): Promise<LoadedIndex> {
  const [total, saved] = await Promise.all([
    storage.countListings(),
    // A snapshot that cannot even be read (a bad row, a lost blob) is as good as none.
    storage.indexSnapshot().catch(() => undefined),
  ])
  // Asked for before the snapshot is decoded (~0.3 s at a million listings), so IndexedDB
  // reads them meanwhile; a rejection is met where they are awaited, if they are.
  const firstPage = saved && storage.listingsAfter(saved.cursor, LOAD_PAGE)
  const figuresSince = saved && storage.figuresSince(saved.figuresAt)
  for (const asked of [firstPage, figuresSince]) asked?.catch(() => undefined)
  let index: SearchIndex | null = null
  try {
    if (saved) {
      // Searches are answered from the head, then the tables are read and checked.
      const head = SearchIndex.fromSnapshotHead(saved.head)
      progress(head, total)
      await beforeTables()
      head.takeSnapshotTables(await saved.tables())
      index = head
    }
  } catch {
    // Unusable (SnapshotError, or the tables unread): rebuilt below, and saved afresh later.
  }
  if (!index || !saved || !firstPage || !figuresSince) {
    const rebuilt = new SearchIndex()
    let cursor = 0
    for await (const page of storage.allListings()) {
      rebuilt.upsert(page.map(toIndexed))
      if (page.length) cursor = Math.max(cursor, page[page.length - 1].cursor)
      progress(rebuilt, total)
    }
    rebuilt.setFigures((await storage.allFigures()).map((row) => [row.infoHash, row]))
    return { index: rebuilt, stale: true, cursor }
  }
  progress(index, total)
  const loaded = index
  const caughtUp = await indexAfter(
    storage,
    loaded,
    saved.cursor,
    () => progress(loaded, total),
    firstPage,
  )
  const figures = await figuresSince
  loaded.setFigures(figures.map((row) => [row.infoHash, row]))
  return { index: loaded, stale: caughtUp.added > 0, cursor: caughtUp.cursor }
}

/**
 * Saves the index once a sync pass that changed it has ended, at most once every
 * SNAPSHOT_INTERVAL_MS (a large import is one long pass: saved once, at its end). Whoever
 * feeds the index must do so as soon as a store resolves (no await between), and apply
 * figures before storing them: then everything up to the cursor and figures time read
 * before a snapshot is in it.
 */
export class IndexSnapshots {
  readonly #storage: CatalogStorage
  readonly #now: () => number
  readonly #index: () => SearchIndex
  readonly #covered: () => number
  #dirty = false
  #saving = false
  #lastSave = -Infinity
  #timer: ReturnType<typeof setTimeout> | null = null
  #stopped = false
  /** The save under way or the last one, settled. */
  #saved: Promise<void> = Promise.resolve()

  /** `covered`: the storage cursor the index covers. Another tab may have stored past it;
   * a snapshot claims only what this index holds. */
  constructor(
    storage: CatalogStorage,
    now: () => number,
    index: () => SearchIndex,
    covered: () => number = () => Infinity,
  ) {
    this.#storage = storage
    this.#now = now
    this.#index = index
    this.#covered = covered
  }

  /** The index changed since it was last saved. */
  changed(): void {
    this.#dirty = true
  }

  /** A pass ended: saves a changed index now, or once the interval since the last is up. */
  settle(): void {
    void this.#maybeSave()
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  /** Saves a changed index now, whatever the interval, after any save under way; resolves
   * once it is in storage (or could not be: a later change tries again). */
  async saveNow(): Promise<void> {
    // A save that ends dirty starts the next itself: wait for that one too.
    while (this.#saving) await this.#saved
    if (!this.#dirty || this.#stopped) return
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    this.#lastSave = -Infinity
    await this.#maybeSave()
  }

  #maybeSave(): Promise<void> {
    if (!this.#dirty || this.#saving || this.#stopped || this.#timer !== null) return this.#saved
    const wait = this.#lastSave + SNAPSHOT_INTERVAL_MS - this.#now()
    if (wait > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = null
        void this.#maybeSave()
      }, wait)
      return this.#saved
    }
    this.#saved = this.#save()
    return this.#saved
  }

  async #save(): Promise<void> {
    this.#saving = true
    this.#dirty = false
    this.#lastSave = this.#now()
    try {
      const figuresAt = this.#now()
      const basis = await this.#storage.snapshotBasis()
      const cursor = Math.min(basis.cursor, this.#covered())
      // Made at once from the index's own arrays (they change in place as listings come).
      const { parts, headBytes } = this.#index().snapshotParts()
      const bytes = new Blob(parts as Uint8Array<ArrayBuffer>[])
      const saving = { ...basis, cursor, figuresAt, bytes, headBytes }
      if (!(await this.#storage.saveIndexSnapshot(saving))) {
        this.#dirty = true
      }
    } catch {
      // No room (QuotaExceededError) or the database closing: a later change tries again,
      // and a start without a snapshot only takes longer.
      this.#dirty = true
    } finally {
      this.#saving = false
    }
    // Changes made while saving, or a save voided by a deletion: saved on the next turn.
    if (this.#dirty) this.settle()
  }
}
