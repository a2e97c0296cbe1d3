// The bridge to classic BitTorrent (ARCHITECTURE.md, "Bridge to classic BitTorrent"): one
// hybrid WebTorrent client in the relay that joins a hash's swarm on both sides, TCP and uTP
// towards classic clients and WebRTC (node-datachannel, through webrtc-polyfill) towards
// browsers. Pieces pass through on their own: what it downloads from one side it offers the
// other as soon as the piece is verified. Classic connections prefer BitTorrent protocol
// encryption (MSE/PE, WebTorrent's `secure: 1`: it offers RC4 and falls back to plaintext
// for peers without it), and are dialed over TCP before uTP. WebTorrent is reached through
// the engine seam (app/lib/engine/hybrid.ts). Bounded by the ledger (ledger.ts): torrents,
// disk, memory, evicting the least recently used; bandwidth by WebTorrent's throttle groups.

import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { BoundedMap } from '../../shared/bounded-map.ts'
import {
  BRIDGE_AUTO_RETRY_MS,
  BRIDGE_CHECK_INTERVAL_MS,
  BRIDGE_WAITING_MS,
  MAX_BRIDGE_REFUSALS,
  MAX_BRIDGE_WAITING,
} from '../limits.ts'
import type { Logger } from '../log.ts'
import { BridgeAnnounceSchedule, type SidePeers } from './announce-schedule.ts'
import { BridgeFullError, BridgeLedger, type BridgeLimits } from './ledger.ts'
import {
  announceHybrid,
  createHybridClient,
  resendHandshakes,
  type HybridClient,
  type HybridTorrent,
} from '../../app/lib/engine/hybrid.ts'

export interface BridgeOptions {
  /** The relay's data directory: torrents are stored under `bridge/` in it. */
  dataDir: string
  limits: BridgeLimits
  /** Bytes/s downloaded, and as many uploaded, over all torrents; 0 for no limit. */
  maxRate: number
  /** TCP and uTP port for classic peers (0: a free one). */
  port: number
  dht: boolean
  lsd: boolean
  /** STUN/TURN servers for the WebRTC side (the relay's --ice-server list). */
  iceServers: string[]
  /** The address ICE binds to (a relay listening on one address keeps WebRTC on it). */
  bindAddress?: string
}

export interface BridgeDeps {
  log: Logger
  /** The trackers to announce a hash to (trackers.ts). */
  trackers(infoHash: string): string[]
  /** Seeders this relay's tracker knows for a hash, by kind; null when it tracks none. */
  seeders(infoHash: string): { tcp: number; rtc: number } | null
  /** The relay's resident memory, in bytes. */
  memory?: () => number
  now?: () => number
}

/** What to bridge: a hash, with the .torrent or magnet it came with (parse-torrent's
 * object) and their trackers, already filtered (trackers.ts, bodyTrackers). */
export interface BridgeRequest {
  infoHash: string
  torrent?: object
  trackers?: string[]
  /** The torrent's length, when a .torrent file gave it. */
  length?: number
}

export type BridgeReason = 'request' | 'classic-announce'

export interface BridgedTorrent {
  infoHash: string
  name: string
  /** 0 until the metadata arrives. */
  length: number
  progress: number
  downloadSpeed: number
  uploadSpeed: number
  downloaded: number
  uploaded: number
  /** Connected peers: classic (TCP, uTP) and browsers (WebRTC). */
  peers: { classic: number; webrtc: number }
  state: 'metadata' | 'downloading' | 'seeding'
  reason: BridgeReason
  addedAt: number
  lastUsed: number
}

interface Held {
  torrent: HybridTorrent
  reason: BridgeReason
  addedAt: number
  /** Announces again soon while a side has no peer, and at once to meet a classic seed. */
  schedule: BridgeAnnounceSchedule
}

/** How often the bridge looks for torrents with a side that has no peer, to announce them
 * again (announce-schedule.ts: 2 s doubling to a minute, and at once when the relay's tracker
 * counts a new classic seed). A classic seed that announced after the bridge is found within
 * a second or two, not at the next interval (600 s on a classic tracker). */
const REANNOUNCE_CHECK_MS = 1_000

