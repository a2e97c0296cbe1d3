// Figures of hashes owned elsewhere (issue 20, "fan-out bounded"). A relay asked for the
// swarm figures of hashes it does not own (GET /v1/stats, a classic client's scrape) asks
// their owners. Asked one hash per request, one GET /v1/stats of 100 hashes made 79 requests
// to other relays, and 200 such asks at once made 14,116. Here the requests are:
// - batched: one request per owner carrying every hash asked of it, as a BEP 48 scrape
//   carries many: GET /v1/stats?owned=1&ih=…, which the owner answers from its own tracker
//   for the hashes it owns, never asking further (no loops);
// - coalesced: a hash already being asked of an owner waits for that answer;
// - cached: an owner's figure is reused for FANOUT_CACHE_MS;
// - capped: per ask, per asking address and in total (relay/limits.ts). A figure beyond the
//   caps is unknown, left out of the answer (the app keeps what it showed), and the caller
//   is told so it can count the refusal ('fanout-busy').
// An owner that fails, or does not own a hash after all, leaves the hash to the next owner;
// a hash no owner answered for gets this relay's own count (`local`).

import { BoundedMap } from '../../shared/bounded-map.ts'
import type { SupernodeRecord } from '../../shared/supernode.ts'
import type { PeerRequest } from '../peering/peer-fetch.ts'
import {
  FANOUT_CACHE_MS,
  FANOUT_REQUESTS_IN_FLIGHT,
  FANOUT_REQUESTS_PER_ADDRESS,
  FANOUT_REQUESTS_PER_ASK,
  MAX_FANOUT_CACHE_ENTRIES,
  MAX_PROXY_ANSWER_BYTES,
  MAX_SCRAPE_HASHES,
  PROXY_TIMEOUT_MS,
} from '../limits.ts'
import type { MetricFamily } from '../metrics.ts'
import type { ScrapeEntry } from '../tracker/tracker.ts'
import type { HashPlacement } from './placement.ts'

export interface OwnerScrapeLimits {
  /** Requests one ask may start. */
  perAsk: number
  /** Requests in flight for one asking address. */
  perSource: number
  /** Requests in flight in all. */
  total: number
  /** How long an owner's figure is reused. */
  cacheMs: number
  /** Figures cached at once (oldest dropped first). */
  maxCached: number
}

export interface OwnerScrapeDeps {
  /** This relay's node id: never asked. */
  selfId: () => string
  /** The host cache's check on a learned URL. */
  mayContact?: (url: string) => boolean
  /** GET a peer relay's JSON: the relay's PeerTransport (sealed over plain HTTP). */
  fetchJson: (url: string, req: PeerRequest) => Promise<unknown>
  timeoutMs?: number
  now?: () => number
  limits?: Partial<OwnerScrapeLimits>
}

/** One ask for figures: who asked, and what to do when the caps leave figures unknown. */
export interface ScrapeAsk {
  /** The asking client's address: its requests in flight are capped ('' for none). */
  source: string
  /** Called once per ask with how many hashes were left unknown for the caps. */
  onBusy?: (unknown: number) => void
}

export interface OwnedHash {
  infoHash: string
  placement: HashPlacement
}

/** A hash to ask for, and its owners this relay may ask, best first. */
interface Wanted {
  infoHash: string
  owners: SupernodeRecord[]
}

/** An owner's figures by hash; null when the request failed. */
type Figures = Map<string, ScrapeEntry> | null

export class OwnerScrapes {
  /** Requests sent, failed (no usable answer) and served (asked of this relay as an owner:
   * counted by the caller); hashes answered from the cache, hashes that waited on another
   * ask's request, hashes left unknown for the caps. */
  readonly stats = { sent: 0, failed: 0, served: 0, cached: 0, coalesced: 0, busy: 0 }
  readonly limits: OwnerScrapeLimits
  readonly #deps: OwnerScrapeDeps
  /** Figures by hash, the oldest written dropped first (it is the nearest to expiry). */
  readonly #cache: BoundedMap<string, { entry: ScrapeEntry; atMs: number }>
  /** The request carrying each (owner id, hash) now, to be shared. Holds at most
   * `total` requests' hashes: entries go when their request settles. */
  readonly #pending = new Map<string, Promise<Figures>>()
  /** Requests in flight by asking address: at most `total` entries, none at zero. */
  readonly #bySource = new Map<string, number>()
  #inFlight = 0

