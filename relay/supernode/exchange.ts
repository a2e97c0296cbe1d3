// How relays learn every supernode (ARCHITECTURE.md, "Supernodes, lookups and load"): each
// round, a relay pushes its own record to its --peer relays (POST /v1/supernodes), then
// pulls GET /v1/hello and GET /v1/supernodes from its peers and from supernodes it has
// learned, offering every record to the directory, which verifies it. Pushes carry a
// relay's record to peers that do not list it; pulls carry everything else, so a relay
// learns the whole network transitively, one hop per round.
//
// Bounds: at most MAX_EXCHANGE_TARGETS relays pulled per round (the peers first, then
// learned ones at random); every request has a timeout and a byte cap (peering/peer-fetch.ts); a
// relay that fails is skipped with exponential backoff and jitter, up to PEER_MAX_BACKOFF_MS.
//
// Roots (shared/admission.ts): a relay takes the roots its --peer relays name. Relays that
// name each other with --peer and none of which knows a root (two operators starting a
// network together) would wait forever: after ROOTLESS_ROUNDS rounds in which every peer
// answered and named no root, the supernode with the lowest id among them seeds the
// network, and the others take its root from its next answer.
//
// Failover: every pull of a known supernode is reported to the directory by node id, which
// leaves it out of the owner set after MAX_MISSED_CONTACTS failures in a row. Such nodes are
// still pulled (at their backoff), so one that comes back rejoins. Graceful leave: `leave`
// pushes a demoted record to every supernode known, within LEAVE_PUSH_BUDGET_MS (`publish`, which
// also carries a promotion or a demotion at once rather than at the next round).

import { BackgroundLoop } from '../../shared/background-loop.ts'
import type { Logger } from '../log.ts'
import type { PeerTransport } from '../peering/peer-fetch.ts'
import { Backoff } from '../../shared/backoff.ts'
import type { SupernodeRecord } from '../../shared/supernode.ts'
import {
  LEAVE_PUSH_BUDGET_MS,
  MAX_EXCHANGE_TARGETS,
  MAX_KNOWN_SUPERNODES,
  MAX_LEAVE_PUSHES,
  MAX_HELLO_ANSWER_BYTES,
  MAX_SUPERNODES_ANSWER_BYTES,
  PEER_MAX_BACKOFF_MS,
  SUPERNODE_REQUEST_TIMEOUT_MS,
} from '../limits.ts'
import type { SupernodeDirectory } from './directory.ts'

export interface SupernodeExchangeOptions {
  intervalMs: number
  timeoutMs: number
  maxTargets: number
  maxBackoffMs: number
  random: () => number
}

export interface SupernodeExchangeDeps {
  directory: SupernodeDirectory
  /** The --peer relays (origins), this relay's own URL left out. */
  peers: readonly string[]
  log: Logger
  /** How requests to other relays travel (sealed over plain HTTP: relay/sealed/transport.ts). */
  transport: PeerTransport
  /** Told of every relay contacted, and whether it answered well (the host cache listens). */
  onContact?: (url: string, ok: boolean) => void
  /** Whether a learned supernode's URL may be contacted (the host cache's validation): a
   * record anyone can sign must not make this relay probe its own machine or LAN. */
  mayContact?: (url: string) => boolean
}

/** Rounds of rootless answers from every --peer before the lowest id seeds the network. */
export const ROOTLESS_ROUNDS = 3

export class SupernodeExchange {
  readonly options: SupernodeExchangeOptions
  readonly stats = { rounds: 0, pulls: 0, failures: 0, added: 0, refused: 0 }
  readonly #deps: SupernodeExchangeDeps
  readonly #backoff = new Map<string, Backoff>()
  /** Node ids of the --peer relays, from their hellos: not pulled again under their
   * published URL, which may spell the same relay differently. */
  readonly #peerIds = new Map<string, string>()
  /** Node id behind each URL pulled this round (learned ones, and peers once known). */
  #idByUrl = new Map<string, string>()
  /** Whether each --peer's last answer named a root. */
  readonly #peerNamedRoot = new Map<string, boolean>()
  #rootlessRounds = 0
  readonly #loop = new BackgroundLoop()

  constructor(deps: SupernodeExchangeDeps, options: Partial<SupernodeExchangeOptions> = {}) {
    this.#deps = deps
    this.options = {
      intervalMs: 30_000,
      timeoutMs: SUPERNODE_REQUEST_TIMEOUT_MS,
      maxTargets: MAX_EXCHANGE_TARGETS,
      maxBackoffMs: PEER_MAX_BACKOFF_MS,
      random: Math.random,
      ...options,
    }
  }

