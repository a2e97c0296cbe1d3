// The supernodes this page knows, for choosing where torrents announce: the verified records
// of the last relay that answered GET /v1/supernodes (network.ts checks every signature),
// and the nodes this page saw die. A relay's list is its live set, the one it computes owners
// from; taking one relay's list whole, rather than merging several, keeps this page's owners
// the same as that relay's, and lets a dead supernode drop out when the relays drop it.

import type { SupernodeRecord } from '../../shared/supernode.ts'
import { checkSupernodes } from './network.ts'

/** Relays asked in one read before giving up: the referrer, the origin, an owner. */
export const MAX_READ_SOURCES = 3
/** A read within this long of the last one is not repeated: torrents re-homing together
 * (one relay down takes all of them) share one answer. */
export const MIN_READ_GAP_MS = 1_000
/** How long a supernode whose tracker this page saw down stays out of its owner choice.
 * The relays drop a dead supernode themselves after a few missed polls (relay/limits.ts
 * MAX_MISSED_CONTACTS); past this the page tries it again, in case it came back. */
export const DEAD_FOR_MS = 2 * 60_000
/** Relays whose own node id is remembered: the origin and the trackers' relays, a few. */
const MAX_KNOWN_RELAY_IDS = 64

export type FetchJson = (url: string) => Promise<unknown>

export class SupernodeView {
  /** Verified records, null until a relay answered. */
  records: SupernodeRecord[] | null = null
  /** The relay whose list `records` is. */
  source: string | null = null
  readAt = 0

  readonly #fetchJson: FetchJson
  readonly #now: () => number
  /** Node ids, and trackers (by host), seen dead lately, with when they may be tried again. */
  readonly #dead = new Map<string, number>()
  readonly #deadHosts = new Map<string, number>()
  /** Each relay read, with its own node id: the first record it lists (it lists its own
   * first, relay/supernode/routes.ts). */
  readonly #selfIds = new Map<string, string>()
  readonly #onChange: (() => void) | undefined
  #reading: Promise<boolean> | null = null

  /** `onChange` is told after each read and each node marked dead. */
  constructor(fetchJson: FetchJson, now: () => number = Date.now, onChange?: () => void) {
    this.#fetchJson = fetchJson
    this.#now = now
    this.#onChange = onChange
  }

  /** Ids of supernodes seen dead lately. */
  dead(): Set<string> {
    return live(this.#dead, this.#now())
  }

  /** The node id of a relay this view read from, if known. */
  idOf(relay: string): string | null {
    return this.#selfIds.get(relay) ?? null
  }

  /** Whether a tracker (ws:// or wss:// URL) was seen dead lately. */
  isDown(tracker: string): boolean {
    const host = hostOf(tracker)
    return host !== null && live(this.#deadHosts, this.#now()).has(host)
  }

  /** Marks trackers whose socket stayed down, and the supernodes behind them, as dead. */
  markDown(trackers: readonly string[]): void {
    const until = this.#now() + DEAD_FOR_MS
    for (const id of this.idsOf(trackers)) this.#dead.set(id, until)
    for (const t of trackers) {
      const host = hostOf(t)
      if (host) this.#deadHosts.set(host, until)
    }
    this.#onChange?.()
  }

  /** Ids of the known records that serve any of `trackers` (ws:// or wss:// URLs), by the
   * URLs they publish or, for a relay read from, the address it was read at. */
  idsOf(trackers: readonly string[]): string[] {
    const hosts = new Set(trackers.flatMap((t) => hostOf(t) ?? []))
    const ids = new Set(
      (this.records ?? [])
        .filter((r) => r.urls.some((u) => hosts.has(hostOf(u) ?? '')))
        .map((r) => r.id),
    )
    for (const [relay, id] of this.#selfIds) if (hosts.has(hostOf(relay) ?? '')) ids.add(id)
    return [...ids]
  }

  /** Reads the list of the first of `relays` (http origins) that answers with one; false
   * when none did. Concurrent calls share one read. */
  read(relays: readonly string[]): Promise<boolean> {
    if (this.#reading) return this.#reading
    if (this.records && this.#now() - this.readAt < MIN_READ_GAP_MS) return Promise.resolve(true)
    this.#reading = this.#read(relays).finally(() => (this.#reading = null))
    return this.#reading
  }

  async #read(relays: readonly string[]): Promise<boolean> {
    for (const relay of [...new Set(relays)].slice(0, MAX_READ_SOURCES)) {
      try {
        const answer = await this.#fetchJson(`${relay}/v1/supernodes`)
        const { records, selfId } = checkSupernodes(answer, Math.floor(this.#now() / 1000))
        if (records.length === 0 || selfId === undefined) continue
        this.records = records
        this.source = relay
        if (this.#selfIds.size < MAX_KNOWN_RELAY_IDS) this.#selfIds.set(relay, selfId)
        this.readAt = this.#now()
        this.#onChange?.()
        return true
      } catch {
        // Down, or sent nothing usable: try the next.
      }
    }
    return false
  }
}

/** The keys of `map` whose time has not passed; drops the others. */
function live(map: Map<string, number>, now: number): Set<string> {
  for (const [key, until] of map) if (until <= now) map.delete(key)
  return new Set(map.keys())
}

/** `host:port` of an http(s) or ws(s) URL, lower case, or null. */
function hostOf(url: string): string | null {
  try {
    return new URL(url).host.toLowerCase()
  } catch {
    return null
  }
}

/** The relay (http origin) behind a WebSocket tracker: `ws://h:p/` → `http://h:p`. */
export function trackerRelay(tracker: string): string | null {
  try {
    const url = new URL(tracker)
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return null
    return `${url.protocol === 'wss:' ? 'https' : 'http'}://${url.host}`
  } catch {
    return null
  }
}
