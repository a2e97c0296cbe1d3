// For tests of the catalog worker in Node (there is no IndexedDB there): db.ts's semantics
// over maps (the higher seq is kept and numbered with db.ts's own freshRows, a relay's cursor
// moves with its page), and a replica asked as the page asks it.

import type { Listing } from '../../shared/listing.ts'
import {
  freshRows,
  type IndexSnapshot,
  type RelaySyncState,
  type StoredListing,
  type SwarmFiguresRow,
} from '../catalog/db.ts'
import type { FromWorker, ToWorker } from '../catalog/protocol.ts'
import { RelayError, type fetchRelayJson } from '../catalog/relay-client.ts'
import type { RecordPage } from '../lib/mesh/types.ts'
import { CatalogReplica } from './catalog-replica.ts'
import type { CatalogStorage } from './catalog-storage.ts'

export function memoryCatalogStorage() {
  const listings = new Map<string, StoredListing>()
  const figures = new Map<string, SwarmFiguresRow>()
  const sync = new Map<string, RelaySyncState>()
  const node = new Map<string, unknown>()
  let lastCursor = 0
  let deletions = 0
  let snapshot: IndexSnapshot | undefined
  const write = (rows: StoredListing[]) => {
    for (const row of rows) listings.set(row.key, row)
    lastCursor = rows.at(-1)?.cursor ?? lastCursor
  }
  const storage: CatalogStorage = {
    countListings: async () => listings.size,
    async *allListings() {
      if (listings.size) yield [...listings.values()]
    },
    allFigures: async () => [...figures.values()],
    putFigures: async (rows) => void rows.forEach((r) => figures.set(r.infoHash, r)),
    listingsFor: async (h) => [...listings.values()].filter((s) => s.infoHash === h),
    async putListings(batch, now, cursor) {
      const rows = freshRows(
        batch,
        batch.map((l) => listings.get(`${l.publisher}:${l.infoHash}`)),
        lastCursor,
        now,
      )
      write(rows)
      if (cursor) sync.set(cursor.relay, { ...cursor, lastSyncAt: now, lastError: null })
      return rows.map((r) => r.listing)
    },
    listingsAfter: async (after, limit) =>
      [...listings.values()]
        .filter((s) => s.cursor > after)
        .sort((a, b) => a.cursor - b.cursor)
        .slice(0, limit),
    async restoreListing(key, previous: Listing | null, now) {
      if (previous) write(freshRows([previous], [undefined], lastCursor, now))
      else {
        listings.delete(key)
        deletions++
        snapshot = undefined
      }
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
    indexSnapshot: async () => snapshot,
    async saveIndexSnapshot(saved) {
      if (saved.deletions !== deletions) return false
      snapshot = saved
      return true
    },
    figuresSince: async (at) => [...figures.values()].filter((f) => f.at >= at),
  }
  return { storage, listings, sync }
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
