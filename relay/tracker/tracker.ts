// The tracker core: every swarm this relay tracks, and the announce/scrape semantics of
// BEP 3 (with BEP 23 compact peers and BEP 48 scrape) shared by the HTTP and WebSocket
// front ends. Transport-free: parsers turn requests into `Announce` values, encoders turn
// results back into bytes.

import { Swarm, type Peer, type PeerKind, type SignalSink } from './swarm.ts'

export type AnnounceEvent = '' | 'started' | 'stopped' | 'completed' | 'paused'

export interface Announce {
  kind: PeerKind
  /** 40 hex chars. */
  infoHash: string
  /** 40 hex chars. */
  peerId: string
  ip: string
  port: number
  /** Bytes left; 0 means seeder. */
  left: number
  event: AnnounceEvent
  numwant: number
  sink?: SignalSink
}

export interface AnnounceResult {
  complete: number
  incomplete: number
  peers: Peer[]
}

/** One swarm as relays hand it to each other. */
export interface SwarmState {
  infoHash: string
  downloaded: number
  peers: { id: string; ip: string; port: number; seeder: boolean }[]
}

export interface ScrapeEntry {
  infoHash: string
  complete: number
  incomplete: number
  downloaded: number
}

export interface TrackerOptions {
  /** Seconds between announces we ask of clients. */
  interval: number
  /** Peers not heard from for this many seconds are dropped. */
  peerTtl: number
  /** Most swarms tracked at once; announces for new hashes beyond it are refused. */
  maxSwarms: number
  /** Most peers tracked at once across every swarm. */
  maxPeers: number
  random: () => number
}

export const trackerDefaults: TrackerOptions = {
  interval: 600,
  peerTtl: 1260,
  maxSwarms: 100_000,
  maxPeers: 1_000_000,
  random: Math.random,
}

/** A request the tracker refuses; its message becomes the `failure reason`. */
export class TrackerError extends Error {
  override name = 'TrackerError'
}

export class Tracker {
  readonly options: TrackerOptions
  readonly swarms = new Map<string, Swarm>()
  #peers = 0

  constructor(options: Partial<TrackerOptions> = {}) {
    this.options = { ...trackerDefaults, ...options }
  }

  /** Peers tracked across all swarms. */
  get peerCount(): number {
    return this.#peers
  }

  announce(req: Announce, now: number): AnnounceResult {
    let swarm = this.swarms.get(req.infoHash)
    if (req.event === 'stopped') {
      if (swarm) this.#remove(swarm, req.kind, req.peerId, req.sink)
      return { complete: swarm?.seeders ?? 0, incomplete: swarm?.leechers ?? 0, peers: [] }
    }
    if (!swarm) {
      if (this.swarms.size >= this.options.maxSwarms) {
        throw new TrackerError('tracker is full: too many torrents')
      }
      // Checked here too, so a refused peer leaves no empty swarm behind.
      if (this.#peers >= this.options.maxPeers) {
        throw new TrackerError('tracker is full: too many peers')
      }
      swarm = new Swarm(req.infoHash, now)
      this.swarms.set(req.infoHash, swarm)
    }
    swarm.lastActivity = now

    const set = swarm.set(req.kind)
    const seeder = req.left === 0
    const known = set.get(req.peerId)
    if (known) {
      // A live connection keeps its peer id against others, except from the same address:
      // that is the client itself reconnecting before its old socket timed out.
      if (known.sink && req.sink && known.sink !== req.sink && known.sink.open) {
        if (known.ip !== req.ip) throw new TrackerError('peer_id is in use by another connection')
      }
      const wasSeeder = known.seeder
      if (known.ip !== req.ip || known.port !== req.port || known.compact === null) {
        known.ip = req.ip
        known.port = req.port
        known.compact = req.kind === 'tcp' ? compactPeer(req.ip, req.port) : null
        known.ip4 = ip4Of(known.compact)
      }
      known.seeder = seeder
      known.lastSeen = now
      if (req.sink) known.sink = req.sink
      set.reclassify(known, wasSeeder)
      if (req.event === 'completed' && !wasSeeder) swarm.completed++
    } else {
      if (this.#peers >= this.options.maxPeers) {
        throw new TrackerError('tracker is full: too many peers')
      }
      const compact = req.kind === 'tcp' ? compactPeer(req.ip, req.port) : null
      set.upsert({
        id: req.peerId,
        ip: req.ip,
        port: req.port,
        compact,
        ip4: ip4Of(compact),
        seeder,
        lastSeen: now,
        sink: req.sink ?? null,
      })
      this.#peers++
      if (req.event === 'completed') swarm.completed++
    }

    const peers = set.pick(req.numwant, req.peerId, seeder, this.options.random)
    return { complete: swarm.seeders, incomplete: swarm.leechers, peers }
  }