export class Bridge {
  readonly ledger: BridgeLedger
  readonly #opts: BridgeOptions
  readonly #deps: Required<BridgeDeps>
  readonly #store: string
  readonly #held = new Map<string, Held>()
  /** Hashes automatic bridging could not take lately, with when: not retried before
   * BRIDGE_AUTO_RETRY_MS (Map order is age order). */
  readonly #refused = new BoundedMap<string, number>({
    maxSize: MAX_BRIDGE_REFUSALS,
    order: 'oldest',
  })
  /** Hashes classic clients announced while nobody seeded them, with when (Map order is
   * age order): checked each REANNOUNCE_CHECK_MS for a browser seeder (#bridgeWaiting). */
  readonly #waiting = new BoundedMap<string, number>({
    maxSize: MAX_BRIDGE_WAITING,
    order: 'oldest',
  })
  #client: HybridClient | null = null
  #timer: ReturnType<typeof setInterval> | null = null
  #reannounceTimer: ReturnType<typeof setInterval> | null = null

  constructor(opts: BridgeOptions, deps: BridgeDeps) {
    this.#opts = opts
    this.#deps = { memory: () => process.memoryUsage.rss(), now: Date.now, ...deps }
    this.ledger = new BridgeLedger(opts.limits)
    this.#store = join(opts.dataDir, 'bridge')
  }

  /** Loads WebTorrent (only a bridging relay pays for it) and starts listening for peers.
   * Data left by an earlier run is a cache of nothing anyone asked for since: deleted. */
  async start(): Promise<number> {
    rmSync(this.#store, { recursive: true, force: true })
    mkdirSync(this.#store, { recursive: true })
    const opts = this.#opts
    const client = await createHybridClient({
      torrentPort: opts.port,
      dht: opts.dht,
      lsd: opts.lsd,
      rate: opts.maxRate > 0 ? opts.maxRate : -1,
      iceServers: opts.iceServers,
      bindAddress: opts.bindAddress,
    })
    this.#client = client
    client.on('error', (err: Error) =>
      this.#deps.log.warn('bridge client error', { error: err.message }),
    )
    await new Promise<void>((resolve) => {
      if (client.address()) resolve()
      else client.once('listening', () => resolve())
    })
    this.#timer = setInterval(() => this.#check(), BRIDGE_CHECK_INTERVAL_MS)
    this.#timer.unref()
    this.#reannounceTimer = setInterval(() => {
      this.#reannounceLonely()
      this.#bridgeWaiting()
    }, REANNOUNCE_CHECK_MS)
    this.#reannounceTimer.unref()
    return client.address()?.port ?? 0
  }

  has(infoHash: string): boolean {
    return this.#held.has(infoHash)
  }

  /**
   * Bridges a hash (or marks it used when it already is), evicting the least recently used
   * as the limits require. Throws BridgeFullError when it cannot be taken now.
   */
  add(req: BridgeRequest, reason: BridgeReason = 'request'): BridgedTorrent {
    const client = this.#client
    if (!client) throw new Error('the bridge is not started')
    const now = this.#deps.now()
    const evict = this.ledger.admit(req.infoHash, now, this.#deps.memory(), req.length ?? 0)
    for (const hash of evict) this.#drop(hash, 'evicted (least recently used)')
    const held = this.#held.get(req.infoHash)
    if (held) return this.#view(req.infoHash, held)

    const announce = [...new Set([...this.#deps.trackers(req.infoHash), ...(req.trackers ?? [])])]
    const torrentId = req.torrent ? { ...req.torrent, announce } : req.infoHash
    const torrent = client.add(torrentId, {
      announce,
      path: join(this.#store, req.infoHash),
    })
    const schedule = new BridgeAnnounceSchedule(this.#classicSeeders(req.infoHash))
    const entry: Held = { torrent, reason, addedAt: now, schedule }
    this.#held.set(req.infoHash, entry)
    torrent.once('metadata', () => this.#onMetadata(req.infoHash, torrent))
    torrent.once('ready', () => setImmediate(() => resendHandshakes(torrent)))
    torrent.on('error', (err: Error) => {
      this.#deps.log.warn('bridged torrent failed', { infoHash: req.infoHash, error: err.message })
      this.#drop(req.infoHash, 'failed')
    })
    this.#deps.log.info('bridging', { infoHash: req.infoHash, reason, trackers: announce })
    return this.#view(req.infoHash, entry)
  }

  /**
   * A classic client announced a hash over HTTP: when browsers seed it and no classic peer
   * does, the bridge joins so the classic client can download it. When nobody seeds it yet,
   * the hash waits a while for a browser seeder (#bridgeWaiting): a tab that has just shared
   * a file may announce it a moment after the magnet link reached a classic client. Never
   * throws.
   */
  onClassicAnnounce(infoHash: string): void {
    if (!this.#client || this.#held.has(infoHash)) return
    const seeders = this.#deps.seeders(infoHash)
    if (!seeders || (seeders.rtc === 0 && seeders.tcp === 0)) {
      this.#waiting.set(infoHash, this.#deps.now())
      return
    }
    this.#bridgeIfBrowsersOnly(infoHash, seeders)
  }

  /** Bridges a hash only browsers seed, unless it was refused lately. */
  #bridgeIfBrowsersOnly(infoHash: string, seeders: { tcp: number; rtc: number }): void {
    if (seeders.rtc === 0 || seeders.tcp > 0) return
    const now = this.#deps.now()
    const refusedAt = this.#refused.get(infoHash)
    if (refusedAt !== undefined && now - refusedAt < BRIDGE_AUTO_RETRY_MS) return
    try {
      this.add({ infoHash }, 'classic-announce')
    } catch (err) {
      if (!(err instanceof BridgeFullError)) throw err
      this.#refused.set(infoHash, now)
      this.#deps.log.info('not bridged', { infoHash, reason: err.reason, error: err.message })
    }
  }

  list(): BridgedTorrent[] {
    return this.ledger
      .entries()
      .reverse()
      .flatMap((e) => {
        const held = this.#held.get(e.infoHash)
        return held ? [this.#view(e.infoHash, held)] : []
      })
  }

  get port(): number {
    return this.#client?.address()?.port ?? 0
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    if (this.#reannounceTimer) clearInterval(this.#reannounceTimer)
    const client = this.#client
    this.#client = null
    this.#held.clear()
    this.#waiting.clear()
    if (client) await new Promise<void>((resolve) => client.destroy(() => resolve()))
    rmSync(this.#store, { recursive: true, force: true })
  }

  #onMetadata(infoHash: string, torrent: HybridTorrent): void {
    if (this.#held.get(infoHash)?.torrent !== torrent) return
    try {
      const evict = this.ledger.setBytes(infoHash, torrent.length, this.#deps.now())
      for (const hash of evict) this.#drop(hash, 'evicted (least recently used)')
    } catch (err) {
      if (!(err instanceof BridgeFullError)) throw err
      this.#deps.log.info('not bridged', { infoHash, reason: err.reason, error: err.message })
      this.#drop(infoHash, err.message)
    }
  }

  /** Marks torrents moving bytes as used, and evicts idle ones while memory is over. */
  #check(): void {
    const now = this.#deps.now()
    for (const [infoHash, { torrent }] of this.#held) {
      if (torrent.downloadSpeed > 0 || torrent.uploadSpeed > 0) this.ledger.touch(infoHash, now)
    }
    const over = this.ledger.overMemory(now, this.#deps.memory())
    if (over) this.#drop(over, 'evicted (memory)')
  }

  /** Announces again, soon, each torrent with no peer on a side: the bridge exists to join
   * both, and a side found empty at the first announce may fill a moment later. */
  #reannounceLonely(): void {
    const now = this.#deps.now()
    for (const [infoHash, { torrent, schedule }] of this.#held) {
      if (torrent.destroyed) continue
      const check = {
        connected: peersOf(torrent),
        done: torrent.done,
        classicSeeders: this.#classicSeeders(infoHash),
      }
      if (schedule.check(now, check)) announceHybrid(torrent)
    }
  }

  /** The hashes classic clients wait for: bridged once a browser seeds one and no classic
   * peer does; forgotten once a classic peer seeds it, it is bridged otherwise, or after
   * BRIDGE_WAITING_MS (the client has announced again by then, and is judged anew). */
  #bridgeWaiting(): void {
    if (this.#waiting.size === 0) return
    const now = this.#deps.now()
    for (const [infoHash, at] of [...this.#waiting]) {
      const seeders = this.#deps.seeders(infoHash)
      if (now - at > BRIDGE_WAITING_MS || this.#held.has(infoHash) || (seeders?.tcp ?? 0) > 0) {
        this.#waiting.delete(infoHash)
      } else if (seeders && seeders.rtc > 0) {
        this.#waiting.delete(infoHash)
        try {
          this.#bridgeIfBrowsersOnly(infoHash, seeders)
        } catch (err) {
          this.#deps.log.warn('bridging a waited-for hash failed', {
            infoHash,
            error: err instanceof Error ? err.message : String(err),
          })
        }
      }
    }
  }

  #classicSeeders(infoHash: string): number {
    return this.#deps.seeders(infoHash)?.tcp ?? 0
  }

  /** Destroys a torrent and deletes its data. */
  #drop(infoHash: string, why: string): void {
    this.ledger.remove(infoHash)
    const held = this.#held.get(infoHash)
    if (!held) return
    this.#held.delete(infoHash)
    this.#deps.log.info('bridge dropped', { infoHash, why })
    const path = join(this.#store, infoHash)
    const done = () => rmSync(path, { recursive: true, force: true })
    if (held.torrent.destroyed || !this.#client) return done()
    this.#client.remove(held.torrent, { destroyStore: true }, done)
  }

  #view(infoHash: string, { torrent, reason, addedAt }: Held): BridgedTorrent {
    const ready = torrent.ready && !torrent.destroyed
    return {
      infoHash,
      name: torrent.name ?? '',
      length: ready ? torrent.length : 0,
      progress: ready ? torrent.progress : 0,
      downloadSpeed: Math.round(torrent.downloadSpeed),
      uploadSpeed: Math.round(torrent.uploadSpeed),
      downloaded: torrent.downloaded,
      uploaded: torrent.uploaded,
      peers: peersOf(torrent),
      state: !ready ? 'metadata' : torrent.done ? 'seeding' : 'downloading',
      reason,
      addedAt,
      lastUsed: this.ledger.get(infoHash)?.lastUsed ?? addedAt,
    }
  }
}

/** Connected peers of a bridged torrent: classic (TCP, uTP) and browsers (WebRTC). */
function peersOf(torrent: HybridTorrent): SidePeers {
  let webrtc = 0
  for (const wire of torrent.wires) if (wire.type === 'webrtc') webrtc++
  return { classic: torrent.wires.length - webrtc, webrtc }
}
