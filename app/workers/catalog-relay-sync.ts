// One sync pass of the browser's catalog from one relay: from where this browser stopped,
// page by page to the relay's end (shared/cursor-puller.ts), each listing verified
// (app/catalog/verify.ts) and stored with the relay's cursor in one transaction. The
// browser reads quietly: a relay that says `more` without moving its cursor ends the pass,
// and a failure shows as the relay's state until the next pass, ten seconds on.
//
// The stages overlap: a page is verified as soon as it arrives (on another core, in the
// catalog worker's verify workers: catalog-verify-pool.ts), while the page before it
// is stored, and the page after that is already being fetched (the puller's prefetch plus
// READ_AHEAD_PAGES here). Signature checks and IndexedDB writes then run side by side
// instead of one after the other. A relay that sheds load (503, 429) is waited for as it
// asks, a few times, before the pass gives up until the next.

import type { Listing } from '../../shared/listing.ts'
import { pullByCursor } from '../../shared/cursor-puller.ts'
import type { RelaySyncProgress } from '../catalog/protocol.ts'
import {
  RelayError,
  parseListingPage,
  relayJson,
  type ListingPage,
  type fetchRelayJson,
  type fetchRelayText,
} from '../catalog/relay-client.ts'
import type { SwarmFigures } from '../catalog/search-index.ts'
import { checkedListings, type Verified } from '../catalog/verify.ts'
import { changedFigures } from './catalog-live.ts'
import type { CatalogStorage, SyncCursor } from './catalog-storage.ts'

/** Listings asked for per page; the relay caps it too (MAX_PAGE_LISTINGS). */
export const PAGE_SIZE = 1000
/** Pages read ahead beyond the one the puller prefetches: with the page being stored, at
 * most three pages of one relay are held at once, each under the relay's MAX_PAGE_BYTES
 * (4 MiB) and our MAX_ANSWER_BYTES. */
export const READ_AHEAD_PAGES = 1
/** Times one page is asked for again when the relay answers busy (503) or slow down (429):
 * a relay sheds page builds while its tracker is loaded, and a pass of a million listings
 * should wait a moment rather than stop until the next pass. */
export const MAX_PAGE_RETRIES = 5
/** Wait after a busy answer without Retry-After, and the longest Retry-After honoured: a
 * relay asking for longer is left until the next pass. */
export const DEFAULT_RETRY_AFTER_S = 2
export const MAX_RETRY_AFTER_S = 30

export interface RelaySyncDeps {
  storage: CatalogStorage
  fetchJson: typeof fetchRelayJson
  now: () => number
  /** Stores what is new or newer here of a page's verified listings, with the relay's
   * cursor, in one transaction, and indexes it; returns what that was. */
  put(listings: Listing[], sync: SyncCursor): Promise<Listing[]>
  /** Takes what a page brought (listings new or newer here, and swarm figures) in: figures
   * into the index, and word to the page. */
  stored(fresh: Listing[], figures: Map<string, SwarmFigures>): Promise<void>
  /** Tells the page that `entry` changed. */
  progress(): void
  /** Waits `ms` before asking a busy relay again (setTimeout unless a test passes its own). */
  wait?: (ms: number) => Promise<void>
  /** Verifies a page's values (checkedListings, here, unless the worker has verify workers).
   * `text` is the page as it came, when read through fetchText: its `listings` are `values`. */
  verify?: (values: readonly unknown[], nowSeconds: number, text?: string) => Promise<Verified>
  /** Reads pages as text (fetchRelayText) rather than through fetchJson, so that `verify`
   * gets the text too: a verify worker is sent the text (a copy of one string) and parses it
   * there, instead of being sent a clone of a thousand parsed listings. */
  fetchText?: typeof fetchRelayText
}

/** A page with its verification under way. */
interface VerifyingPage extends ListingPage {
  verified: Promise<Verified>
}

/** A relay's progress before its first pass. */
export function newRelayProgress(relay: string): RelaySyncProgress {
  return {
    relay,
    fetched: 0,
    remaining: null,
    refused: 0,
    fraction: null,
    state: 'syncing',
    error: null,
    lastSyncAt: 0,
  }
}

/** The swarm figures of a page worth storing: those that differ from what is `known`, where
 * an unknown hash counts as all zeros (the index's default). A relay reports zeros for most
 * of a large catalog; storing them would cost a row and a map entry per listing. */
