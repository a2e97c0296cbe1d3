// Sync pages kept built (issue 23): a thousand browsers syncing from scratch ask for the
// same pages, so each is queried and compressed once, then served from memory.
//
// What may be served again: a page with rows after it (`more`) is a snapshot that stays
// right for a puller however old: a row of it replaced since got a cursor past the page's
// `next`, which the puller reaches by going on. The last page grows as listings arrive, so it
// is served again only while the store's latest cursor is the one it was built at. Either is
// built again after PAGE_SNAPSHOT_MAX_AGE_MS, so the swarm figures it carries stay fresh.
//
// Pages are held within a byte budget (each form kept: compressed ones, and the JSON only
// until a compressed form is made, or once a client asked for it plain), the least recently
// served dropped first: a flood of distinct `after` values evicts pages, never grows memory.

import { BoundedMap } from '../../shared/bounded-map.ts'
import type { PageCoding } from './content-coding.ts'

export interface PageSnapshot {
  /** The page's JSON, as served uncompressed. */
  json: Buffer
  /** True when rows follow the page (`more`): its listings stay right for pullers. */
  immutable: boolean
  /** The store's latest cursor when built: a growing page is good only while it holds. */
  latest: number
  /** The page's `next`: where the page after it starts. */
  next: number
  /** Strong validator of the JSON (RFC 9110 §8.8.3): a hash of its bytes. */
  tag: string
}

/** How a page is held: its JSON as it is, or compressed. */
export type PageForm = PageCoding | 'identity'

export interface CachedPage extends Omit<PageSnapshot, 'json'> {
  builtAtMs: number
  /** The forms made (their bytes) or being made (a promise of them); the JSON first, until
   * dropped for a compressed form made. */
  readonly forms: Map<PageForm, Buffer | Promise<Buffer>>
  /** Bytes of the JSON. */
  jsonBytes: number
  /** True once a client asked for the JSON as it is: it is kept from then on. */
  identityAsked: boolean
}

export interface PageCacheOptions {
  /** Bytes of pages held: their JSON and compressed forms. */
  maxBytes: number
  /** Pages held, whatever their size. */
  maxEntries: number
  /** A page is built again once this old. */
  maxAgeMs: number
}

export class PageCache {
  readonly options: PageCacheOptions
  readonly #pages: BoundedMap<string, CachedPage>
  readonly #sizes = new WeakMap<CachedPage, number>()
  #bytes = 0

  constructor(options: PageCacheOptions) {
    this.options = options
    this.#pages = new BoundedMap({
      maxSize: options.maxEntries,
      order: 'lru',
      onEvict: (_, page) => this.#forget(page),
    })
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes
  }

  get size(): number {
    return this.#pages.size
  }

  /** The page kept under `key` if a fresh build would serve the same listings: not older
   * than maxAgeMs, and either immutable or built at the store's `latest` cursor. */
  get(key: string, latest: number, nowMs: number): CachedPage | undefined {
    const page = this.#pages.get(key)
    if (!page) return undefined
    const fresh = nowMs - page.builtAtMs < this.options.maxAgeMs
    if (fresh && (page.immutable || page.latest === latest)) return page
    this.#pages.delete(key)
    this.#forget(page)
    return undefined
  }

  /** Keeps a page just built (unless it alone is over the budget) and returns it. */
  put(key: string, snapshot: PageSnapshot, nowMs: number): CachedPage {
    const { json, ...rest } = snapshot
    const forms = new Map<PageForm, Buffer | Promise<Buffer>>([['identity', json]])
    const jsonBytes = json.length
    const page: CachedPage = { ...rest, builtAtMs: nowMs, forms, jsonBytes, identityAsked: false }
    const old = this.#pages.get(key)
    if (old) {
      this.#pages.delete(key)
      this.#forget(old)
    }
    if (snapshot.json.length > this.options.maxBytes) return page
    this.#sizes.set(page, 0)
    this.#pages.set(key, page)
    this.#grow(page, snapshot.json.length)
    return page
  }

  /** Counts a form made for `page`, or dropped (negative bytes); nothing if the page was
   * dropped meanwhile. */
  resize(page: CachedPage, bytes: number): void {
    if (this.#sizes.has(page)) this.#grow(page, bytes)
  }

  #grow(page: CachedPage, bytes: number): void {
    this.#sizes.set(page, (this.#sizes.get(page) ?? 0) + bytes)
    this.#bytes += bytes
    for (const [key, eldest] of this.#pages) {
      if (this.#bytes <= this.options.maxBytes) break
      this.#pages.delete(key)
      this.#forget(eldest)
    }
  }

  #forget(page: CachedPage): void {
    this.#bytes -= this.#sizes.get(page) ?? 0
    this.#sizes.delete(page)
  }
}
