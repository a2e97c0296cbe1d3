// For tests of the catalog worker in Node (there is no IndexedDB there): db.ts's semantics
// over maps, with db.ts's own page layout (listing-pages.ts): pages numbered on from the last
// cursor, dead marks, compaction once half a page is dead, a relay's cursor moving with its
// page; and a replica asked as the page asks it.

import type { Listing } from '../../shared/listing.ts'
import type { RelaySyncState, SnapshotCover, SwarmFiguresRow } from '../catalog/db.ts'
import {
  compacted,
  cursorAt,
  dueForCompaction,
  freshListings,
  pageRows,
  rowAt,
  toPages,
  type StoredListing,
  type StoredPage,
} from '../catalog/listing-pages.ts'
import type { FromWorker, ToWorker } from '../catalog/protocol.ts'
import { RelayError, type fetchRelayJson } from '../catalog/relay-client.ts'
import type { RecordPage } from '../lib/mesh/types.ts'
import { CatalogReplica } from './catalog-replica.ts'
import type { Locks } from './catalog-write-lock.ts'
import type { CatalogStorage, SyncCursor } from './catalog-storage.ts'

export function memoryCatalogStorage() {
  /** By each page's last cursor. */
  const pages = new Map<number, StoredPage>()
  const dead = new Set<number>()
  const figures = new Map<string, SwarmFiguresRow>()
  const sync = new Map<string, RelaySyncState>()
  const node = new Map<string, unknown>()
  let lastCursor = 0
  let deletions = 0
  /** The index snapshot as db.ts keeps it: one run of bytes, and where its head ends. */
  let snapshot: (SnapshotCover & { bytes: Uint8Array; headBytes: number }) | undefined
  const isDead = (cursor: number) => dead.has(cursor)
  const inOrder = () => [...pages.values()].sort((a, b) => a.last - b.last)
  const live = () => inOrder().flatMap((page) => pageRows(page, 0, isDead))
  const pageOf = (cursor: number) => inOrder().find((p) => p.last >= cursor)
  const compact = (cursor: number) => {
    const page = pageOf(cursor)
    if (!page || page.first > cursor) return
    const cursors = page.listings.map((_, i) => cursorAt(page, i))
    if (!dueForCompaction(page, cursors.filter(isDead).length)) return
    const kept = compacted(page, isDead)
    for (const c of cursors) dead.delete(c)
    pages.delete(page.last)
    if (kept) pages.set(kept.last, kept)
  }
  const storage: CatalogStorage = {
    countListings: async () => live().length,
    async *allListings() {
      const rows = live()
      if (rows.length) yield rows
    },
    allFigures: async () => [...figures.values()],
    putFigures: async (rows) => void rows.forEach((r) => figures.set(r.infoHash, r)),
    listingsAt: async (cursors) =>
      cursors.flatMap((c) => {
        const page = pageOf(c)
        const row = page && rowAt(page, c, isDead)
        return row ? [row] : []
      }),
    async putListings(batch, now, options = {}) {
      const written = toPages(batch, lastCursor, now)
      for (const page of written) pages.set(page.last, page)
      lastCursor = written.at(-1)?.last ?? lastCursor
      for (const c of options.superseded ?? []) dead.add(c)
      if (options.superseded?.length) compact(options.superseded[0])
      const { sync: cursor } = options
      if (cursor) sync.set(cursor.relay, { ...cursor, lastSyncAt: now, lastError: null })
      return written.flatMap((page) => pageRows(page, 0, () => false))
    },
    listingsAfter: async (after, limit) =>
      inOrder()
        .flatMap((page) => pageRows(page, after, isDead))
        .slice(0, limit),
    async removeListing(cursor) {
      dead.add(cursor)
      deletions++
      snapshot = undefined
    },
    syncState: async (relay) => sync.get(relay),
    allSyncStates: async () => [...sync.values()],
    async noteSyncError(relay, error) {
      const state = sync.get(relay) ?? { relay, cursor: 0, lastSyncAt: 0, lastError: null }
      sync.set(relay, { ...state, lastError: error })
    },
    getNodeValue: async <T>(name: string) => node.get(name) as T | undefined,
    setNodeValue: async (name, value) => void node.set(name, value),
    snapshotBasis: async () => ({ cursor: lastCursor, deletions }),
    async indexSnapshot() {
      if (!snapshot) return undefined
      const { bytes, headBytes, ...cover } = snapshot
      return {
        ...cover,
        head: bytes.slice(0, headBytes),
        tables: async () => bytes.slice(headBytes),
      }
    },
    async saveIndexSnapshot(saved) {
      const { bytes } = saved
      const held = bytes instanceof Blob ? new Uint8Array(await bytes.arrayBuffer()) : bytes
      if (saved.deletions !== deletions) return false
      snapshot = { ...saved, bytes: held }
      return true
    },
    figuresSince: async (at) => [...figures.values()].filter((f) => f.at >= at),
  }
  /** Stores what is new or newer of `listings`, judged against what is stored here (the
   * replica judges against its index): for tests that fill a store before a replica opens. */
  const put = async (listings: Listing[], now: number, cursor?: SyncCursor): Promise<Listing[]> => {
    const current = new Map(live().map((r) => [r.key, { seq: r.listing.seq, cursor: r.cursor }]))
    const { fresh, superseded } = freshListings(listings, (key) => current.get(key))
    await storage.putListings(fresh, now, { superseded, ...(cursor && { sync: cursor }) })
    return fresh
  }
  return {
    storage,
    put,
    /** The live listings by key. */
    get listings(): Map<string, StoredListing> {
      return new Map(live().map((r) => [r.key, r]))
    },
    /** Stored pages, dead listings included until compacted. */
    get pages(): StoredPage[] {
      return inOrder()
    },
    sync,
    /** The index snapshot as stored, for tests to alter. */
    get snapshot() {
      return snapshot
    },
  }
}

