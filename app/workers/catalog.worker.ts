// The catalog worker: keeps this browser's copy of the index page in sync with every relay
// it knows, verifies each listing (app/catalog/verify.ts), stores it in IndexedDB, and
// answers searches from its in-memory index. All of it off the main thread, so the page
// never freezes.

import { createIdentity, identityFromSecret, type NodeIdentity } from '../../shared/identity.ts'
import { createListing, type Listing, type ListingDraft } from '../../shared/listing.ts'
import {
  allListings,
  allSyncStates,
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
import type { FromWorker, ListingRow, RelaySyncProgress, ToWorker } from '../catalog/protocol.ts'
import {
  RelayError,
  fetchRelayJson,
  parseListingPage,
  parseRelayList,
  parseSwarmFigures,
  relayHost,
  relayOrigin,
} from '../catalog/relay-client.ts'
import { SearchIndex, type IndexedListing, type SwarmFigures } from '../catalog/search-index.ts'
import { verifyListings } from '../catalog/verify.ts'

/** Listings asked for per page; the relay caps it too (MAX_PAGE_LISTINGS). */
const PAGE_SIZE = 1000
/** Pause between sync passes over all relays. */
const SYNC_INTERVAL_MS = 10_000
/** Relays synced from at once, at most: the origin plus those the relays list. */
const MAX_RELAYS = 16
/** Relays asked for a listing's live figures when its page opens, and how long we wait. */
const LIVE_RELAYS = 4
const LIVE_TIMEOUT_MS = 5_000
/** Listings read from one relay's answer for one hash (it caps them at 100 too). */
const MAX_LISTINGS_PER_HASH = 100

const scope = self as unknown as {
  postMessage(message: FromWorker): void
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null
}
const post = (message: FromWorker) => scope.postMessage(message)

const index = new SearchIndex()
const figures = new Map<string, SwarmFigures>()
const progress = new Map<string, RelaySyncProgress>()
/** Relays to sync from, the origin first. */
const relays: string[] = []
let started = false
/** Set while a pass is running and another was asked for; wakes the pause otherwise. */
let again = false
let wake: (() => void) | null = null
const dbReady: Promise<CatalogDb> = openCatalogDb()
let me: Promise<NodeIdentity> | null = null

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

async function storeFigures(db: CatalogDb, byHash: Map<string, SwarmFigures>): Promise<void> {
  if (byHash.size === 0) return
  const at = Date.now()
  const rows = [...byHash].map(([infoHash, f]) => ({ infoHash, ...f, at }))
  await putFigures(db, rows)
  applyFigures(rows)
}

async function loadFromDb(db: CatalogDb, online: boolean): Promise<void> {
  const total = await db.count('listings')
  for await (const page of allListings(db)) {
    index.upsert(page.map((row) => toIndexed(row.listing)))
    post({ type: 'loading', loaded: index.size, total })
  }
  applyFigures(await db.getAll('figures'))
  // Relays from earlier visits are synced (and announced to) at once, before discovery.
  if (online) for (const state of await allSyncStates(db)) addRelay(state.relay)
  post({ type: 'ready', count: index.size })
}

function addRelay(url: string): void {
  const origin = relayOrigin(url)
  if (origin && !relays.includes(origin) && relays.length < MAX_RELAYS) relays.push(origin)
}

function identity(db: CatalogDb): Promise<NodeIdentity> {
  me ??= (async () => {
    const secret = await getNodeValue<Uint8Array>(db, 'identity')
    if (secret) return identityFromSecret(secret)
    const fresh = createIdentity()
    await setNodeValue(db, 'identity', fresh.secretKey)
    return fresh
  })()
  return me
}

function reportProgress(): void {
  post({
    type: 'progress',
    relays: relays.map((r) => ({ ...progressOf(r) })),
    count: index.size,
  })
}

function progressOf(relay: string): RelaySyncProgress {
  let entry = progress.get(relay)
  if (!entry) {
    entry = { relay, fetched: 0, fraction: null, state: 'syncing', error: null, lastSyncAt: 0 }
    progress.set(relay, entry)
  }
  return entry
}

/** Reads a relay's catalog from where this browser stopped, page by page, to its end. */
async function syncRelay(db: CatalogDb, relay: string): Promise<void> {
  const state = await syncState(db, relay)
  let cursor = state?.cursor ?? 0
  let epoch = state?.epoch
  const start = cursor
  const entry = progressOf(relay)
  Object.assign(entry, { state: 'syncing', fetched: 0, fraction: null, error: null })
  entry.lastSyncAt = state?.lastSyncAt ?? entry.lastSyncAt
  reportProgress()
  const fetchPage = (after: number) => {
    const answer = fetchRelayJson(`${relay}/v1/listings?after=${after}&limit=${PAGE_SIZE}`)
    answer.catch(() => undefined) // awaited (and its error thrown) when its turn comes
    return answer
  }
  let next: Promise<unknown> | null = null
  try {
    for (;;) {
      const page = parseListingPage(await (next ?? fetchPage(cursor)))
      next = null
      if (page.epoch !== null && epoch !== undefined && page.epoch !== epoch && cursor > 0) {
        // Another store behind the same URL: its cursors start over.
        cursor = 0
        epoch = page.epoch
        continue
      }
      epoch = page.epoch ?? epoch
      // The next page travels while this one is checked and stored.
      if (page.more && page.next > cursor) next = fetchPage(page.next)
      const verified = await verifyListings(page.listings, Math.floor(Date.now() / 1000))
      const fresh = await putListings(db, verified.listings, Date.now(), {
        relay,
        cursor: page.next,
        ...(epoch !== undefined && { epoch }),
      })
      if (fresh.length) index.upsert(fresh.map(toIndexed))
      await storeFigures(db, page.figures)
      entry.fetched += page.listings.length
      entry.fraction =
        page.latest !== null && page.latest > start
          ? Math.min(1, (page.next - start) / (page.latest - start))
          : null
      if (fresh.length || page.figures.size) post({ type: 'changed', count: index.size })
      reportProgress()
      // A relay that says "more" without moving its cursor would keep us here forever.
      if (!page.more || page.next <= cursor) break
      cursor = page.next
    }
    entry.state = 'idle'
    entry.fraction = 1
    entry.lastSyncAt = Date.now()
  } catch (err) {
    entry.state = 'error'
    entry.error = err instanceof Error ? err.message : String(err)
    await noteSyncError(db, relay, entry.error).catch(() => undefined)
  }
  reportProgress()
}

/** Asks every known relay which relays it knows (a host catcher one hop deep). */
async function discoverRelays(): Promise<void> {
  const lists = await Promise.allSettled(
    relays.map((relay) => fetchRelayJson(`${relay}/v1/relays`, {}, LIVE_TIMEOUT_MS)),
  )
  const before = relays.length
  for (const list of lists) {
    if (list.status === 'fulfilled') for (const url of parseRelayList(list.value)) addRelay(url)
  }
  if (relays.length > before) reportProgress()
}

async function syncForever(db: CatalogDb): Promise<void> {
  for (;;) {
    again = false
    await discoverRelays()
    await Promise.all(relays.map((relay) => syncRelay(db, relay)))
    if (again) continue
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, SYNC_INTERVAL_MS)
      wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    wake = null
  }
}

