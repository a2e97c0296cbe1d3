// The catalog worker: keeps this browser's copy of the index page in sync with every relay
// it knows, verifies each listing's signature, stores it in IndexedDB, and answers searches
// from its in-memory index. All of it off the main thread, so the page never freezes.

import { createIdentity, identityFromSecret, type NodeIdentity } from '../../shared/identity.ts'
import { createListing, verifyListing, type Listing } from '../../shared/listing.ts'
import {
  allListings,
  getNodeValue,
  listingKey,
  listingsFor,
  noteSyncError,
  openCatalogDb,
  putFigures,
  putListings,
  setNodeValue,
  syncState,
  type CatalogDb,
  type SwarmFiguresRow,
} from '../catalog/db.ts'
import type { CatalogRow, FromWorker, RelaySyncProgress, ToWorker } from '../catalog/protocol.ts'
import { SearchIndex, type IndexedListing, type SwarmFigures } from '../catalog/search-index.ts'

/** Listings asked for per page; the relay caps it too. */
const PAGE_SIZE = 1000
/** Pause between sync passes over all relays. */
const SYNC_INTERVAL_MS = 10_000
/** Give up on one relay request after this long. */
const FETCH_TIMEOUT_MS = 15_000
/** Relays synced from at once, at most: the origin plus what it told us about. */
const MAX_RELAYS = 16

const scope = self as unknown as {
  postMessage(message: FromWorker): void
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null
}
const post = (message: FromWorker) => scope.postMessage(message)

const index = new SearchIndex()
const figures = new Map<string, SwarmFigures>()
const progress = new Map<string, RelaySyncProgress>()
let relays: string[] = []
let started = false
const dbReady: Promise<CatalogDb> = openCatalogDb()

function toIndexed(listing: Listing): IndexedListing {
  return {
    key: listingKey(listing),
    infoHash: listing.infoHash,
    name: listing.name,
    description: listing.description,
    category: listing.category,
    size: listing.size,
    ts: listing.ts,
  }
}

function applyFigures(rows: SwarmFiguresRow[]): void {
  for (const row of rows) figures.set(row.infoHash, row)
  index.setFigures(rows.map((row) => [row.infoHash, row]))
}

async function loadFromDb(db: CatalogDb): Promise<void> {
  for await (const page of allListings(db)) index.upsert(page.map((row) => toIndexed(row.listing)))
  applyFigures(await db.getAll('figures'))
  post({ type: 'ready', count: index.size })
}

async function identity(db: CatalogDb): Promise<NodeIdentity> {
  const secret = await getNodeValue<Uint8Array>(db, 'identity')
  if (secret) return identityFromSecret(secret)
  const fresh = createIdentity()
  await setNodeValue(db, 'identity', fresh.secretKey)
  return fresh
}

function reportProgress(): void {
  post({ type: 'progress', relays: [...progress.values()], count: index.size })
}

async function fetchJson(url: string, init?: RequestInit): Promise<unknown> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
  const body: unknown = await response.json().catch(() => null)
  if (!response.ok) {
    const message = (body as { error?: unknown } | null)?.error
    throw new Error(typeof message === 'string' ? message : `HTTP ${response.status}`)
  }
  return body
}

interface ListingPage {
  listings: unknown[]
  next: number
  more: boolean
  latest?: number
  stats?: Record<string, { seeds: number; leechers: number; downloads: number }>
}

function isPage(value: unknown): value is ListingPage {
  const page = value as ListingPage
  return (
    typeof page === 'object' &&
    page !== null &&
    Array.isArray(page.listings) &&
    Number.isSafeInteger(page.next) &&
    typeof page.more === 'boolean'
  )
}

