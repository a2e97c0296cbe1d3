// The relay's bootstrap loop (ARCHITECTURE.md, "Discovery"): while this relay knows fewer
// than BOOTSTRAP_MIN_SUPERNODES live supernodes, it looks for others, in order,
//   1. in its host cache (relays it has heard of but does not list as supernodes),
//   2. through DNS: TXT `_supernodes.<zone>` of each --dns-zone, asked of each
//      --doh-endpoint (another relay's /dns-query, or any public DoH resolver),
//   3. in bootstrap lists (--bootstrap-url, JSON as /.well-known/monsoon.json serves),
// stopping after the first step that brings it enough. Every URL found goes through the
// host cache's validation and into it (source `bootstrap:<route>`), and the route that
// found it first is remembered for the Network view (GET /v1/discovery). Joining a relay
// is what the exchange does to its --peer relays, once: pull GET /v1/hello and
// GET /v1/supernodes into the directory, and push our own record to POST /v1/supernodes,
// so the other side lists us too. From then on the exchange's rounds keep both sides
// current. (The first step, the origin, is the app's: a relay has none.)
//
// Bounds: MAX_BOOTSTRAP_URLS taken from one answer or list, MAX_BOOTSTRAP_CONTACTS joins a
// round, every request capped in time and bytes; the route map is bounded like the cache.

import { BackgroundLoop } from '../../shared/background-loop.ts'
import { Backoff } from '../../shared/backoff.ts'
import { BoundedMap } from '../../shared/bounded-map.ts'
import { parseBootstrapList } from '../../shared/bootstrap-list.ts'
import { fetchCapped } from '../../shared/capped-body.ts'
import { MAX_DOH_ANSWER_BYTES, lookupSupernodes } from '../../shared/doh/client.ts'
import type { SupernodeRecord } from '../../shared/supernode.ts'
import type { PeerTransport } from '../peering/peer-fetch.ts'
import {
  BOOTSTRAP_INTERVAL_MS,
  BOOTSTRAP_MAX_INTERVAL_MS,
  BOOTSTRAP_MIN_SUPERNODES,
  BOOTSTRAP_REQUEST_TIMEOUT_MS,
  MAX_BOOTSTRAP_CONTACTS,
  MAX_BOOTSTRAP_LIST_BYTES,
  MAX_BOOTSTRAP_URLS,
  MAX_HELLO_ANSWER_BYTES,
  MAX_HOSTS,
  MAX_KNOWN_SUPERNODES,
  MAX_SUPERNODES_ANSWER_BYTES,
} from '../limits.ts'
import type { Logger } from '../log.ts'
import type { SupernodeDirectory } from '../supernode/directory.ts'
import type { HostCache } from '../supernode/host-cache.ts'

/** How a relay URL was first found. 'peer': named by another relay (the exchange);
 * 'config': a --peer. */
export type DiscoveryRoute = 'config' | 'peer' | 'host-cache' | 'dns' | 'list'

export interface BootstrapDeps {
  directory: SupernodeDirectory
  hosts: HostCache
  self: () => SupernodeRecord
  zones: readonly string[]
  dohEndpoints: readonly string[]
  listUrls: readonly string[]
  log: Logger
  /** How requests to other relays travel (relay/sealed/transport.ts). */
  transport: PeerTransport
}

export interface BootstrapOptions {
  intervalMs: number
  /** Longest wait between rounds that keep finding nobody new. */
  maxIntervalMs: number
  minSupernodes: number
  timeoutMs: number
}