/** Figures are the highest any relay reports: peers announce to several relays at once
 * (app/lib/trackers.ts), so adding them up would count peers twice. */
function mergeFigures(a: SwarmFigures | undefined, b: SwarmFigures): SwarmFigures {
  if (!a) return b
  return {
    seeds: Math.max(a.seeds, b.seeds),
    leechers: Math.max(a.leechers, b.leechers),
    downloads: Math.max(a.downloads, b.downloads),
  }
}

/** Most hashes refreshed at once: one page of the index, and what a relay answers. */
const MAX_FIGURES_HASHES = 100

/**
 * Asks a few relays for the live figures of the rows on screen, and stores those that
 * changed; the page searches again only then, so asking again cannot loop.
 */
async function refreshFigures(db: CatalogDb, infoHashes: string[]): Promise<void> {
  const hashes = [...new Set(infoHashes.filter((h) => /^[0-9a-f]{40}$/.test(h)))].slice(
    0,
    MAX_FIGURES_HASHES,
  )
  if (hashes.length === 0) return
  const query = hashes.map((h) => `ih=${h}`).join('&')
  const answers = await Promise.allSettled(
    relays
      .slice(0, LIVE_RELAYS)
      .map((relay) => fetchRelayJson(`${relay}/v1/stats?${query}`, {}, LIVE_TIMEOUT_MS)),
  )
  const live = new Map<string, SwarmFigures>()
  for (const answer of answers) {
    if (answer.status !== 'fulfilled') continue
    const stats = (answer.value as { stats?: Record<string, unknown> } | null)?.stats
    if (typeof stats !== 'object' || stats === null) continue
    for (const h of hashes) {
      const f = parseSwarmFigures(stats[h])
      if (f) live.set(h, mergeFigures(live.get(h), f))
    }
  }
  const changed = new Map<string, SwarmFigures>()
  for (const [h, f] of live) {
    const old = figures.get(h)
    if (
      !old ||
      old.seeds !== f.seeds ||
      old.leechers !== f.leechers ||
      old.downloads !== f.downloads
    ) {
      changed.set(h, f)
    }
  }
  await storeFigures(db, changed)
  if (changed.size) post({ type: 'changed', count: index.size })
}

/**
 * Asks a few relays for every listing of one hash and for its live swarm figures; stores
 * what verifies.
 */