async function syncRelay(db: CatalogDb, relay: string): Promise<void> {
  const state = await syncState(db, relay)
  let cursor = state?.cursor ?? 0
  const start = cursor
  const entry: RelaySyncProgress = {
    relay,
    fetched: 0,
    fraction: null,
    state: 'syncing',
    error: null,
    lastSyncAt: state?.lastSyncAt ?? 0,
  }
  progress.set(relay, entry)
  try {
    for (;;) {
      const page = await fetchJson(`${relay}/v1/listings?after=${cursor}&limit=${PAGE_SIZE}`)
      if (!isPage(page)) throw new Error('relay sent a malformed page')
      const now = Math.floor(Date.now() / 1000)
      const verified: Listing[] = []
      for (const value of page.listings) {
        try {
          verified.push(verifyListing(value, now))
        } catch {
          // A relay passing on a bad record is not fatal: skip it, keep the rest.
        }
      }
      const fresh = await putListings(db, verified, Date.now(), { relay, cursor: page.next })
      if (fresh.length) index.upsert(fresh.map(toIndexed))
      if (page.stats) {
        const rows = Object.entries(page.stats).map(([infoHash, f]) => ({
          infoHash,
          seeds: f.seeds,
          leechers: f.leechers,
          downloads: f.downloads,
          at: Date.now(),
        }))
        await putFigures(db, rows)
        applyFigures(rows)
      }
      cursor = page.next
      entry.fetched += page.listings.length
      entry.fraction =
        page.latest && page.latest > start
          ? Math.min(1, (cursor - start) / (page.latest - start))
          : null
      if (fresh.length) post({ type: 'changed', count: index.size })
      reportProgress()
      if (!page.more) break
    }
    entry.state = 'idle'
    entry.fraction = 1
    entry.lastSyncAt = Date.now()
  } catch (err) {
    entry.state = 'error'
    entry.error = (err as Error).message
    await noteSyncError(db, relay, entry.error)
  }
  reportProgress()
}

async function discoverRelays(origin: string): Promise<void> {
  try {
    const known = (await fetchJson(`${origin}/v1/relays`)) as { relays?: unknown }
    if (!Array.isArray(known.relays)) return
    for (const url of known.relays) {
      if (typeof url !== 'string' || !/^https?:\/\/[^/\s]+$/.test(url)) continue
      if (!relays.includes(url) && relays.length < MAX_RELAYS) relays.push(url)
    }
  } catch {
    // An older relay without /v1/relays: sync from the origin alone.
  }
}

async function syncForever(db: CatalogDb): Promise<void> {
  for (;;) {
    await discoverRelays(relays[0])
    await Promise.all(relays.map((relay) => syncRelay(db, relay)))
    await new Promise((resolve) => setTimeout(resolve, SYNC_INTERVAL_MS))
  }
}

async function rowsFor(db: CatalogDb, keys: string[]): Promise<CatalogRow[]> {
  const stored = await Promise.all(keys.map((key) => db.get('listings', key)))
  return stored
    .filter((row) => row !== undefined)
    .map((row) => ({
      key: row.key,
      listing: row.listing,
      figures: figures.get(row.infoHash) ?? null,
    }))
}

async function handle(message: ToWorker): Promise<void> {
  const db = await dbReady
  switch (message.type) {
    case 'start':
      if (started) return
      started = true
      relays = message.relays.slice(0, MAX_RELAYS)
      await loadFromDb(db)
      void syncForever(db)
      return
    case 'search': {
      const t0 = performance.now()
      const result = index.search(message.query)
      const rows = await rowsFor(db, result.keys)
      post({
        type: 'result',
        id: message.id,
        total: result.total,
        rows,
        tookMs: performance.now() - t0,
      })
      return
    }
    case 'get': {
      const stored = await listingsFor(db, message.infoHash)
      post({
        type: 'listings',
        id: message.id,
        rows: await rowsFor(
          db,
          stored.map((s) => s.key),
        ),
      })
      return
    }
    case 'identity':
      post({ type: 'identity', id: message.id, publicKey: (await identity(db)).id })
      return
    case 'publish': {
      const me = await identity(db)
      const seq = Math.floor(Date.now() / 1000)
      const listing = createListing(message.draft, me, { seq, ts: seq })
      await fetchJson(`${message.relay}/v1/listings`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(listing),
      })
      const fresh = await putListings(db, [listing], Date.now())
      index.upsert(fresh.map(toIndexed))
      post({ type: 'published', id: message.id, listing })
      post({ type: 'changed', count: index.size })
      return
    }
  }
}

scope.onmessage = (event) => {
  const message = event.data
  handle(message).catch((err: unknown) => {
    const error =
      err instanceof DOMException && err.name === 'QuotaExceededError'
        ? 'This browser has no storage space left for the catalog. Free some space and reload.'
        : (err as Error).message
    post({ type: 'failed', id: 'id' in message ? message.id : null, error })
  })
}
