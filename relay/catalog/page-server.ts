// GET /v1/listings as a core without sockets (issue 23): a page of the store in cursor order,
// built once (page-cache.ts) in a turn of the builder (page-builds.ts), compressed in the form
// the client accepts (br or gzip, RFC 9110 §8.4), with a strong ETag and a 304 for a client
// that holds it. The JSON is the same as before, byte for byte once decoded.
//
// Caching headers: a page with rows after it may be kept by the client or a proxy for the
// rest of its snapshot's life (`public, max-age`); the last page, which grows, must be asked
// again each time (`no-cache`), and its ETag makes that a 304 while nothing arrived.

import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import { brotliCompress, brotliDecompress, constants as zlib, gunzip, gzip } from 'node:zlib'
import {
  MAX_PAGE_BUILDS_WAITING,
  MAX_PAGE_BYTES,
  MAX_PAGE_CACHE_ENTRIES,
  MAX_RATE_BUCKETS,
  PAGE_ANSWERS_PER_TURN,
  PAGE_BROTLI_QUALITY,
  PAGE_BUILD_MAX_TURN_MS,
  PAGE_BUILDS_AT_ONCE,
  PAGE_BUILDS_PER_ADDRESS_AT_ONCE,
  PAGE_BUILDS_PER_ADDRESS_PER_MINUTE,
  PAGE_BUSY_RETRY_AFTER_SECONDS,
  PAGE_CACHE_BYTES,
  PAGE_COMPRESS_MIN_BYTES,
  PAGE_SNAPSHOT_MAX_AGE_MS,
} from '../limits.ts'
import type { Logger } from '../log.ts'
import type { Refusals } from '../refusals.ts'
import { chooseCoding, entityTag, matchesTag, type PageCoding } from './content-coding.ts'
import { Turnstile } from './turnstile.ts'
import {
  PageBuildOverdue,
  PageBuilds,
  isRefused,
  type PageBuildsHooks,
  type PageBuildsOptions,
} from './page-builds.ts'
import { PageCache, type CachedPage, type PageCacheOptions, type PageForm } from './page-cache.ts'
import type { CatalogStore } from './store.ts'

export interface SwarmFigures {
  seeds: number
  leechers: number
  downloads: number
}

export interface PageRequest {
  after: number
  limit: number
  /** The client's address, for its share of the builder. */
  address: string
  acceptEncoding?: string
  ifNoneMatch?: string
}

export type PageAnswer =
  | { status: 200; body: Uint8Array; headers: Record<string, string> }
  | { status: 304; headers: Record<string, string> }
  | { status: 429 | 503; error: string; code: 'rate-limited' | 'busy'; retryAfterSeconds: number }

export interface PageServerDeps {
  store: CatalogStore
  /** This relay's own swarm figures of some hashes (a page carries those not all zero);
   * a hash with no swarm may be left out. */
  figures: (hashes: Iterable<string>) => Record<string, SwarmFigures>
  refusals?: Refusals
  nowMs?: () => number
  /** Compressed forms made on the thread pool; tests may pass another. */
  compress?: (coding: PageCoding, json: Buffer) => Promise<Buffer>
  /** The JSON of a compressed form, on the thread pool; tests may pass another. */
  decompress?: (coding: PageCoding, body: Buffer) => Promise<Buffer>
  /** Where a build given up for overrunning its turn is reported. */
  log?: Logger
  /** The builder's turn timer (tests pass one they fire). */
  setTimer?: PageBuildsHooks['setTimer']
}

export interface PageServerOptions {
  cache: PageCacheOptions
  builds: PageBuildsOptions
  /** Answers smaller than this go uncompressed. */
  compressMinBytes: number
  /** Answers let out per turn of the event loop. */
  answersPerTurn: number
  /** Build the page after one answered while the builder is idle (#buildAhead). */
  buildAhead: boolean
}