async function refreshFromRelays(db: CatalogDb, infoHash: string): Promise<void> {
  const answers = await Promise.allSettled(
    relays
      .slice(0, LIVE_RELAYS)
      .map((relay) => fetchRelayJson(`${relay}/v1/listings/${infoHash}`, {}, LIVE_TIMEOUT_MS)),
  )
  const values: unknown[] = []
  let live: SwarmFigures | null = null
  for (const answer of answers) {
    if (answer.status !== 'fulfilled') continue
    const body = answer.value as { listings?: unknown; stats?: unknown } | null
    if (Array.isArray(body?.listings)) values.push(...body.listings.slice(0, MAX_LISTINGS_PER_HASH))
    const f = parseSwarmFigures(body?.stats)
    if (f) live = mergeFigures(live ?? undefined, f)
  }
  const verified = await verifyListings(values, Math.floor(Date.now() / 1000))
  const fresh = await putListings(
    db,
    verified.listings.filter((l) => l.infoHash === infoHash),
    Date.now(),
  )
  if (fresh.length) index.upsert(fresh.map(toIndexed))
  if (live) await storeFigures(db, new Map([[infoHash, live]]))
  if (fresh.length || live) post({ type: 'changed', count: index.size })
}

async function publish(db: CatalogDb, draft: ListingDraft, relay: string): Promise<Listing> {
  const author = await identity(db)
  // seq only goes up, even when two listings are signed within one second.
  const now = Math.floor(Date.now() / 1000)
  const seq = Math.max(now, ((await getNodeValue<number>(db, 'seq')) ?? 0) + 1)
  await setNodeValue(db, 'seq', seq)
  const listing = createListing(draft, author, { seq, ts: now })
  try {
    await fetchRelayJson(`${relay}/v1/listings`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(listing),
    })
  } catch (err) {
    if (!(err instanceof RelayError)) throw err
    const host = relayHost(relay)
    if (err.status === null) throw new Error(`Could not publish the listing: ${err.message}.`)
    const wait =
      err.retryAfter && !/retry|again/i.test(err.message)
        ? ` Try again in ${Math.ceil(err.retryAfter)} s.`
        : ''
    throw new Error(`${host} refused the listing (HTTP ${err.status}): ${err.message}.${wait}`)
  }
  const fresh = await putListings(db, [listing], Date.now())
  index.upsert(fresh.map(toIndexed))
  post({ type: 'changed', count: index.size })
  return listing
}

function searchRows(keys: string[]): ListingRow[] {
  const rows: ListingRow[] = []
  for (const key of keys) {
    const row = index.row(key)
    if (row) rows.push({ ...row, publisher: key.slice(0, key.indexOf(':')) })
  }
  return rows
}

async function handle(message: ToWorker): Promise<void> {
  const db = await dbReady
  switch (message.type) {
    case 'start':
      if (started) {
        // More relays (added in Settings): read them in the next pass, which starts now.
        for (const relay of message.relays) addRelay(relay)
        again = true
        wake?.()
        return
      }
      started = true
      for (const relay of message.relays) addRelay(relay)
      await loadFromDb(db, relays.length > 0)
      reportProgress()
      if (relays.length) void syncForever(db)
      return
    case 'sync':
      again = true
      wake?.()
      return
    case 'figures':
      await refreshFigures(db, message.infoHashes)
      return
    case 'search': {
      const t0 = performance.now()
      const result = index.search(message.query)
      const rows = searchRows(result.keys)
      post({
        type: 'result',
        id: message.id,
        total: result.total,
        rows,
        categories: result.categories,
        tookMs: performance.now() - t0,
      })
      return
    }
    case 'get': {
      let stored = await listingsFor(db, message.infoHash)
      if (message.refresh || stored.length === 0) {
        await refreshFromRelays(db, message.infoHash)
        stored = await listingsFor(db, message.infoHash)
      }
      const rows = stored
        .map((s) => ({ key: s.key, listing: s.listing, figures: figures.get(s.infoHash) ?? null }))
        .sort((a, b) => b.listing.ts - a.listing.ts)
      post({ type: 'listings', id: message.id, rows })
      return
    }
    case 'identity':
      post({ type: 'identity', id: message.id, publicKey: (await identity(db)).id })
      return
    case 'publish':
      post({
        type: 'published',
        id: message.id,
        listing: await publish(db, message.draft, message.relay),
      })
      return
  }
}

scope.onmessage = (event) => {
  const message = event.data
  handle(message).catch((err: unknown) => {
    const error =
      err instanceof DOMException && err.name === 'QuotaExceededError'
        ? 'This browser has no storage space left for the catalog. Free some space and reload.'
        : err instanceof Error
          ? err.message
          : String(err)
    post({ type: 'failed', id: 'id' in message ? message.id : null, error })
  })
}