  constructor(deps: OwnerScrapeDeps) {
    this.#deps = deps
    this.limits = {
      perAsk: FANOUT_REQUESTS_PER_ASK,
      perSource: FANOUT_REQUESTS_PER_ADDRESS,
      total: FANOUT_REQUESTS_IN_FLIGHT,
      cacheMs: FANOUT_CACHE_MS,
      maxCached: MAX_FANOUT_CACHE_ENTRIES,
      ...deps.limits,
    }
    this.#cache = new BoundedMap({ maxSize: this.limits.maxCached, order: 'oldest' })
  }

  /** The counters, for /metrics. */
  metrics(): MetricFamily[] {
    const { sent, failed, served, cached, coalesced, busy } = this.stats
    return [
      {
        name: 'monsoon_owner_scrapes_total',
        help: 'Requests for owner figures (GET /v1/stats?owned=1), by outcome.',
        type: 'counter',
        samples: [
          { labels: { outcome: 'sent' }, value: sent },
          { labels: { outcome: 'failed' }, value: failed },
          { labels: { outcome: 'served' }, value: served },
        ],
      },
      {
        name: 'monsoon_owner_scrape_hashes_total',
        help: 'Hashes of owner figures not asked for: cached, coalesced, or unknown (busy).',
        type: 'counter',
        samples: [
          { labels: { outcome: 'cached' }, value: cached },
          { labels: { outcome: 'coalesced' }, value: coalesced },
          { labels: { outcome: 'unknown' }, value: busy },
        ],
      },
    ]
  }

  /** Requests to other relays in flight now. */
  get inFlight(): number {
    return this.#inFlight
  }

  /** Figures of `hashes`: here for those this relay owns (`local`), else from their owners;
   * a hash left unknown for the caps is missing from the result. Never rejects. */
  async scrape(
    hashes: OwnedHash[],
    local: (infoHash: string) => ScrapeEntry,
    ask: ScrapeAsk,
  ): Promise<ScrapeEntry[]> {
    const known = new Map<string, ScrapeEntry>()
    let wanted: Wanted[] = []
    const nowMs = this.#now()
    const self = this.#deps.selfId()
    for (const { infoHash, placement } of hashes) {
      if (placement.local) {
        known.set(infoHash, local(infoHash))
        continue
      }
      const hit = this.#cached(infoHash, nowMs)
      if (hit) {
        this.stats.cached++
        known.set(infoHash, hit)
        continue
      }
      const owners = placement.owners.filter((r) => r.id !== self && this.#may(r))
      wanted.push({ infoHash, owners })
    }
    let started = 0
    let busy = 0
    /** Owners whose request failed in this ask: not asked again by it. */
    const down = new Set<string>()
    // Round n asks each hash's n-th owner: the hashes it did not answer go to the next one.
    for (let round = 0; wanted.length > 0; round++) {
      const waits: (Wanted & { owner: SupernodeRecord; answer: Promise<Figures> })[] = []
      const batches = new Map<string, { owner: SupernodeRecord; hashes: Wanted[] }>()
      for (const w of wanted) {
        const owner = w.owners[round]
        if (!owner) {
          known.set(w.infoHash, local(w.infoHash))
          continue
        }
        if (down.has(owner.id)) {
          waits.push({ ...w, owner, answer: Promise.resolve(null) })
          continue
        }
        const pending = this.#pending.get(`${owner.id} ${w.infoHash}`)
        if (pending) {
          this.stats.coalesced++
          waits.push({ ...w, owner, answer: pending })
          continue
        }
        const batch = batches.get(owner.id) ?? { owner, hashes: [] }
        batch.hashes.push(w)
        batches.set(owner.id, batch)
      }
      for (const { owner, hashes: batch } of batches.values()) {
        for (let i = 0; i < batch.length; i += MAX_SCRAPE_HASHES) {
          const chunk = batch.slice(i, i + MAX_SCRAPE_HASHES)
          if (!this.#mayStart(started, ask.source)) {
            busy += chunk.length
            continue
          }
          started++
          const answer = this.#ask(
            owner,
            chunk.map((w) => w.infoHash),
            ask.source,
          )
          for (const w of chunk) waits.push({ ...w, owner, answer })
        }
      }
      const next: Wanted[] = []
      for (const { infoHash, owners, owner, answer } of waits) {
        const figures = await answer
        if (figures === null) down.add(owner.id)
        const entry = figures?.get(infoHash)
        if (entry) known.set(infoHash, entry)
        else next.push({ infoHash, owners })
      }
      wanted = next
    }
    if (busy > 0) {
      this.stats.busy += busy
      ask.onBusy?.(busy)
    }
    return hashes.flatMap(({ infoHash }) => {
      const entry = known.get(infoHash)
      return entry ? [entry] : []
    })
  }