export class Bootstrap {
  readonly options: BootstrapOptions
  readonly stats = { rounds: 0, joined: 0, failures: 0 }
  readonly #deps: BootstrapDeps
  readonly #found = new BoundedMap<string, { route: DiscoveryRoute; atMs: number }>({
    maxSize: MAX_HOSTS,
    order: 'oldest',
  })
  readonly #loop = new BackgroundLoop()

  constructor(deps: BootstrapDeps, options: Partial<BootstrapOptions> = {}) {
    this.#deps = deps
    this.options = {
      intervalMs: BOOTSTRAP_INTERVAL_MS,
      maxIntervalMs: BOOTSTRAP_MAX_INTERVAL_MS,
      minSupernodes: BOOTSTRAP_MIN_SUPERNODES,
      timeoutMs: BOOTSTRAP_REQUEST_TIMEOUT_MS,
      ...options,
    }
  }

  /** The route that first found `url`, if the bootstrap found it. */
  routeOf(url: string): DiscoveryRoute | undefined {
    return this.#found.get(url)?.route
  }

  start(): void {
    this.#loop.start(() => this.#run())
  }

  async stop(): Promise<void> {
    await this.#loop.stop()
  }

  /** Whether the relay knows too few live supernodes (itself included). */
  needed(): boolean {
    const live = this.#deps.directory.live(Math.floor(Date.now() / 1000))
    return live.length < this.options.minSupernodes
  }

  /** One round: each route in order until the relay knows enough supernodes. */
  async round(): Promise<void> {
    this.stats.rounds++
    const steps: [DiscoveryRoute, () => Promise<string[]>][] = [
      ['host-cache', async () => this.#deps.hosts.list().map((h) => h.url)],
      ['dns', () => this.#fromDns()],
      ['list', () => this.#fromLists()],
    ]
    for (const [route, find] of steps) {
      if (!this.needed() || this.#loop.signal.aborted) return
      const urls = this.#unknown(await find())
      await Promise.all(urls.map((url) => this.#join(url, route)))
    }
  }

  /** Valid URLs not already listed as a live supernode (nor ours), bounded. */
  #unknown(urls: string[]): string[] {
    const live = this.#deps.directory.live(Math.floor(Date.now() / 1000))
    const known = new Set(live.flatMap((r) => r.urls))
    const out = new Set<string>()
    for (const url of urls.slice(0, MAX_BOOTSTRAP_URLS)) {
      const checked = this.#deps.hosts.check(url)
      if (checked.ok && !known.has(checked.url)) out.add(checked.url)
    }
    return [...out].slice(0, MAX_BOOTSTRAP_CONTACTS)
  }

  async #fromDns(): Promise<string[]> {
    const { zones, dohEndpoints, log } = this.#deps
    const lookups = zones.flatMap((zone) =>
      dohEndpoints.map(async (endpoint) => {
        try {
          return await lookupSupernodes(endpoint, zone, this.#plainRequest(MAX_DOH_ANSWER_BYTES))
        } catch (err) {
          this.stats.failures++
          log.debug('bootstrap DoH lookup failed', { endpoint, zone, error: String(err) })
          return []
        }
      }),
    )
    return (await Promise.all(lookups)).flat()
  }

  async #fromLists(): Promise<string[]> {
    const { listUrls, log } = this.#deps
    const lists = listUrls.map(async (url) => {
      try {
        const bytes = await fetchCapped(url, this.#plainRequest(MAX_BOOTSTRAP_LIST_BYTES))
        return parseBootstrapList(JSON.parse(Buffer.from(bytes).toString('utf8')))
      } catch (err) {
        this.stats.failures++
        log.debug('bootstrap list failed', { url, error: String(err) })
        return []
      }
    })
    return (await Promise.all(lists)).flat()
  }

  /** Learns the relay at `url` and makes it learn us. */
  async #join(url: string, route: DiscoveryRoute): Promise<void> {
    const { directory, hosts, log, transport } = this.#deps
    const nowMs = Date.now()
    hosts.seen(url, `bootstrap:${route}`, nowMs)
    this.#remember(url, route, nowMs)
    try {
      const request = this.#request(MAX_HELLO_ANSWER_BYTES)
      const hello = await transport.fetchJson(`${url}/v1/hello`, request)
      const source = new URL(url).hostname
      const offered = directory.offer(hello, source, Math.floor(Date.now() / 1000))
      if (offered.outcome === 'refused') throw new Error(`its hello was refused: ${offered.error}`)
      if (offered.outcome === 'self') return
      const body = JSON.stringify({ records: [this.#deps.self()] })
      await transport.fetchJson(`${url}/v1/supernodes`, { ...request, method: 'POST', body })
      const list = await transport.fetchJson(`${url}/v1/supernodes`, {
        ...request,
        maxBytes: MAX_SUPERNODES_ANSWER_BYTES,
      })
      const records = (list as { supernodes?: unknown } | null)?.supernodes
      const at = Math.floor(Date.now() / 1000)
      if (Array.isArray(records)) {
        for (const r of records.slice(0, MAX_KNOWN_SUPERNODES)) directory.offer(r, source, at)
      }
      // A bootstrap source is configured by the operator: its roots are trusted.
      directory.takeAdmissions(list, at, true)
      hosts.contacted(url, true, Date.now())
      this.stats.joined++
      log.info('bootstrap joined', { url, route })
    } catch (err) {
      if (this.#loop.signal.aborted) return
      this.stats.failures++
      hosts.contacted(url, false, Date.now())
      log.debug('bootstrap join failed', { url, route, error: String(err) })
    }
  }

  #remember(url: string, route: DiscoveryRoute, atMs: number): void {
    if (this.#found.has(url)) return
    this.#found.set(url, { route, atMs })
  }

  #request(maxBytes: number) {
    return { timeoutMs: this.options.timeoutMs, maxBytes, signal: this.#loop.signal }
  }

  /** #request for a DoH endpoint or a list, which are not relays: no redirect followed. */
  #plainRequest(maxBytes: number) {
    return { ...this.#request(maxBytes), redirect: 'error' as const }
  }

  async #run(): Promise<void> {
    const { intervalMs, maxIntervalMs } = this.options
    const idle = new Backoff({ minMs: 2 * intervalMs, maxMs: maxIntervalMs })
    let wait: number
    while (!this.#loop.signal.aborted) {
      if (this.needed()) {
        const joined = this.stats.joined
        try {
          await this.round()
        } catch (err) {
          this.#deps.log.warn('bootstrap round failed', { error: String(err) })
        }
        // A small network stays below the minimum for good: rounds that find nobody new
        // back off, so its endpoints and lists are not asked every few seconds forever.
        const found = this.stats.joined > joined
        if (found) idle.reset()
        wait = found ? intervalMs : idle.next()
      } else {
        idle.reset()
        wait = intervalMs
      }
      await this.#loop.sleep(wait)
    }
  }
}
