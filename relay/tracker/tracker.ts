// The tracker core: every swarm this relay tracks, and the announce/scrape semantics of
// BEP 3 (with BEP 23 compact peers and BEP 48 scrape) shared by the HTTP and WebSocket
// front ends. Transport-free: parsers turn requests into `Announce` values, encoders turn
// results back into bytes.

import { MAX_PEERS_PER_ADDRESS, MAX_TORRENTS_PER_ADDRESS } from '../limits.ts'
import { quietRefusals, type RefusalReason, type Refusals } from '../refusals.ts'
import { compactPeer, ip4Of } from './addresses.ts'
import { Holdings, addressKey } from './holdings.ts'
import { Swarm, type Peer, type PeerKind, type PeerSet, type SignalSink } from './swarm.ts'

export { clientIp, compactPeer, normalizeIp, parseIPv4, parseIPv6 } from './addresses.ts'

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
  /** Most swarms tracked at once; beyond it a new one takes the place of the oldest swarm of
   * the address that created the most, or is refused. */
  maxSwarms: number
  /** Most peers tracked at once across every swarm; beyond it likewise. */
  maxPeers: number
  /** Swarms one address (holdings.ts addressKey) may have created and still held here. */
  maxSwarmsPerAddress: number
  /** Peer entries one address may hold across every swarm. */
  maxPeersPerAddress: number
  random: () => number
}

export const trackerDefaults: TrackerOptions = {
  interval: 600,
  peerTtl: 1260,
  maxSwarms: 100_000,
  maxPeers: 1_000_000,
  maxSwarmsPerAddress: MAX_TORRENTS_PER_ADDRESS,
  maxPeersPerAddress: MAX_PEERS_PER_ADDRESS,
  random: Math.random,
}

/** A request the tracker refuses; its message becomes the `failure reason`. */
export class TrackerError extends Error {
  override name = 'TrackerError'
}

/**
 * A peer as its swarm knows it. A classic peer is its peer id together with the address it
 * announced from, as trackers key them: peer ids are no secret (any client of the swarm sees
 * them in handshakes), so an announce or a stop with someone's id from another address makes
 * a second entry, or nothing, and never moves or evicts theirs. The first to announce an id is
 * filed under the id alone and a second address under id and address, so the common
 * re-announce costs one lookup by a string already at hand, no concatenation.
 * A WebRTC peer is its peer id alone: offers are routed to it by id, and the id is bound to the
 * socket that announced it.
 */
function findPeer(set: PeerSet, kind: PeerKind, peerId: string, ip: string): Peer | undefined {
  const peer = set.get(peerId)
  if (kind === 'rtc' || (peer !== undefined && peer.ip === ip)) return peer
  return set.aliased > 0 ? set.get(peerId + ip) : undefined
}

/** The key a new peer is filed under in `set` (see findPeer). */
function newPeerKey(set: PeerSet | undefined, kind: PeerKind, peerId: string, ip: string): string {
  return kind === 'tcp' && set?.get(peerId) !== undefined ? peerId + ip : peerId
}

export class Tracker {
  readonly options: TrackerOptions
  readonly swarms = new Map<string, Swarm>()
  #peers = 0
  /** Swarms by the address that created them, and peers by the address they came from. */
  readonly #created = new Holdings<Swarm>()
  readonly #held = new Holdings<Peer>()

  constructor(
    options: Partial<TrackerOptions> = {},
    /** Where refusals for a budget or for abuse are counted (relay/refusals.ts). */
    readonly refusals: Refusals = quietRefusals(),
  ) {
    this.options = { ...trackerDefaults, ...options }
  }

  /** Peers tracked across all swarms. */
  get peerCount(): number {
    return this.#peers
  }

