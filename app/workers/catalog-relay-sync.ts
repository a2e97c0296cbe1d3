// One sync pass of the browser's catalog from one relay: from where this browser stopped,
// page by page to the relay's end (shared/cursor-puller.ts), each listing verified
// (app/catalog/verify.ts) and stored with the relay's cursor in one transaction. The
// browser reads quietly: a relay that says `more` without moving its cursor ends the pass,
// and a failure shows as the relay's state until the next pass, ten seconds on.

import type { Listing } from '../../shared/listing.ts'
import { pullByCursor } from '../../shared/cursor-puller.ts'
import type { RelaySyncProgress } from '../catalog/protocol.ts'
import { parseListingPage, type fetchRelayJson } from '../catalog/relay-client.ts'
import type { SwarmFigures } from '../catalog/search-index.ts'
import { verifyListings } from '../catalog/verify.ts'
import type { CatalogStorage } from './catalog-storage.ts'

/** Listings asked for per page; the relay caps it too (MAX_PAGE_LISTINGS). */
export const PAGE_SIZE = 1000

export interface RelaySyncDeps {
  storage: CatalogStorage
  fetchJson: typeof fetchRelayJson
  now: () => number
  /** Takes what a page brought (listings new or newer here, and swarm figures) into the
   * index. */
  stored(fresh: Listing[], figures: Map<string, SwarmFigures>): Promise<void>
  /** Tells the page that `entry` changed. */
  progress(): void
}

/** Reads a relay's catalog from where this browser stopped, page by page, to its end;
 * `entry` shows how far it got, or the error that stopped it. Never throws. */
export async function syncRelay(
  deps: RelaySyncDeps,
  relay: string,
  entry: RelaySyncProgress,
): Promise<void> {
  const { storage, now } = deps
  const state = await storage.syncState(relay)
  let cursor = state?.cursor ?? 0
  let epoch = state?.epoch
  const start = cursor
  Object.assign(entry, { state: 'syncing', fetched: 0, fraction: null, error: null })
  entry.lastSyncAt = state?.lastSyncAt ?? entry.lastSyncAt
  deps.progress()
  try {
    await pullByCursor(
      {
        cursor: () => cursor,
        fetch: async (after) =>
          parseListingPage(
            await deps.fetchJson(`${relay}/v1/listings?after=${after}&limit=${PAGE_SIZE}`),
          ),
        restarted: (_after, page) => {
          if (page.epoch === null || epoch === undefined || page.epoch === epoch || cursor === 0) {
            return false
          }
          // Another store behind the same URL: its cursors start over.
          cursor = 0
          epoch = page.epoch
          return true
        },
        store: async (_after, page) => {
          epoch = page.epoch ?? epoch
          const verified = await verifyListings(page.listings, Math.floor(now() / 1000))
          const fresh = await storage.putListings(verified.listings, now(), {
            relay,
            cursor: page.next,
            ...(epoch !== undefined && { epoch }),
          })
          await deps.stored(fresh, page.figures)
          entry.fetched += page.listings.length
          entry.fraction =
            page.latest !== null && page.latest > start
              ? Math.min(1, (page.next - start) / (page.latest - start))
              : null
          deps.progress()
          cursor = page.next
        },
      },
      { strict: false, prefetch: () => true },
    )
    entry.state = 'idle'
    entry.fraction = 1
    entry.lastSyncAt = now()
  } catch (err) {
    entry.state = 'error'
    entry.error = err instanceof Error ? err.message : String(err)
    await storage.noteSyncError(relay, entry.error).catch(() => undefined)
  }
  deps.progress()
}