export const DEFAULT_PAGE_SERVER_OPTIONS: PageServerOptions = {
  cache: {
    maxBytes: PAGE_CACHE_BYTES,
    maxEntries: MAX_PAGE_CACHE_ENTRIES,
    maxAgeMs: PAGE_SNAPSHOT_MAX_AGE_MS,
  },
  builds: {
    atOnce: PAGE_BUILDS_AT_ONCE,
    maxWaiting: MAX_PAGE_BUILDS_WAITING,
    perAddressAtOnce: PAGE_BUILDS_PER_ADDRESS_AT_ONCE,
    perAddressPerMinute: PAGE_BUILDS_PER_ADDRESS_PER_MINUTE,
    maxAddresses: MAX_RATE_BUCKETS,
    busyRetryAfterSeconds: PAGE_BUSY_RETRY_AFTER_SECONDS,
    maxTurnMs: PAGE_BUILD_MAX_TURN_MS,
  },
  compressMinBytes: PAGE_COMPRESS_MIN_BYTES,
  answersPerTurn: PAGE_ANSWERS_PER_TURN,
  buildAhead: true,
}

const brotli = promisify(brotliCompress)
const gzipped = promisify(gzip)
const unbrotli = promisify(brotliDecompress)
const gunzipped = promisify(gunzip)