  announce(req: Announce, now: number): AnnounceResult {
    let swarm = this.swarms.get(req.infoHash)
    const known = swarm && findPeer(swarm.set(req.kind), req.kind, req.peerId, req.ip)
    if (req.event === 'stopped') {
      if (swarm && known) this.#stop(swarm, req, known)
      return { complete: swarm?.seeders ?? 0, incomplete: swarm?.leechers ?? 0, peers: [] }
    }

    const seeder = req.left === 0
    let key: string
    if (swarm && known) {
      key = known.key
      // A WebRTC peer id is bound to the open socket that announced it against other
      // addresses. From the same address a second socket may take it over: one client reaches
      // one relay under two tracker URLs (its origin, and the URL the relay publishes, as the
      // app and the bridge do), with one peer id, and re-homing closes the first socket.
      if (takenByOther(known, req)) {
        this.#refuse('peer-id-taken', addressKey(req.ip), req.infoHash)
        throw new TrackerError('peer_id is in use by another connection')
      }
      const wasSeeder = known.seeder
      if (known.ip !== req.ip || known.port !== req.port || known.compact === null) {
        // Only a WebRTC peer taking over the id of a closed socket changes address here.
        if (known.ip !== req.ip) this.#charge(known, addressKey(req.ip))
        known.ip = req.ip
        known.port = req.port
        known.compact = req.kind === 'tcp' ? compactPeer(req.ip, req.port) : null
        known.ip4 = ip4Of(known.compact)
      }
      known.seeder = seeder
      known.lastSeen = now
      if (req.sink) known.sink = req.sink
      swarm.set(req.kind).reclassify(known, wasSeeder)
      if (req.event === 'completed' && !wasSeeder) swarm.completed++
      swarm.lastActivity = now
    } else {
      key = newPeerKey(swarm?.set(req.kind), req.kind, req.peerId, req.ip)
      swarm = this.#join(req, key, swarm, now)
    }

    const set = swarm.set(req.kind)
    const peers = set.pick(req.numwant, key, seeder, this.options.random)
    return { complete: swarm.seeders, incomplete: swarm.leechers, peers }
  }

