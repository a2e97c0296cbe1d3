// The browser's replica of the catalog, as the catalog worker runs it: keeps this browser's
// copy of the index page in sync with every relay it knows (catalog-relay-sync.ts), stores
// it (catalog-storage.ts), and answers the page's messages (app/catalog/protocol.ts) from
// its in-memory index. Storage, the network and the way out are passed in, so it runs in
// Node tests as it runs in the worker.

import type { NodeIdentity } from '../../shared/identity.ts'
import type { Listing, ListingDraft } from '../../shared/listing.ts'
import type { StoredListing, SwarmFiguresRow } from '../catalog/db.ts'
import { freshListings, listingKey } from '../catalog/listing-pages.ts'
import type { FromWorker, RelaySyncProgress, ToWorker } from '../catalog/protocol.ts'
import {
  parseRelayList,
  relayOrigin,
  type fetchRelayJson,
  type fetchRelayText,
} from '../catalog/relay-client.ts'
import { SearchIndex, type SwarmFigures } from '../catalog/search-index.ts'
import { verifyListings, type Verified } from '../catalog/verify.ts'
import { changedFigures, figuresQuery, hashAnswers, statsFigures } from './catalog-live.ts'
import { meshPage, verifyMeshListings } from './catalog-mesh.ts'
import {
  loadIdentity,
  noteUnsent,
  postListing,
  postUnsent,
  signListing,
} from './catalog-publish.ts'
import { figuresToStore, newRelayProgress, syncRelay } from './catalog-relay-sync.ts'
import { IndexSnapshots, indexAfter, loadIndex, toIndexed } from './catalog-index-store.ts'
import { exclusively } from './catalog-write-lock.ts'
import type { CatalogStorage, SyncCursor } from './catalog-storage.ts'

/** Pause between sync passes over all relays. */
const SYNC_INTERVAL_MS = 10_000
/** How long a start from a snapshot's head waits for the page's first search before it reads
 * the tables: the page asks as soon as it hears `ready`, unless its main thread is busy
 * (~130 ms later in a trace at a million listings). */
const FIRST_SEARCH_WAIT_MS = 500
/** Relays synced from at once, at most: the origin plus those the relays list. */
const MAX_RELAYS = 16
/** Relays asked for a listing's live figures when its page opens, and how long we wait. */
const LIVE_RELAYS = 4
const LIVE_TIMEOUT_MS = 5_000

export interface CatalogReplicaDeps {
  storage: Promise<CatalogStorage>
  fetchJson: typeof fetchRelayJson
  post(message: FromWorker): void
  now?: () => number
  /** Verifies a relay page's values off this thread (catalog-verify-pool.ts), from the
   * page's text when it is given; in this thread (verifyListings) when not given. */
  verifyPage?: (values: readonly unknown[], nowSeconds: number, text?: string) => Promise<Verified>
  /** Reads sync pages as text, for verifyPage (catalog-relay-sync.ts RelaySyncDeps). */
  fetchText?: typeof fetchRelayText
}

/** What the page shows when a message fails. */
export function failureText(err: unknown): string {
  if (err instanceof DOMException && err.name === 'QuotaExceededError') {
    return 'This browser has no storage space left for the catalog. Free some space and reload.'
  }
  return err instanceof Error ? err.message : String(err)
}

export class CatalogReplica {
  readonly #deps: CatalogReplicaDeps
  readonly #now: () => number
  #index = new SearchIndex()
  /** What searches read: #index, or while a start loads, the index so far, which may only
   * answer searches (a snapshot's head before its tables: SearchIndex.complete). */
  #answering = this.#index
  /** Figures by info hash, as the index holds them (one copy, not a Map per listing). */
  readonly #figures = { get: (infoHash: string) => this.#index.figures(infoHash) }
  /** Saves the index for the next start; made once storage is open. */
  #snapshots: IndexSnapshots | null = null
  readonly #progress = new Map<string, RelaySyncProgress>()
  /** Relays to sync from, the origin first. */
  readonly #relays: string[] = []
  #started = false
  #stopped = false
  /** Set while a pass is running and another was asked for; wakes the pause otherwise. */
  #again = false
  #wake: (() => void) | null = null
  #me: Promise<NodeIdentity> | null = null
  /** Called on a search answered, while a start waits for the first (FIRST_SEARCH_WAIT_MS). */
  #searched: (() => void) | null = null
  /** The index loading from storage, once started: no write is judged before it is in. */
  #loading: Promise<void> | null = null
  /** The last write under way: writes run one at a time (#write). */
  #writes: Promise<unknown> = Promise.resolve()
  /** The storage cursor the index covers: all stored at or before it is indexed. */
  #covered = 0

  constructor(deps: CatalogReplicaDeps) {
    this.#deps = deps
    this.#now = deps.now ?? Date.now
  }