/** br at PAGE_BROTLI_QUALITY in text mode, gzip at zlib's default level. */
export function compressPage(coding: PageCoding, json: Buffer): Promise<Buffer> {
  if (coding === 'gzip') return gzipped(json)
  return brotli(json, {
    params: {
      [zlib.BROTLI_PARAM_QUALITY]: PAGE_BROTLI_QUALITY,
      [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT,
      [zlib.BROTLI_PARAM_SIZE_HINT]: json.length,
    },
  })
}

/** The JSON of a compressed page (ours: a millisecond or two for a page of 1,000). */
function decompressPage(coding: PageCoding, body: Buffer): Promise<Buffer> {
  return coding === 'gzip' ? gunzipped(body) : unbrotli(body)
}

export class PageServer {
  readonly cache: PageCache
  readonly builds: PageBuilds
  readonly #turnstile: Turnstile
  /** Pages built or compressed, and builds given up for overrunning their turn, since start. */
  readonly counts = { built: 0, builtAhead: 0, compressed: 0, servedFromCache: 0, overdue: 0 }
  readonly #deps: PageServerDeps
  readonly #options: PageServerOptions
  readonly #now: () => number
  readonly #compress: (coding: PageCoding, json: Buffer) => Promise<Buffer>
  readonly #decompress: (coding: PageCoding, body: Buffer) => Promise<Buffer>
  /** Pages being built, so that clients asking at once share one build (bounded by the
   * builder's queue). */
  readonly #building = new Map<string, Promise<CachedPage>>()
  /** Pages to build ahead once this turn's answers are out (#buildAhead): at most one a
   * page answered in the turn. */
  readonly #aheadPending = new Set<string>()

  constructor(deps: PageServerDeps, options: Partial<PageServerOptions> = {}) {
    this.#deps = deps
    this.#options = { ...DEFAULT_PAGE_SERVER_OPTIONS, ...options }
    this.#now = deps.nowMs ?? Date.now
    this.#compress = deps.compress ?? compressPage
    this.#decompress = deps.decompress ?? decompressPage
    this.cache = new PageCache(this.#options.cache)
    this.builds = new PageBuilds(this.#options.builds, {
      setTimer: deps.setTimer,
      onOverdue: (address, maxTurnMs) => {
        this.counts.overdue++
        deps.log?.warn('catalog page build overran its turn; turn given up', {
          address,
          maxTurnMs,
        })
      },
    })
    this.#turnstile = new Turnstile(this.#options.answersPerTurn)
  }

  async answer(req: PageRequest): Promise<PageAnswer> {
    try {
      return await this.#answer(req)
    } catch (err) {
      // Its build was given up (and reported): the client may try again.
      if (err instanceof PageBuildOverdue) return this.#busy(req.address)
      throw err
    }
  }

  async #answer(req: PageRequest): Promise<PageAnswer> {
    const key = `${req.after}:${req.limit}`
    const nowMs = this.#now()
    let page: CachedPage | undefined = this.cache.get(key, this.#deps.store.latest(), nowMs)
    if (page) this.counts.servedFromCache++
    else {
      const shared = this.#building.get(key)
      if (shared) page = await shared
      else {
        const build = this.#turn(req.address, () => this.#build(key, req.after, req.limit))
        if (!(build instanceof Promise)) return build
        this.#building.set(key, build)
        try {
          page = await build
        } finally {
          this.#building.delete(key)
        }
      }
    }
    const coding =
      page.jsonBytes >= this.#options.compressMinBytes ? chooseCoding(req.acceptEncoding) : null
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      ETag: entityTag(page.tag, coding),
      Vary: 'Accept-Encoding',
      'Cache-Control': this.#cacheControl(page, this.#now()),
    }
    if (matchesTag(req.ifNoneMatch, page.tag)) {
      await this.#turnstile.pass()
      return { status: 304, headers }
    }
    const body = await this.#form(page, coding, req.address)
    if ('status' in body) return body
    if (page.immutable && coding === null && this.#options.buildAhead) {
      this.#buildAhead(page.next, req.limit)
    }
    // Clients waiting on one build all resume at once: their answers go out a few a turn.
    await this.#turnstile.pass()
    if (coding) headers['Content-Encoding'] = coding
    return { status: 200, body, headers }
  }

  /** Runs `work` in a turn of the builder, or the refusal to answer with. */
  #turn<T>(address: string, work: () => Promise<T> | T): Promise<T> | Refusal {
    const result = this.builds.run(address, work, this.#now())
    if (!isRefused(result)) return result
    if (result.refused === 'address') {
      this.#deps.refusals?.refuse('catalog-page-builds', address, {})
      return {
        status: 429,
        error: 'too many catalog pages built for this address; slow down',
        code: 'rate-limited',
        retryAfterSeconds: result.retryAfterSeconds,
      }
    }
    return this.#busy(address, result.retryAfterSeconds)
  }

  #busy(address: string, retryAfterSeconds = this.#options.builds.busyRetryAfterSeconds): Refusal {
    this.#deps.refusals?.refuse('catalog-pages-busy', address, {})
    return {
      status: 503,
      error: 'too many catalog pages asked for at once; try again',
      code: 'busy',
      retryAfterSeconds,
    }
  }

  /** The page as JSON text: rows are stored as JSON, joined by SQLite (store.ts joinedPage);
   * re-encoding 1,000 listings per page would cost more than the query. */
  #build(key: string, after: number, limit: number): CachedPage {
    const { store, figures } = this.#deps
    const latest = store.latest()
    const page = store.joinedPage(after, limit, MAX_PAGE_BYTES)
    const tail =
      `],"next":${page.next},"more":${page.more},"latest":${latest},"epoch":"${store.epoch}",` +
      `"stats":${swarmStatsJson(figures(new Set(page.infoHashes)))},"${STATS_ABSENT_IS_ZERO}":true}`
    const json = Buffer.concat([PAGE_HEAD, page.body, Buffer.from(tail)])
    const tag = createHash('sha256').update(json).digest('base64url').slice(0, 27)
    this.counts.built++
    const snapshot = { json, immutable: page.more, latest, next: page.next, tag }
    return this.cache.put(key, snapshot, this.#now())
  }

  /**
   * Builds the page after one just served as JSON, once this turn's answers are out, if no
   * one else's build is running or waiting and it is not built already: a relay's puller
   * (which asks for pages as they are, sealed) asks for the next page as soon as this one
   * arrives, and finds it built instead of waiting for its query; relay-to-relay sync ran
   * serially, each relay waiting on the other (issue 23). Not after a compressed answer:
   * browsers ask for those, a crowd of them shares pages it has already had built, and a
   * page built ahead would hold its JSON (five times its br form) in the cache until someone
   * asked for it.
   * Bounded: one build ahead per page answered, only while the builder is idle, so a crowd's
   * builds never wait behind a guess, and charged to no address: what an address can make
   * the relay build stays at most twice its rate of pages, in time no one else wanted.
   */
  #buildAhead(after: number, limit: number): void {
    const key = `${after}:${limit}`
    if (this.#aheadPending.has(key)) return
    this.#aheadPending.add(key)
    setImmediate(() => {
      this.#aheadPending.delete(key)
      if (this.builds.running > 0 || this.builds.waiting > 0 || this.#building.has(key)) return
      const nowMs = this.#now()
      if (this.cache.get(key, this.#deps.store.latest(), nowMs)) return
      try {
        this.#build(key, after, limit)
        this.counts.builtAhead++
      } catch (err) {
        // Only a guess failed: the page is built when asked for, and fails then if it must.
        this.#deps.log?.warn('catalog page build ahead failed', { after, error: String(err) })
      }
    })
  }

  /** The page in `coding` (null: its JSON as it is), made once and kept with the page. */
  #form(page: CachedPage, coding: PageCoding | null, address: string): Promise<Buffer | Refusal> {
    const form = coding ?? 'identity'
    if (coding === null) page.identityAsked = true
    const held = page.forms.get(form)
    if (held) return Promise.resolve(held)
    if (coding === null) {
      const json = this.#json(page)
      this.#keep(page, 'identity', json, page.jsonBytes)
      return json
    }
    const turn = this.#turn(address, async () => this.#compress(coding, await this.#json(page)))
    if (!(turn instanceof Promise)) return Promise.resolve(turn)
    const made = turn.then((body) => {
      this.counts.compressed++
      return body
    })
    this.#keep(page, coding, made, 0)
    return made
  }

  /** Keeps a form being made with the page (`counted`: its bytes, when known before); once
   * made it is held as bytes, and the JSON dropped for a compressed one. A failed one is
   * dropped, so the next client tries again. */
  #keep(page: CachedPage, form: PageForm, made: Promise<Buffer>, counted: number): void {
    page.forms.set(form, made)
    this.cache.resize(page, counted)
    // Registered before any caller awaits `made`, so a form is held as bytes (and #json can
    // read it) by the time anyone resumes.
    made.then(
      (body) => {
        if (page.forms.get(form) !== made) return
        page.forms.set(form, body)
        this.cache.resize(page, body.length - counted)
        if (form !== 'identity') this.#dropJson(page)
      },
      () => {
        if (page.forms.get(form) !== made) return
        page.forms.delete(form)
        this.cache.resize(page, -counted)
      },
    )
  }

  /** The page's JSON: held, or decompressed from a compressed form already made. Never a form
   * still being made: this runs in a turn of the builder, and a compressed form waits for a
   * turn (a br form made after the gzip one dropped the JSON awaited itself here, and held
   * the only turn for good, issue 23). The JSON is dropped only once a compressed form is
   * made, so one is always there; a JSON being decompressed needs no turn. */
  #json(page: CachedPage): Promise<Buffer> {
    const held = page.forms.get('identity')
    if (held) return Promise.resolve(held)
    for (const coding of ['br', 'gzip'] as const) {
      const form = page.forms.get(coding)
      if (form instanceof Buffer) return this.#decompress(coding, form)
    }
    return Promise.reject(new Error('a cached page holds no form made'))
  }

  /** Drops the JSON once a compressed form exists, unless a client asked for it as it is:
   * a compressed page takes a fifth of the memory, so the cache holds five times the pages. */
  #dropJson(page: CachedPage): void {
    if (page.identityAsked || !page.forms.delete('identity')) return
    this.cache.resize(page, -page.jsonBytes)
  }

  #cacheControl(page: CachedPage, nowMs: number): string {
    if (!page.immutable) return 'no-cache'
    const left = page.builtAtMs + this.#options.cache.maxAgeMs - nowMs
    return `public, max-age=${Math.max(0, Math.floor(left / 1000))}`
  }
}