  start(): void {
    this.#loop.start(() => this.#run())
  }

  async stop(): Promise<void> {
    await this.#loop.stop()
  }

  /** One round: push our record to the peers, pull from up to maxTargets relays. */
  async round(): Promise<void> {
    const { directory, peers } = this.#deps
    const nowMs = Date.now()
    directory.prune(Math.floor(nowMs / 1000))
    const self = directory.live(Math.floor(nowMs / 1000))[0]
    const body = JSON.stringify({ records: [self] })
    // Computed before the pushes: a peer whose push fails now is still pulled this round.
    const targets = this.#targets(nowMs)
    const due = peers.filter((peer) => !this.#backoff.get(peer)?.wait(nowMs))
    await Promise.all([
      ...due.map((peer) => this.#attempt(peer, () => this.#push(peer, body))),
      ...targets.map((url) => this.#attempt(url, () => this.#pull(url), true)),
    ])
    this.stats.rounds++
    this.#seedIfRootless(nowMs)
    this.#deps.log.debug('supernode round', { pushed: peers.length, pulled: targets })
  }

  /** Seeds the network when this supernode and its --peer relays know no root (see top). */
  #seedIfRootless(nowMs: number): void {
    const { directory, peers, log } = this.#deps
    const self = directory.live(Math.floor(nowMs / 1000))[0]
    const rootless =
      directory.roots.size === 0 &&
      self.role === 'supernode' &&
      peers.length > 0 &&
      peers.every((peer) => this.#peerNamedRoot.get(peer) === false)
    this.#rootlessRounds = rootless ? this.#rootlessRounds + 1 : 0
    if (this.#rootlessRounds < ROOTLESS_ROUNDS) return
    const peerIds = [...this.#peerIds.values()]
    if (peerIds.length < peers.length || peerIds.some((id) => id <= self.id)) return
    directory.adoptRoots([self.id])
    log.info('seeding the network: no --peer names a root', { id: self.id })
  }

  /** The peers, then learned supernodes (unreachable ones too) at random, skipping any in
   * backoff; bounded. */
  #targets(nowMs: number): string[] {
    const { directory, peers } = this.#deps
    const nowSeconds = Math.floor(nowMs / 1000)
    const [me, ...others] = directory.live(nowSeconds)
    others.push(...directory.unreachable(nowSeconds))
    const own = new Set(me.urls)
    const peerIds = new Set(this.#peerIds.values())
    this.#idByUrl = new Map([...this.#peerIds].filter(([url]) => peers.includes(url)))
    const learned = others
      .filter((r) => !peerIds.has(r.id))
      .filter((r) => !peers.includes(r.urls[0]) && !own.has(r.urls[0]))
      .filter((r) => this.#deps.mayContact?.(r.urls[0]) ?? true)
      .map((r) => {
        this.#idByUrl.set(r.urls[0], r.id)
        return r.urls[0]
      })
    for (let i = learned.length - 1; i > 0; i--) {
      const j = Math.floor(this.options.random() * (i + 1))
      ;[learned[i], learned[j]] = [learned[j], learned[i]]
    }
    const all = [...peers, ...learned]
    // Forget backoff state for relays no longer listed, so the map stays bounded.
    const listed = new Set(all)
    for (const url of this.#backoff.keys()) if (!listed.has(url)) this.#backoff.delete(url)
    return all
      .filter((url) => !this.#backoff.get(url)?.wait(nowMs))
      .slice(0, this.options.maxTargets)
  }

  async #attempt(url: string, work: () => Promise<void>, pull = false): Promise<void> {
    try {
      await work()
      this.#backoff.delete(url)
      this.#deps.onContact?.(url, true)
      if (pull) this.#reportLiveness(url, true)
    } catch (err) {
      if (this.#loop.signal.aborted) return
      this.stats.failures++
      this.#deps.onContact?.(url, false)
      if (pull) this.#reportLiveness(url, false)
      const { intervalMs, maxBackoffMs, random } = this.options
      const backoff =
        this.#backoff.get(url) ??
        new Backoff({ minMs: 2 * intervalMs, maxMs: maxBackoffMs, jitter: 0.5, random })
      this.#backoff.set(url, backoff)
      const wait = backoff.defer(Date.now())
      this.#deps.log.debug('supernode exchange failed', {
        url,
        error: String(err),
        retryInMs: Math.round(wait),
      })
    }
  }

  /** Tells the directory whether the supernode behind `url` answered a pull. */
  #reportLiveness(url: string, ok: boolean): void {
    const id = this.#idByUrl.get(url) ?? this.#peerIds.get(url)
    if (id === undefined) return
    const { directory, log } = this.#deps
    const was = directory.reachable(id)
    const now = directory.contacted(id, ok)
    if (was && !now) log.warn('supernode unreachable, left out of the owner set', { id, url })
    else if (!was && now) log.info('supernode reachable again', { id, url })
  }

  /** Pushes `record` (our record after a role change: a promotion, a demotion, a graceful
   * leave) to the peers and every supernode known, at most MAX_LEAVE_PUSHES of them, all
   * within `budgetMs` (best effort). Returns how many relays took it. */
  async publish(record: SupernodeRecord, budgetMs = LEAVE_PUSH_BUDGET_MS): Promise<number> {
    const { directory, peers } = this.#deps
    const nowSeconds = Math.floor(Date.now() / 1000)
    const [me, ...others] = directory.live(nowSeconds)
    const own = new Set([...me.urls, ...record.urls])
    const peerIds = new Set(this.#peerIds.values())
    const learned = others
      .filter((r) => !peerIds.has(r.id))
      .map((r) => r.urls[0])
      .filter((url) => this.#deps.mayContact?.(url) ?? true)
    const targets = [...new Set([...peers, ...learned])]
      .filter((url) => !own.has(url))
      .slice(0, MAX_LEAVE_PUSHES)
    const body = JSON.stringify({ records: [record] })
    const signal = AbortSignal.timeout(budgetMs)
    const results = await Promise.allSettled(
      targets.map((url) => this.#push(url, body, signal, budgetMs)),
    )
    return results.filter((r) => r.status === 'fulfilled').length
  }

  async #push(
    peer: string,
    body: string,
    signal = this.#loop.signal,
    timeoutMs = this.options.timeoutMs,
  ): Promise<void> {
    await this.#deps.transport.fetchJson(`${peer}/v1/supernodes`, {
      method: 'POST',
      body,
      timeoutMs,
      maxBytes: MAX_HELLO_ANSWER_BYTES,
      signal,
    })
  }

  async #pull(url: string): Promise<void> {
    const request = { timeoutMs: this.options.timeoutMs, signal: this.#loop.signal }
    const { transport } = this.#deps
    const [hello, list] = await Promise.all([
      transport.fetchJson(`${url}/v1/hello`, { ...request, maxBytes: MAX_HELLO_ANSWER_BYTES }),
      transport.fetchJson(`${url}/v1/supernodes`, {
        ...request,
        maxBytes: MAX_SUPERNODES_ANSWER_BYTES,
      }),
    ])
    const records = (list as { supernodes?: unknown } | null)?.supernodes
    if (!Array.isArray(records)) throw new Error(`${url}/v1/supernodes: no supernodes list`)
    this.stats.pulls++
    const source = new URL(url).hostname
    const nowSeconds = Math.floor(Date.now() / 1000)
    const offered = [hello, ...records.slice(0, MAX_KNOWN_SUPERNODES)]
    for (const value of offered) {
      const result = this.#deps.directory.offer(value, source, nowSeconds)
      if (value === hello && result.outcome !== 'refused' && this.#deps.peers.includes(url)) {
        this.#peerIds.set(url, result.id)
      }
      if (result.outcome === 'added') {
        this.stats.added++
        this.#deps.log.info('supernode learned', { id: result.id, from: url })
      } else if (result.outcome === 'refused') {
        this.stats.refused++
        this.#deps.log.debug('supernode record refused', { from: url, code: result.code })
      }
    }
    // Admissions (shared/admission.ts); roots only from the relays the operator named.
    const peer = this.#deps.peers.includes(url)
    this.#deps.directory.takeAdmissions(list, nowSeconds, peer)
    if (peer) {
      const roots = (list as { roots?: unknown }).roots
      this.#peerNamedRoot.set(url, Array.isArray(roots) && roots.length > 0)
    }
  }

  async #run(): Promise<void> {
    while (!this.#loop.signal.aborted) {
      try {
        await this.round()
      } catch (err) {
        this.#deps.log.warn('supernode exchange round failed', { error: String(err) })
      }
      const wait = this.options.intervalMs * (0.75 + this.options.random() / 2)
      await this.#loop.sleep(wait)
    }
  }
}