export function figuresToStore(
  figures: Map<string, SwarmFigures>,
  known: Pick<ReadonlyMap<string, SwarmFigures>, 'get'>,
): Map<string, SwarmFigures> {
  return changedFigures(figures, { get: (infoHash) => known.get(infoHash) ?? NO_FIGURES })
}

const NO_FIGURES: SwarmFigures = { seeds: 0, leechers: 0, downloads: 0 }

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
  Object.assign(entry, { state: 'syncing', fetched: 0, remaining: null, fraction: null })
  entry.error = null
  entry.lastSyncAt = state?.lastSyncAt ?? entry.lastSyncAt
  deps.progress()
  const wait = deps.wait ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const verify = deps.verify ?? checkedListings
  const fetchPage = readAhead(async (after: number): Promise<VerifyingPage> => {
    const url = `${relay}/v1/listings?after=${after}&limit=${PAGE_SIZE}`
    const { fetchText } = deps
    const text = fetchText ? await fetchPatiently(() => fetchText(url), wait) : undefined
    const page = parseListingPage(
      text !== undefined
        ? relayJson(text, url)
        : await fetchPatiently(() => deps.fetchJson(url), wait),
    )
    const verified = verify(page.listings, Math.floor(now() / 1000), text)
    verified.catch(() => undefined)
    return { ...page, verified }
  })
  try {
    await pullByCursor(
      {
        cursor: () => cursor,
        fetch: fetchPage,
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
          const verified = await page.verified
          const fresh = await deps.put(verified.listings, {
            relay,
            cursor: page.next,
            ...(epoch !== undefined && { epoch }),
          })
          await deps.stored(fresh, page.figures)
          entry.fetched += page.listings.length
          entry.refused += verified.invalid
          entry.remaining = page.latest !== null ? Math.max(0, page.latest - page.next) : null
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
    entry.remaining = 0
    entry.lastSyncAt = now()
  } catch (err) {
    entry.state = 'error'
    // Some DOMExceptions (IndexedDB's among them) come without a message: name them then.
    entry.error = err instanceof Error ? err.message || err.name : String(err)
    await storage.noteSyncError(relay, entry.error).catch(() => undefined)
  }
  deps.progress()
}

/** Asks again, up to MAX_PAGE_RETRIES times, while the relay says it is busy (503) or asks
 * us to slow down (429), waiting as long as it says (Retry-After) within MAX_RETRY_AFTER_S. */
export async function fetchPatiently<T>(
  ask: () => Promise<T>,
  wait: (ms: number) => Promise<void>,
): Promise<T> {
  for (let retries = 0; ; retries++) {
    try {
      return await ask()
    } catch (err) {
      const busy = err instanceof RelayError && (err.status === 503 || err.status === 429)
      const seconds = busy ? (err.retryAfter ?? DEFAULT_RETRY_AFTER_S) : Infinity
      if (retries >= MAX_PAGE_RETRIES || seconds > MAX_RETRY_AFTER_S) throw err
      await wait(seconds * 1000)
    }
  }
}

/**
 * Wraps a page fetch so that each page, once it arrives, starts the fetch of the page after
 * it (when it says `more`), keeping up to `extra` pages read ahead of what the puller asked
 * for. The puller itself asks for the next page while one is stored; this keeps one more in
 * flight, so verifying never waits on the network. A page asked for out of turn (a restart)
 * is fetched afresh and the read-ahead dropped.
 */
export function readAhead<P extends ListingPage>(
  fetch: (after: number) => Promise<P>,
  extra = READ_AHEAD_PAGES,
): (after: number) => Promise<P> {
  const ahead = new Map<number, Promise<P>>()
  const chain = (after: number, page: Promise<P>) =>
    void page.then(
      (p) => {
        if (!p.more || p.next <= after || ahead.size >= extra || ahead.has(p.next)) return
        const next = fetch(p.next)
        // Awaited when its turn comes, or dropped: never an unhandled rejection.
        next.catch(() => undefined)
        ahead.set(p.next, next)
        chain(p.next, next)
      },
      () => undefined,
    )
  return (after) => {
    let page = ahead.get(after)
    if (page) ahead.delete(after)
    else {
      ahead.clear()
      page = fetch(after)
    }
    chain(after, page)
    return page
  }
}
