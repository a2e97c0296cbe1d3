// The host cache (ARCHITECTURE.md, "Discovery", step 2): every relay URL this relay has seen,
// who told it (a source: the --peer configuration, a relay pulled from, a pushing address),
// when it was last seen, and how often contacting it worked or failed. Served at
// GET /v1/hosts so that nodes bootstrap from it, and consulted before the relay contacts a
// URL someone handed it.
//
// Validation: an http(s) origin whose host is public (address.ts), unless the relay runs
// with --local-network. Bounds: `maxPerSource` URLs per source and `maxHosts` in all. A
// source over its share evicts its own worst entry, so a flood from one source only churns
// its own slots; when the cache is full, a newcomer evicts the worst entry overall only if
// that one has failed at least as often as it worked, so known-good hosts stay.

import { canonicalUrl } from '../../shared/supernode.ts'
import { MAX_HOST_CHECK_MEMO, MAX_HOSTS, MAX_HOSTS_PER_SOURCE } from '../limits.ts'
import { addressKind } from '../../shared/address.ts'

export interface HostCacheOptions {
  /** Accept private, loopback, link-local and local names (a LAN or a test network). */
  localNetwork: boolean
  maxHosts: number
  maxPerSource: number
}

export interface HostEntry {
  /** The relay's origin, http(s)://host[:port]. */
  url: string
  source: string
  firstSeenMs: number
  lastSeenMs: number
  successes: number
  failures: number
}

export type HostRefusal = { ok: false; code: 'malformed' | 'not-public' | 'full'; error: string }

export class HostCache {
  readonly options: Readonly<HostCacheOptions>
  readonly #hosts = new Map<string, HostEntry>()
  readonly #bySource = new Map<string, Set<string>>()
  /** check()'s answers by URL: a pure function of the URL and options, asked for every
   * proxied announce (~3% of a proxying relay's main thread). Cleared when full. */
  readonly #checked = new Map<string, Readonly<{ ok: true; url: string } | HostRefusal>>()

  constructor(options: Partial<HostCacheOptions> = {}) {
    this.options = {
      localNetwork: false,
      maxHosts: MAX_HOSTS,
      maxPerSource: MAX_HOSTS_PER_SOURCE,
      ...options,
    }
  }

  get size(): number {
    return this.#hosts.size
  }

  countFrom(source: string): number {
    return this.#bySource.get(source)?.size ?? 0
  }

  /** The canonical origin of `url` when the relay may contact it, else why not. */
  check(url: string): Readonly<{ ok: true; url: string } | HostRefusal> {
    let checked = this.#checked.get(url)
    if (checked === undefined) {
      checked = Object.freeze(this.#check(url))
      if (this.#checked.size >= MAX_HOST_CHECK_MEMO) this.#checked.clear()
      this.#checked.set(url, checked)
    }
    return checked
  }

  #check(url: string): { ok: true; url: string } | HostRefusal {
    let origin: string
    try {
      origin = canonicalUrl(url)
    } catch {
      return { ok: false, code: 'malformed', error: 'not an http(s) origin' }
    }
    const kind = addressKind(new URL(origin).hostname)
    if (kind !== 'public' && !this.options.localNetwork) {
      return { ok: false, code: 'not-public', error: `${kind} address (see --local-network)` }
    }
    return { ok: true, url: origin }
  }

  /** Records that `source` named `url`; a known URL only gets its last-seen time updated. */
  seen(
    url: string,
    source: string,
    nowMs: number,
  ): Readonly<{ ok: true; url: string } | HostRefusal> {
    const checked = this.check(url)
    if (!checked.ok) return checked
    const known = this.#hosts.get(checked.url)
    if (known) {
      known.lastSeenMs = Math.max(known.lastSeenMs, nowMs)
      return checked
    }
    const own = this.#bySource.get(source)
    if (own && own.size >= this.options.maxPerSource) {
      this.#remove(this.#worst(own)!)
    } else if (this.#hosts.size >= this.options.maxHosts) {
      const worst = this.#worst(this.#hosts.keys())
      if (!worst || net(this.#hosts.get(worst)!) > 0) {
        return { ok: false, code: 'full', error: 'host cache is full of hosts that answer' }
      }
      this.#remove(worst)
    }
    this.#hosts.set(checked.url, {
      url: checked.url,
      source,
      firstSeenMs: nowMs,
      lastSeenMs: nowMs,
      successes: 0,
      failures: 0,
    })
    const set = this.#bySource.get(source) ?? new Set<string>()
    set.add(checked.url)
    this.#bySource.set(source, set)
    return checked
  }

  /** Counts a contact that worked (or not); unknown URLs are ignored. */
  contacted(url: string, ok: boolean, nowMs: number): void {
    const entry = this.#hosts.get(url)
    if (!entry) return
    if (ok) {
      entry.successes++
      entry.lastSeenMs = Math.max(entry.lastSeenMs, nowMs)
    } else {
      entry.failures++
    }
  }

  get(url: string): HostEntry | undefined {
    const entry = this.#hosts.get(url)
    return entry && { ...entry }
  }

  /** Every entry, best first (most net successes, then most recently seen). */
  list(): HostEntry[] {
    return [...this.#hosts.values()].map((e) => ({ ...e })).sort((a, b) => compare(b, a))
  }

  #worst(urls: Iterable<string>): string | undefined {
    let worst: HostEntry | undefined
    for (const url of urls) {
      const entry = this.#hosts.get(url)!
      if (!worst || compare(entry, worst) < 0) worst = entry
    }
    return worst?.url
  }

  #remove(url: string): void {
    const entry = this.#hosts.get(url)
    if (!entry) return
    this.#hosts.delete(url)
    const set = this.#bySource.get(entry.source)!
    set.delete(url)
    if (set.size === 0) this.#bySource.delete(entry.source)
  }
}

function net(e: HostEntry): number {
  return e.successes - e.failures
}

/** Negative when `a` is worse than `b`. */
function compare(a: HostEntry, b: HostEntry): number {
  return net(a) - net(b) || a.lastSeenMs - b.lastSeenMs
}