/** A fetch for which every relay is down. */
export const unreachable: typeof fetchRelayJson = async (url) => {
  throw new RelayError(`cannot reach ${new URL(url).host}`)
}

type Request = Extract<ToWorker, { id: number }>
type Ask = Request extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never

/** A replica over memory storage, asked as the page's Catalog asks it: one reply each. */
export function replicaWorker(
  fetchJson = unreachable,
  storage = memoryCatalogStorage(),
  now = () => Date.now(),
) {
  const posted: FromWorker[] = []
  const replica = new CatalogReplica({
    storage: Promise.resolve(storage.storage),
    fetchJson,
    post: (m) => posted.push(m),
    now,
  })
  let next = 0
  const ask = async (message: Ask): Promise<FromWorker> => {
    const id = ++next
    await replica.receive({ ...message, id } as Request)
    return posted.find((m) => 'id' in m && m.id === id)!
  }
  /** Catalog.meshPage and Catalog.meshAccept, over the replica. */
  const listings = {
    async meshPage(cursor: number, limit: number): Promise<RecordPage> {
      const reply = await ask({ type: 'meshPage', cursor, limit })
      if (reply.type !== 'meshPage') throw new Error(JSON.stringify(reply))
      return { records: reply.records, next: reply.next, more: reply.more }
    },
    async meshAccept(records: string[]) {
      const reply = await ask({ type: 'meshAccept', records })
      if (reply.type !== 'meshAccepted') throw new Error(JSON.stringify(reply))
      return { stored: reply.stored, refused: reply.refused }
    },
  }
  return {
    replica,
    posted,
    storage,
    ask,
    listings,
    page: listings.meshPage,
    accept: listings.meshAccept,
  }
}

/** Web Locks as a browser keeps them for one origin: a queue per name. */
export function fakeLocks(): Locks & { held: string[] } {
  const tails = new Map<string, Promise<unknown>>()
  const held: string[] = []
  return {
    held,
    request<T>(name: string, callback: () => Promise<T>): Promise<T> {
      const run = (tails.get(name) ?? Promise.resolve()).then(async () => {
        held.push(name)
        try {
          return await callback()
        } finally {
          held.splice(held.indexOf(name), 1)
        }
      })
      tails.set(
        name,
        run.catch(() => undefined),
      )
      return run
    },
  }
}