  #mayStart(started: number, source: string): boolean {
    const { perAsk, perSource, total } = this.limits
    if (started >= perAsk || this.#inFlight >= total) return false
    // An ask that names no source (a route that does not say) is capped per ask and in all.
    return source === '' || (this.#bySource.get(source) ?? 0) < perSource
  }

  /** One request to `owner` for `hashes`; resolves to the figures it gave (none on failure). */
  #ask(owner: SupernodeRecord, hashes: string[], source: string): Promise<Figures> {
    this.stats.sent++
    this.#inFlight++
    this.#bySource.set(source, (this.#bySource.get(source) ?? 0) + 1)
    const url = `${owner.urls[0]}/v1/stats?owned=1&${hashes.map((h) => `ih=${h}`).join('&')}`
    const answer = this.#deps
      .fetchJson(url, {
        timeoutMs: this.#deps.timeoutMs ?? PROXY_TIMEOUT_MS,
        maxBytes: MAX_PROXY_ANSWER_BYTES,
      })
      .then((body) => this.#figures(body, hashes))
      .catch(() => {
        this.stats.failed++
        return null
      })
      .finally(() => {
        this.#inFlight--
        const left = (this.#bySource.get(source) ?? 1) - 1
        if (left > 0) this.#bySource.set(source, left)
        else this.#bySource.delete(source)
        for (const h of hashes) {
          const key = `${owner.id} ${h}`
          if (this.#pending.get(key) === answer) this.#pending.delete(key)
        }
      })
    for (const h of hashes) this.#pending.set(`${owner.id} ${h}`, answer)
    return answer
  }

  /** The figures an owner gave for the hashes asked (others ignored), cached. */
  #figures(body: unknown, asked: string[]): Figures {
    const stats = (body as { stats?: unknown } | null)?.stats
    if (typeof stats !== 'object' || stats === null) {
      this.stats.failed++
      return null
    }
    const out = new Map<string, ScrapeEntry>()
    const atMs = this.#now()
    for (const infoHash of asked) {
      const s = (stats as Record<string, unknown>)[infoHash]
      if (typeof s !== 'object' || s === null) continue
      const { seeds, leechers, downloads } = s as Record<string, unknown>
      const entry = {
        infoHash,
        complete: count(seeds),
        incomplete: count(leechers),
        downloaded: count(downloads),
      }
      out.set(infoHash, entry)
      this.#cache.set(infoHash, { entry, atMs })
    }
    return out
  }

  #cached(infoHash: string, nowMs: number): ScrapeEntry | undefined {
    const hit = this.#cache.get(infoHash)
    if (!hit) return undefined
    if (nowMs - hit.atMs < this.limits.cacheMs) return hit.entry
    this.#cache.delete(infoHash)
    return undefined
  }

  #may(owner: SupernodeRecord): boolean {
    const origin = owner.urls[0]
    return origin !== undefined && (this.#deps.mayContact?.(origin) ?? true)
  }

  #now(): number {
    return (this.#deps.now ?? Date.now)()
  }
}

function count(n: unknown): number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : 0
}