  /** Starts loading the stored index now, not at the page's `start`: a message from the page
   * reaches a new worker only once the page's main thread is free, which at start-up it is
   * not (evaluating the app: ~100 ms later in a trace at a million listings). A failure is
   * met by `start`, which waits for this load. */
  preload(): void {
    const loading = this.#deps.storage.then((storage) => (this.#loading ??= this.#load(storage)))
    loading.catch(() => undefined)
  }

  /** Answers one message from the page; a failure is posted as `failed`, never thrown. */
  async receive(message: ToWorker): Promise<void> {
    try {
      await this.#handle(message)
    } catch (err) {
      this.#deps.post({
        type: 'failed',
        id: 'id' in message ? message.id : null,
        error: failureText(err),
      })
    }
  }

  /** Ends the sync loop after the pass under way. */
  stop(): void {
    this.#stopped = true
    this.#snapshots?.stop()
    this.#wake?.()
  }

  async #handle(message: ToWorker): Promise<void> {
    const storage = await this.#deps.storage
    const post = this.#deps.post
    switch (message.type) {
      case 'start':
        if (this.#started) {
          // More relays (added in Settings): read them in the next pass, which starts now.
          for (const relay of message.relays) this.#addRelay(relay)
          this.#syncNow()
          return
        }
        this.#started = true
        for (const relay of message.relays) this.#addRelay(relay)
        await (this.#loading ??= this.#load(storage))
        // Relays from earlier visits are synced (and announced to) at once, before discovery.
        if (this.#relays.length) {
          for (const state of await storage.allSyncStates()) this.#addRelay(state.relay)
        }
        this.#reportProgress()
        if (this.#relays.length) void this.#syncForever(storage)
        return
      case 'sync':
        this.#syncNow()
        return
      case 'figures':
        // Asked for by rows shown while the index loads (from a snapshot's head, which takes
        // no figures yet): applied to the index once it is in.
        await this.#loading
        await this.#refreshFigures(storage, message.infoHashes)
        return
      case 'search': {
        const t0 = performance.now()
        const result = this.#answering.searchRows(message.query)
        this.#searched?.()
        post({
          type: 'result',
          id: message.id,
          total: result.total,
          rows: result.rows.map((row) => ({
            ...row,
            publisher: row.key.slice(0, row.key.indexOf(':')),
          })),
          categories: result.categories,
          tookMs: performance.now() - t0,
        })
        return
      }
      case 'get': {
        await this.#loading
        const storedFor = () => storage.listingsAt(this.#index.cursorsOf(message.infoHash))
        let stored = await storedFor()
        if (message.refresh || stored.length === 0) {
          await this.#refreshFromRelays(storage, message.infoHash)
          stored = await storedFor()
        }
        const rows = stored
          .map((s) => ({
            key: s.key,
            listing: s.listing,
            figures: this.#figures.get(s.infoHash) ?? null,
          }))
          .sort((a, b) => b.listing.ts - a.listing.ts)
        post({ type: 'listings', id: message.id, rows })
        return
      }
      case 'identity':
        post({ type: 'identity', id: message.id, publicKey: (await this.#identity(storage)).id })
        return
      case 'publish':
        post({
          type: 'published',
          id: message.id,
          ...(await this.#publish(storage, message.draft, message.relay)),
        })
        return
      case 'meshPage':
        post({
          type: 'meshPage',
          id: message.id,
          ...(await meshPage(storage, message.cursor, message.limit)),
        })
        return
      case 'save':
        // Nothing loaded, nothing to save.
        await this.#loading
        await this.#snapshots?.saveNow()
        post({ type: 'saved', id: message.id })
        return
      case 'meshAccept':
        post({
          type: 'meshAccepted',
          id: message.id,
          ...(await this.#meshAccept(storage, message.records)),
        })
        return
    }
  }

  #syncNow(): void {
    this.#again = true
    this.#wake?.()
  }

  #applyFigures(rows: SwarmFiguresRow[]): void {
    this.#index.setFigures(rows.map((row) => [row.infoHash, row]))
  }

  async #storeFigures(storage: CatalogStorage, byHash: Map<string, SwarmFigures>): Promise<void> {
    if (byHash.size === 0) return
    const at = this.#now()
    const rows = [...byHash].map(([infoHash, f]) => ({ infoHash, ...f, at }))
    // Applied before stored, so a snapshot taken meanwhile has them (IndexSnapshots). They
    // do not make the snapshot stale: a start reads the figures stored since it was taken.
    this.#applyFigures(rows)
    await storage.putFigures(rows)
  }

  async #load(storage: CatalogStorage): Promise<void> {
    let answered = false
    const loaded = await loadIndex(
      storage,
      (index, total) => {
        this.#answering = index
        if (index.complete) this.#index = index
        this.#deps.post({ type: 'loading', loaded: index.size, total })
        // A snapshot's head holds every listing the snapshot covers: the page may search now
        // (issue 23's start-up), and searches again once what came after it is in.
        if (!index.complete && !answered) {
          answered = true
          this.#deps.post({ type: 'ready', count: index.size })
        }
      },
      // The tables wait for the page's first search (asked for on `ready`), or a moment.
      () =>
        new Promise<void>((resolve) => {
          this.#searched = resolve
          setTimeout(resolve, FIRST_SEARCH_WAIT_MS)
        }).finally(() => (this.#searched = null)),
    )
    this.#index = this.#answering = loaded.index
    this.#covered = loaded.cursor
    this.#snapshots = new IndexSnapshots(
      storage,
      this.#now,
      () => this.#index,
      () => this.#covered,
    )
    if (loaded.stale) {
      this.#snapshots.changed()
      this.#snapshots.settle()
    }
    this.#deps.post({ type: answered ? 'changed' : 'ready', count: this.#index.size })
  }

  #addRelay(url: string): void {
    const origin = relayOrigin(url)
    if (origin && !this.#relays.includes(origin) && this.#relays.length < MAX_RELAYS) {
      this.#relays.push(origin)
    }
  }

  #identity(storage: CatalogStorage): Promise<NodeIdentity> {
    this.#me ??= loadIdentity(storage)
    return this.#me
  }

  #reportProgress(): void {
    this.#deps.post({
      type: 'progress',
      relays: this.#relays.map((r) => ({ ...this.#progressOf(r) })),
      count: this.#index.size,
    })
  }

  #progressOf(relay: string): RelaySyncProgress {
    let entry = this.#progress.get(relay)
    if (!entry) {
      entry = newRelayProgress(relay)
      this.#progress.set(relay, entry)
    }
    return entry
  }

  /** Runs `write` after the writes before it: whether a listing is new or newer is judged
   * against the index, so the index must not move between that judgement and the store.
   * Other tabs of the app write to the same database from their own workers: each write
   * holds the origin-wide CATALOG_WRITE_LOCK and first indexes what they stored since, so no
   * listing is judged new twice (stored twice, counted twice). */
  #write<T>(storage: CatalogStorage, write: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(() =>
      exclusively(async () => {
        await (this.#loading ??= this.#load(storage))
        const caught = await indexAfter(storage, this.#index, this.#covered)
        if (caught.added > 0) this.#snapshots?.changed()
        this.#covered = caught.cursor
        return write()
      }),
    )
    this.#writes = run.catch(() => undefined)
    return run
  }

  /** Stores what is new or newer of `listings` (judged against the index, not by reading
   * storage back) and indexes it as soon as it is stored; returns it. With `sync`, the
   * relay's cursor moves with it even when nothing was new. */
  #put(storage: CatalogStorage, listings: Listing[], sync?: SyncCursor): Promise<Listing[]> {
    return this.#write(storage, async () => {
      const { fresh, superseded } = freshListings(listings, (key) => this.#index.current(key))
      if (fresh.length === 0 && !sync) return []
      const options = { superseded, ...(sync && { sync }) }
      this.#indexStored(await storage.putListings(fresh, this.#now(), options))
      return fresh
    })
  }

  #indexStored(rows: StoredListing[]): void {
    if (rows.length === 0) return
    this.#index.upsert(rows.map(toIndexed))
    for (const row of rows) this.#covered = Math.max(this.#covered, row.cursor)
    this.#snapshots?.changed()
  }

  /** Takes figures into the index, and tells the page what came. */
  async #took(storage: CatalogStorage, fresh: Listing[], figures: Map<string, SwarmFigures>) {
    await this.#storeFigures(storage, figures)
    if (fresh.length || figures.size) this.#deps.post({ type: 'changed', count: this.#index.size })
  }

  /** Asks every known relay which relays it knows (a host catcher one hop deep). */
  async #discoverRelays(): Promise<void> {
    const lists = await Promise.allSettled(
      this.#relays.map((relay) => this.#deps.fetchJson(`${relay}/v1/relays`, {}, LIVE_TIMEOUT_MS)),
    )
    const before = this.#relays.length
    for (const list of lists) {
      if (list.status === 'fulfilled') {
        for (const url of parseRelayList(list.value)) this.#addRelay(url)
      }
    }
    if (this.#relays.length > before) this.#reportProgress()
  }

  async #syncForever(storage: CatalogStorage): Promise<void> {
    const deps = {
      storage,
      fetchJson: this.#deps.fetchJson,
      now: this.#now,
      put: (listings: Listing[], sync: SyncCursor) => this.#put(storage, listings, sync),
      stored: (fresh: Listing[], figures: Map<string, SwarmFigures>) =>
        this.#took(storage, fresh, figuresToStore(figures, this.#figures)),
      progress: () => this.#reportProgress(),
      ...(this.#deps.verifyPage && { verify: this.#deps.verifyPage }),
      ...(this.#deps.fetchText && { fetchText: this.#deps.fetchText }),
    }
    while (!this.#stopped) {
      this.#again = false
      await postUnsent(storage, this.#deps.fetchJson).catch(() => undefined)
      await this.#discoverRelays()
      await Promise.all(this.#relays.map((r) => syncRelay(deps, r, this.#progressOf(r))))
      this.#snapshots?.settle()
      if (this.#again || this.#stopped) continue
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, SYNC_INTERVAL_MS)
        this.#wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.#wake = null
    }
  }

  /**
   * Asks a few relays for the live figures of the rows on screen, and stores those that
   * changed; the page searches again only then, so asking again cannot loop.
   */
  async #refreshFigures(storage: CatalogStorage, infoHashes: string[]): Promise<void> {
    const hashes = figuresQuery(infoHashes)
    if (hashes.length === 0) return
    const query = hashes.map((h) => `ih=${h}`).join('&')
    const live = statsFigures(await this.#askLiveRelays(`/v1/stats?${query}`), hashes)
    const changed = changedFigures(live, this.#figures)
    await this.#storeFigures(storage, changed)
    if (changed.size) this.#deps.post({ type: 'changed', count: this.#index.size })
  }

  /** The answers of the first few relays to a GET of `path`; those that failed left out. */
  async #askLiveRelays(path: string): Promise<unknown[]> {
    const answers = await Promise.allSettled(
      this.#relays
        .slice(0, LIVE_RELAYS)
        .map((relay) => this.#deps.fetchJson(`${relay}${path}`, {}, LIVE_TIMEOUT_MS)),
    )
    return answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []))
  }

  /**
   * Asks a few relays for every listing of one hash and for its live swarm figures; stores
   * what verifies.
   */
  async #refreshFromRelays(storage: CatalogStorage, infoHash: string): Promise<void> {
    const { values, live } = hashAnswers(await this.#askLiveRelays(`/v1/listings/${infoHash}`))
    const verified = await verifyListings(values, Math.floor(this.#now() / 1000))
    const fresh = await this.#put(
      storage,
      verified.listings.filter((l) => l.infoHash === infoHash),
    )
    await this.#took(storage, fresh, live ? new Map([[infoHash, live]]) : new Map())
  }

  /**
   * Signs and stores the listing here first (the index page shows it, the mesh passes it on),
   * then asks `relay` to take it. A relay out of reach is no failure: it is asked again at
   * each sync pass (postUnsent). A refusal undoes the store, as if it had never been signed.
   */
  async #publish(
    storage: CatalogStorage,
    draft: ListingDraft,
    relay: string,
  ): Promise<{ listing: Listing; relayReached: boolean }> {
    const listing = await signListing(storage, await this.#identity(storage), draft, this.#now())
    const key = listingKey(listing)
    const held = this.#index.current(key)
    const previous = held ? ((await storage.listingsAt([held.cursor]))[0]?.listing ?? null) : null
    const fresh = await this.#put(storage, [listing])
    await this.#took(storage, fresh, new Map())
    try {
      const relayReached = await postListing(this.#deps.fetchJson, relay, listing)
      if (!relayReached) await noteUnsent(storage, relay, listing)
      return { listing, relayReached }
    } catch (err) {
      if (fresh.length) await this.#undo(storage, key, previous)
      throw err
    }
  }

  /** Puts `previous` back under `key` (a new cursor, so neighbours see it again), or removes
   * what is there when there was none: a publish the relay refused is undone. */
  async #undo(storage: CatalogStorage, key: string, previous: Listing | null): Promise<void> {
    await this.#write(storage, async () => {
      const published = this.#index.current(key)
      if (!published) return
      if (previous) {
        const superseded = [published.cursor]
        this.#indexStored(await storage.putListings([previous], this.#now(), { superseded }))
      } else {
        await storage.removeListing(published.cursor)
        this.#index.remove(key)
        this.#snapshots?.changed()
      }
    })
    this.#deps.post({ type: 'changed', count: this.#index.size })
  }

  /** Listings a neighbour sent: verified as a relay's are, the good ones stored and indexed. */
  async #meshAccept(
    storage: CatalogStorage,
    records: string[],
  ): Promise<{ stored: number; refused: number }> {
    const { listings, refused } = await verifyMeshListings(records, this.#now())
    const fresh = await this.#put(storage, listings)
    await this.#took(storage, fresh, new Map())
    return { stored: fresh.length, refused }
  }
}