  /**
   * Removes one peer (a WebSocket closed, or `event=stopped`). With `sink`, only while no other
   * open connection holds the peer id: a client may have reconnected on a new socket, and peer
   * ids are public (every forwarded offer carries one).
   */
  leave(infoHash: string, kind: PeerKind, peerId: string, sink?: SignalSink): void {
    const swarm = this.swarms.get(infoHash)
    if (swarm) this.#remove(swarm, kind, peerId, sink)
  }

  scrape(infoHashes: Iterable<string>): ScrapeEntry[] {
    const out: ScrapeEntry[] = []
    for (const infoHash of infoHashes) {
      const swarm = this.swarms.get(infoHash)
      out.push({
        infoHash,
        complete: swarm?.seeders ?? 0,
        incomplete: swarm?.leechers ?? 0,
        downloaded: swarm?.completed ?? 0,
      })
    }
    return out
  }

  /**
   * The part of a swarm that can move to another relay (relay/supernode/handoff.ts): its
   * classic peers, most recently seen first, at most `maxPeers`, and its completed count.
   * WebRTC peers stay: they are bound to this relay's WebSockets, and are referred to the
   * new owners on their next announce.
   */
  handoffState(infoHash: string, maxPeers: number): SwarmState | undefined {
    const swarm = this.swarms.get(infoHash)
    if (!swarm) return undefined
    const peers = [...swarm.tcp.all()]
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .slice(0, maxPeers)
      .map((p) => ({ id: p.id, ip: p.ip, port: p.port, seeder: p.seeder }))
    return { infoHash, downloaded: swarm.completed, peers }
  }

  /**
   * Takes in a swarm handed off by another relay: each classic peer not known here joins as
   * if it had just announced (so it expires on the usual TTL unless it announces again), and
   * the completed count becomes the larger of the two. Caps hold: peers beyond them are left
   * out. Returns how many peers were added.
   */
  adopt(state: SwarmState, now: number): number {
    let swarm = this.swarms.get(state.infoHash)
    if (!swarm) {
      if (this.swarms.size >= this.options.maxSwarms) return 0
      swarm = new Swarm(state.infoHash, now)
      this.swarms.set(state.infoHash, swarm)
    }
    swarm.lastActivity = now
    swarm.completed = Math.max(swarm.completed, state.downloaded)
    let added = 0
    for (const p of state.peers) {
      if (this.#peers >= this.options.maxPeers) break
      if (swarm.tcp.get(p.id)) continue
      const compact = compactPeer(p.ip, p.port)
      if (compact === null) continue
      const peer = { id: p.id, ip: p.ip, port: p.port, compact, ip4: ip4Of(compact) }
      swarm.tcp.upsert({ ...peer, seeder: p.seeder, lastSeen: now, sink: null })
      this.#peers++
      added++
    }
    return added
  }

  /** Forgets what handoffState gave away: the classic peers and the completed count. The
   * swarm itself goes once no WebRTC peer is left in it. */
  release(infoHash: string): void {
    const swarm = this.swarms.get(infoHash)
    if (!swarm) return
    for (const peer of [...swarm.tcp.all()]) {
      swarm.tcp.remove(peer.id)
      this.#peers--
    }
    swarm.completed = 0
    if (swarm.rtc.size === 0) this.swarms.delete(infoHash)
  }

  /**
   * Drops peers silent for longer than the TTL, and swarms that have been empty for as long
   * (their completed count goes with them). Call it every few seconds or minutes.
   */
  sweep(now: number): { peers: number; swarms: number } {
    const cutoff = now - this.options.peerTtl * 1000
    let peers = 0
    let swarms = 0
    for (const [infoHash, swarm] of this.swarms) {
      peers += swarm.tcp.expire(cutoff) + swarm.rtc.expire(cutoff)
      if (swarm.size === 0 && swarm.lastActivity < cutoff) {
        this.swarms.delete(infoHash)
        swarms++
      }
    }
    this.#peers -= peers
    return { peers, swarms }
  }

  #remove(swarm: Swarm, kind: PeerKind, peerId: string, sink?: SignalSink): void {
    const set = swarm.set(kind)
    const held = set.get(peerId)?.sink
    if (sink && held && held !== sink && held.open) return
    if (set.remove(peerId)) this.#peers--
  }
}

