// The page's handle on the catalog worker: sync progress as reactive state, and searches,
// lookups and publishes as promises. The worker does all the work.

import type { Listing, ListingDraft } from '../../shared/listing.ts'
import type { CatalogRow, FromWorker, ListingRow, RelaySyncProgress, ToWorker } from './protocol.ts'
import type { SearchQuery } from './search-index.ts'
import type { RecordPage } from '../lib/mesh/types.ts'
import { ChangePacer } from './change-pacer.ts'

/** Open views search again at most this often while listings pour in (change-pacer.ts). */
const CHANGED_SEARCH_INTERVAL_MS = 1000

export interface SearchPage {
  total: number
  rows: ListingRow[]
  /** Rows matching the text in each category, whatever the category filter. */
  categories: Record<string, number>
  tookMs: number
}

export interface Published {
  listing: Listing
  /** False when no relay could be reached: published to this browser's mesh neighbours. */
  relayReached: boolean
}

type Pending = { resolve: (m: FromWorker) => void; reject: (e: Error) => void }
type Request = Extract<ToWorker, { id: number }>

export class Catalog {
  /** The worker has loaded the stored catalog and answers searches. */
  ready = $state(false)
  /** How far loading the stored catalog has come, until `ready`. */
  loading = $state.raw<{ loaded: number; total: number } | null>(null)
  /** Listings in the local copy. */
  count = $state(0)
  /** Every relay synced from, the origin first. */
  relays = $state.raw<RelaySyncProgress[]>([])
  /** Bumped when listings or figures arrive (at most once a CHANGED_SEARCH_INTERVAL_MS), so
   * open views can search again. */
  version = $state(0)
  /** Listings mesh neighbours sent that failed verification, since the page opened. */
  meshRefused = $state(0)
  error = $state<string | null>(null)

  #worker: Worker
  #next = 1
  // Not read by views: no reactivity needed.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #pending = new Map<number, Pending>()
  #publicKey: Promise<string> | null = null
  #changes = new ChangePacer(() => this.version++, CHANGED_SEARCH_INTERVAL_MS)

  constructor() {
    // Vite bundles the worker from this exact `new URL(…, import.meta.url)` form.
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    this.#worker = new Worker(new URL('../workers/catalog.worker.ts', import.meta.url), {
      type: 'module',
    })
    this.#worker.onmessage = (event: MessageEvent<FromWorker>) => this.#receive(event.data)
    this.#worker.onerror = (event) => {
      this.error = `The catalog stopped working: ${event.message}`
    }
  }

  /** Starts syncing; the origin relay comes first, the relays it knows are found from it.
   * Called again, it adds relays to sync from at once (a relay added in Settings). */
  start(relays: string[]): void {
    this.#worker.postMessage({ type: 'start', relays } satisfies ToWorker)
  }

  /** Syncs from every relay now rather than at the next pass. */
  sync(): void {
    this.#worker.postMessage({ type: 'sync' } satisfies ToWorker)
  }

  /** Asks the relays for fresh seeds, leechers and downloads of these hashes; `version`
   * moves if any changed. */
  refreshFigures(infoHashes: string[]): void {
    this.#worker.postMessage({ type: 'figures', infoHashes } satisfies ToWorker)
  }

  /** Whether any relay is still being read. */
  get syncing(): boolean {
    return this.relays.some((r) => r.state === 'syncing')
  }

  /** URLs of every relay this page knows, the origin first. */
  get relayUrls(): string[] {
    return this.relays.map((r) => r.relay)
  }

  async search(query: SearchQuery): Promise<SearchPage> {
    const reply = await this.#ask({ type: 'search', id: 0, query })
    if (reply.type !== 'result') throw new Error('unexpected reply')
    return {
      total: reply.total,
      rows: reply.rows,
      categories: reply.categories,
      tookMs: reply.tookMs,
    }
  }

  /**
   * Every publisher's listing of a hash, newest first. With `refresh`, the relays are asked
   * first for live swarm figures (and for the listing, which they are anyway when this
   * browser has none).
   */
  async get(infoHash: string, options: { refresh?: boolean } = {}): Promise<CatalogRow[]> {
    const reply = await this.#ask({
      type: 'get',
      id: 0,
      infoHash,
      refresh: options.refresh ?? false,
    })
    if (reply.type !== 'listings') throw new Error('unexpected reply')
    return reply.rows
  }

  /** Signs the draft with this browser's key, stores it in this browser's catalog (so the
   * mesh passes it on) and publishes it to `relay`. `relayReached` false: the relay could not
   * be reached, and gets it later; a relay's refusal throws. */
  async publish(draft: ListingDraft, relay: string): Promise<Published> {
    const reply = await this.#ask({ type: 'publish', id: 0, draft, relay })
    if (reply.type !== 'published') throw new Error('unexpected reply')
    return { listing: reply.listing, relayReached: reply.relayReached }
  }

  /** Listings stored here after a mesh neighbour's `cursor` (app/catalog/mesh-exchange.ts). */
  async meshPage(cursor: number, limit: number): Promise<RecordPage> {
    const reply = await this.#ask({ type: 'meshPage', id: 0, cursor, limit })
    if (reply.type !== 'meshPage') throw new Error('unexpected reply')
    return { records: reply.records, next: reply.next, more: reply.more }
  }

  /** Listings a mesh neighbour sent, verified and stored in the worker. */
  async meshAccept(records: string[]): Promise<{ stored: number; refused: number }> {
    const reply = await this.#ask({ type: 'meshAccept', id: 0, records })
    if (reply.type !== 'meshAccepted') throw new Error('unexpected reply')
    this.meshRefused += reply.refused
    return { stored: reply.stored, refused: reply.refused }
  }

  /** This browser's publisher key, hex. */
  publicKey(): Promise<string> {
    this.#publicKey ??= this.#ask({ type: 'identity', id: 0 }).then((reply) => {
      if (reply.type !== 'identity') throw new Error('unexpected reply')
      return reply.publicKey
    })
    return this.#publicKey
  }

  #ask(message: Request): Promise<FromWorker> {
    const id = this.#next++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#worker.postMessage({ ...message, id } satisfies ToWorker)
    })
  }

  #receive(message: FromWorker): void {
    switch (message.type) {
      case 'loading':
        this.loading = { loaded: message.loaded, total: message.total }
        return
      case 'ready':
        this.ready = true
        this.loading = null
        this.count = message.count
        return
      case 'progress':
        this.relays = message.relays
        this.count = message.count
        return
      case 'changed':
        this.count = message.count
        this.#changes.changed()
        return
      case 'failed':
        if (message.id === null) {
          this.error = message.error
          return
        }
        this.#pending.get(message.id)?.reject(new Error(message.error))
        this.#pending.delete(message.id)
        return
      default: {
        const pending = this.#pending.get(message.id)
        this.#pending.delete(message.id)
        pending?.resolve(message)
      }
    }
  }
}

let shared: Catalog | null = null

/** The page's one catalog, started against the origin relay (and the relays the user added
 * in Settings, passed by the first caller) on first use. */
export function catalog(relays: string[] = []): Catalog {
  if (!shared) {
    shared = new Catalog()
    shared.start([location.origin, ...relays])
  }
  return shared
}