  /** A new peer, in a new swarm if need be, within the budgets; returns its swarm. */
  #join(req: Announce, key: string, swarm: Swarm | undefined, now: number): Swarm {
    const source = addressKey(req.ip)
    const { maxSwarms, maxPeers, maxSwarmsPerAddress, maxPeersPerAddress } = this.options
    if (this.#held.count(source) >= maxPeersPerAddress) {
      this.#refuse('peers-per-address', source, req.infoHash)
      throw new TrackerError('too many peers from your address')
    }
    if (!swarm) {
      if (this.#created.count(source) >= maxSwarmsPerAddress) {
        this.#refuse('torrents-per-address', source, req.infoHash)
        throw new TrackerError('too many new torrents from your address')
      }
      if (this.swarms.size >= maxSwarms && !this.#evictSwarm(source)) {
        this.#refuse('tracker-full', source, req.infoHash)
        throw new TrackerError('tracker is full: too many torrents')
      }
    }
    // Checked before a new swarm is made, so a refused peer leaves no empty swarm behind.
    if (this.#peers >= maxPeers && !this.#evictPeer(source)) {
      this.#refuse('tracker-full', source, req.infoHash)
      throw new TrackerError('tracker is full: too many peers')
    }
    if (!swarm) swarm = this.#createSwarm(req.infoHash, source, now)
    swarm.lastActivity = now
    const compact = req.kind === 'tcp' ? compactPeer(req.ip, req.port) : null
    this.#add(swarm, req.kind, {
      key,
      id: req.peerId,
      infoHash: req.infoHash,
      source,
      ip: req.ip,
      port: req.port,
      compact,
      ip4: ip4Of(compact),
      seeder: req.left === 0,
      lastSeen: now,
      sink: req.sink ?? null,
    })
    if (req.event === 'completed') swarm.completed++
    return swarm
  }

  /**
   * Removes one peer (a WebSocket closed, or `event=stopped`). With `sink`, only while no other
   * open connection holds the peer id: a client may have reconnected on a new socket, and peer
   * ids are public (every forwarded offer carries one). `ip` names a classic peer's address.
   */
  leave(infoHash: string, kind: PeerKind, peerId: string, sink?: SignalSink, ip = ''): void {
    const swarm = this.swarms.get(infoHash)
    const peer = swarm && findPeer(swarm.set(kind), kind, peerId, ip)
    if (!swarm || !peer) return
    if (sink && peer.sink && peer.sink !== sink && peer.sink.open) return
    this.#removePeer(swarm, kind, peer.key)
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
   * the completed count becomes the larger of the two. The total caps hold (peers beyond them
   * are left out); the budgets per address are not checked, as a relay hands off what its own
   * budgets let in, but each peer is charged to its address. Returns how many were added.
   */
  adopt(state: SwarmState, now: number): number {
    let swarm = this.swarms.get(state.infoHash)
    if (!swarm) {
      if (this.swarms.size >= this.options.maxSwarms || state.peers.length === 0) return 0
      swarm = this.#createSwarm(state.infoHash, addressKey(state.peers[0].ip), now)
    }
    swarm.lastActivity = now
    swarm.completed = Math.max(swarm.completed, state.downloaded)
    let added = 0
    for (const p of state.peers) {
      if (this.#peers >= this.options.maxPeers) break
      if (findPeer(swarm.tcp, 'tcp', p.id, p.ip)) continue
      const key = newPeerKey(swarm.tcp, 'tcp', p.id, p.ip)
      const compact = compactPeer(p.ip, p.port)
      if (compact === null) continue
      this.#add(swarm, 'tcp', {
        key,
        id: p.id,
        infoHash: state.infoHash,
        source: addressKey(p.ip),
        ip: p.ip,
        port: p.port,
        compact,
        ip4: ip4Of(compact),
        seeder: p.seeder,
        lastSeen: now,
        sink: null,
      })
      added++
    }
    return added
  }

  /** Forgets what handoffState gave away: the classic peers and the completed count. The
   * swarm itself goes once no WebRTC peer is left in it. */
  release(infoHash: string): void {
    const swarm = this.swarms.get(infoHash)
    if (!swarm) return
    for (const peer of [...swarm.tcp.all()]) this.#removePeer(swarm, 'tcp', peer.key)
    swarm.completed = 0
    if (swarm.rtc.size === 0) this.#dropSwarm(swarm)
  }

  /**
   * Drops peers silent for longer than the TTL, and swarms that have been empty for as long
   * (their completed count goes with them). Call it every few seconds or minutes.
   */
  sweep(now: number): { peers: number; swarms: number } {
    const cutoff = now - this.options.peerTtl * 1000
    const gone = (peer: Peer) => this.#held.delete(peer.source, peer)
    let peers = 0
    let swarms = 0
    for (const swarm of this.swarms.values()) {
      peers += swarm.tcp.expire(cutoff, gone) + swarm.rtc.expire(cutoff, gone)
      if (swarm.size === 0 && swarm.lastActivity < cutoff) {
        this.#dropSwarm(swarm)
        swarms++
      }
    }
    this.#peers -= peers
    return { peers, swarms }
  }

  #stop(swarm: Swarm, req: Announce, peer: Peer): void {
    // Only the socket holding the id may stop it, whatever the address: a client leaving one
    // of its two sockets to the same relay must not take its peer out of the swarm.
    if (req.sink && peer.sink && peer.sink !== req.sink && peer.sink.open) {
      this.#refuse('peer-id-taken', addressKey(req.ip), req.infoHash)
      return
    }
    this.#removePeer(swarm, req.kind, peer.key)
  }

  #createSwarm(infoHash: string, creator: string, now: number): Swarm {
    const swarm = new Swarm(infoHash, now)
    swarm.creator = creator
    this.swarms.set(infoHash, swarm)
    this.#created.add(creator, swarm)
    return swarm
  }

  #dropSwarm(swarm: Swarm): void {
    for (const peer of [...swarm.tcp.all()]) this.#removePeer(swarm, 'tcp', peer.key)
    for (const peer of [...swarm.rtc.all()]) this.#removePeer(swarm, 'rtc', peer.key)
    this.swarms.delete(swarm.infoHash)
    this.#created.delete(swarm.creator, swarm)
  }

  #add(swarm: Swarm, kind: PeerKind, peer: Peer): void {
    swarm.set(kind).upsert(peer)
    this.#held.add(peer.source, peer)
    this.#peers++
  }

  #removePeer(swarm: Swarm, kind: PeerKind, key: string): void {
    const peer = swarm.set(kind).remove(key)
    if (!peer) return
    this.#held.delete(peer.source, peer)
    this.#peers--
  }

  #charge(peer: Peer, source: string): void {
    this.#held.delete(peer.source, peer)
    peer.source = source
    this.#held.add(source, peer)
  }

  /**
   * Makes room for one swarm created by `requester` when the tracker is full: the address
   * that created the most loses its oldest, if it holds more than the requester would after
   * (so two addresses never take a slot back and forth). False when nobody holds more.
   */
  #evictSwarm(requester: string): boolean {
    const top = this.#created.heaviest()
    if (!top || this.#created.count(requester) + 1 >= top.count) return false
    this.#refuse('tracker-full', top.source, top.oldest.infoHash)
    this.#dropSwarm(top.oldest)
    return true
  }

  /** Likewise for one peer: the oldest entry of the address holding the most. */
  #evictPeer(requester: string): boolean {
    const top = this.#held.heaviest()
    if (!top || this.#held.count(requester) + 1 >= top.count) return false
    const { oldest } = top
    const swarm = this.swarms.get(oldest.infoHash)!
    this.#refuse('tracker-full', top.source, oldest.infoHash)
    this.#removePeer(swarm, swarm.tcp.get(oldest.key) === oldest ? 'tcp' : 'rtc', oldest.key)
    return true
  }

  #refuse(reason: RefusalReason, source: string, infoHash: string): void {
    this.refusals.refuse(reason, source, { infoHash })
  }
}

/** Whether `known`'s peer id is held by another open socket from another address. */
function takenByOther(known: Peer, req: Announce): boolean {
  return (
    known.sink !== null &&
    req.sink !== undefined &&
    req.sink !== null &&
    known.sink !== req.sink &&
    known.sink.open &&
    addressKey(known.ip) !== addressKey(req.ip)
  )
}