type Refusal = Extract<PageAnswer, { status: 429 | 503 }>

/** A sync page's JSON up to its first row. */
const PAGE_HEAD = Buffer.from('{"listings":[')

/**
 * The page key that says its `stats` leave out every hash of its listings whose figures are
 * all zero (issue 23): most of a large catalog has no swarm, and writing, sealing and parsing
 * `{"seeds":0,"leechers":0,"downloads":0}` for each made ~85 KB of a 1,000-listing page. A
 * reader that knows the key takes a hash of the page missing from `stats` as zeros (so a
 * count that fell to zero is not left on screen); an older reader ignores the key and keeps
 * what it showed for those hashes, as it did for a hash a relay left out before. A page
 * without the key (an older relay's) means what it did: a missing hash is not known.
 */
export const STATS_ABSENT_IS_ZERO = 'statsAbsentIsZero'

/** `figures` as a page's `stats` JSON, without the entries that are all zeros. */
export function swarmStatsJson(figures: Record<string, SwarmFigures>): string {
  let out = ''
  for (const infoHash in figures) {
    const f = figures[infoHash]
    if (f.seeds === 0 && f.leechers === 0 && f.downloads === 0) continue
    out += `${out === '' ? '' : ','}${JSON.stringify(infoHash)}:${JSON.stringify(f)}`
  }
  return `{${out}}`
}