/** The address in a 6-byte compact form as an unsigned 32-bit number; -1 for anything else. */
function ip4Of(c: Uint8Array | null): number {
  if (c === null || c.length !== 6) return -1
  return ((c[0] << 24) | (c[1] << 16) | (c[2] << 8) | c[3]) >>> 0
}

/** BEP 23 (IPv4, 6 bytes) or BEP 7 (IPv6, 18 bytes) compact form of an address. */
export function compactPeer(ip: string, port: number): Uint8Array | null {
  const v4 = parseIPv4(ip)
  if (v4) {
    const out = new Uint8Array(6)
    out.set(v4, 0)
    out[4] = port >>> 8
    out[5] = port & 0xff
    return out
  }
  const v6 = parseIPv6(ip)
  if (!v6) return null
  const out = new Uint8Array(18)
  out.set(v6, 0)
  out[16] = port >>> 8
  out[17] = port & 0xff
  return out
}

export function parseIPv4(ip: string): Uint8Array | null {
  // Four dot-separated decimal parts of 1-3 digits, each at most 255; a loop rather than
  // split() and a RegExp per part, since this runs on every HTTP announce.
  if (ip.length < 7 || ip.length > 15) return null
  const out = new Uint8Array(4)
  let part = 0
  let value = 0
  let digits = 0
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i)
    if (c === 0x2e /* . */) {
      if (digits === 0 || part === 3) return null
      out[part++] = value
      value = 0
      digits = 0
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      value = value * 10 + (c - 0x30)
      if (value > 255) return null
      digits++
    } else {
      return null
    }
  }
  if (digits === 0 || part !== 3) return null
  out[3] = value
  return out
}

export function parseIPv6(ip: string): Uint8Array | null {
  if (!ip.includes(':') || ip.includes('%')) return null
  const halves = ip.split('::')
  if (halves.length > 2) return null
  const head = halves[0] ? halves[0].split(':') : []
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : []
  const groups = [...head, ...tail]
  const missing = 8 - groups.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null
  const all = [...head, ...new Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]
  const out = new Uint8Array(16)
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(all[i])) return null
    const n = parseInt(all[i], 16)
    out[i * 2] = n >>> 8
    out[i * 2 + 1] = n & 0xff
  }
  return out
}

/** `::ffff:1.2.3.4` → `1.2.3.4`, so dual-stack sockets give IPv4 peers a compact IPv4 form. */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip
}

/**
 * The peer's address: the socket's, or with `trustProxy` the last X-Forwarded-For entry
 * (the one our own proxy appended; anything left of it came from the client).
 */
export function clientIp(
  remoteAddress: string,
  forwardedFor: unknown,
  trustProxy: boolean,
): string {
  if (trustProxy && typeof forwardedFor === 'string') {
    const parts = forwardedFor.split(',')
    const last = parts[parts.length - 1].trim()
    if (last) return normalizeIp(last)
  }
  return normalizeIp(remoteAddress)
}
