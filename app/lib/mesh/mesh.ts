// The browser mesh (issue 22; ARCHITECTURE.md, "the browser mesh"): what a browser does with
// the Monsoon peers it is connected to. It tells each the WebRTC peers of their swarm (PEX),
// carries offers and answers between its neighbours (signal relay, hop limit 2), answers and
// asks "who has this info hash" (lookups), and pulls the catalog from them (catalog-pulls.ts).
// Pure logic over the seam types (types.ts): wires come from engine/mesh-extension.ts, the
// torrents and connections from the page's client, the clock from the host. A neighbour that
// breaks a rule (limits in shared/mesh/limits.ts) is banned: every wire of its peer id closed,
// introductions to it destroyed, never connected to again while the ban lasts.

import {
  MAX_MESH_PEER_IDS,
  MAX_SIGNAL_HOPS,
  type MeshMessage,
} from '../../../shared/mesh/messages.ts'
import * as L from '../../../shared/mesh/limits.ts'
import type { Signal } from '../engine/index.ts'
import { Bans } from './bans.ts'
import { Candidates, type Candidate } from './candidates.ts'
import { CatalogPulls } from './catalog-pulls.ts'
import { ForwardBudget } from './forward-budget.ts'
import { FoundMarks } from './found.ts'
import { Introductions, remoteOfferWins } from './introductions.ts'
import { Lookups } from './lookups.ts'
import { ReferredRelays, referredTracker } from './referred-relays.ts'
import { newRemote, newWire, type Remote, type Wire } from './remote.ts'
import type { MeshHost, MeshStats, Neighbour } from './types.ts'

/** The mesh's totals since the page opened, all zero (the Network view's before it runs). */
export function noMeshTotals(): Omit<MeshStats, 'neighbours' | 'banned'> {
  return {
    introductionsMade: 0,
    introductionsReceived: 0,
    signalsForwarded: 0,
    lookupsSent: 0,
    lookupsAnswered: 0,
    referralsFollowed: 0,
    recordsStored: 0,
  }
}

type Of<T extends MeshMessage['t']> = Extract<MeshMessage, { t: T }>

export class Mesh {
  readonly #host: MeshHost
  readonly #remotes = new Map<string, Remote>()
  #wires = 0
  readonly #bans = new Bans()
  readonly #candidates = new Candidates()
  readonly #introductions = new Introductions((intro) =>
    this.#found.abandoned(intro.infoHash, intro.peerId),
  )
  readonly #found = new FoundMarks()
  readonly #referredRelays = new ReferredRelays()
  readonly #catalog: CatalogPulls
  readonly #forwards: ForwardBudget
  readonly #lookups: Lookups
  #lookupAt: number | null = null
  /** Torrents that wanted peers at the last tick (the page's own: as many as it holds). */
  #wanting = new Set<string>()
  readonly #totals = noMeshTotals()
  /** Messages dropped without blame (unsolicited answers, budgets spent, swarms we lack). */
  #dropped = 0

  constructor(host: MeshHost) {
    this.#host = host
    const now = host.now()
    this.#forwards = new ForwardBudget(now)
    this.#lookups = new Lookups(now)
    this.#catalog = new CatalogPulls(host, {
      send: (peerId, message) => this.#sendTo(peerId, message),
      hostile: (peerId, reason) => this.#hostile(peerId, reason),
      stored: (peerId, records) => {
        this.#totals.recordsStored += records
        const remote = this.#remotes.get(peerId)
        if (remote) remote.row.recordsStored += records
      },
      dropped: () => void this.#dropped++,
    })
  }

  /** Messages dropped without blaming their sender, since the page opened. */
  get dropped(): number {
    return this.#dropped
  }

  /** What remote peers make us hold, for tests and diagnostics. */
  held(): Record<string, number> {
    return {
      neighbours: this.#wires,
      remotes: this.#remotes.size,
      candidates: this.#candidates.size,
      introductions: this.#introductions.size,
      lookups: this.#lookups.size,
      forwardPairs: this.#forwards.pairs,
      bans: this.#bans.size,
      catalogPeers: this.#catalog.size,
      found: this.#found.size,
      referredTorrents: this.#referredRelays.size,
    }
  }

  open(neighbour: Neighbour): void {
    const { peerId, infoHash } = neighbour
    const now = this.#host.now()
    if (
      peerId === this.#host.peerId ||
      this.isBanned(peerId) ||
      this.#wires >= L.MAX_MESH_NEIGHBOURS
    ) {
      neighbour.close()
      return
    }
    let remote = this.#remotes.get(peerId)
    if (!remote) {
      remote = newRemote(now)
      this.#remotes.set(peerId, remote)
      this.#catalog.open(peerId)
    }
    if (!remote.wires.has(infoHash)) this.#wires++
    const wire = newWire(neighbour, now)
    remote.wires.set(infoHash, wire)
    this.#found.opened(neighbour, now)
    this.#sendPex(wire, true)
  }

  close(neighbour: Neighbour): void {
    this.#found.closed(neighbour)
    const remote = this.#remotes.get(neighbour.peerId)
    if (remote?.wires.get(neighbour.infoHash)?.neighbour !== neighbour) return
    remote.wires.delete(neighbour.infoHash)
    this.#wires--
    if (remote.wires.size > 0) return
    this.#remotes.delete(neighbour.peerId)
    this.#catalog.forget(neighbour.peerId)
    this.#candidates.forgetVia(neighbour.peerId)
  }

  refused(neighbour: Neighbour, error: Error): void {
    this.#hostile(neighbour.peerId, `sent a malformed message: ${error.message}`)
  }

  message(neighbour: Neighbour, message: MeshMessage): void {
    const remote = this.#remotes.get(neighbour.peerId)
    const wire = remote?.wires.get(neighbour.infoHash)
    if (!remote || wire?.neighbour !== neighbour) return void this.#dropped++
    if (!remote.messages.take(1, this.#host.now())) {
      return this.#hostile(neighbour.peerId, 'flooded messages')
    }
    switch (message.t) {
      case 'pex':
        return this.#pex(wire, remote, message)
      case 'sig':
        return this.#signal(neighbour, remote, message)
      case 'who':
        return this.#who(neighbour, remote, message)
      case 'has':
        return this.#has(neighbour, message)
      case 'pull':
        return this.#catalog.serve(neighbour.peerId, message)
      case 'page':
        return this.#catalog.page(neighbour.peerId, message)
    }
  }

  tick(): void {
    const now = this.#host.now()
    this.#introductions.expire(now)
    this.#lookups.expire(now)
    for (const remote of this.#remotes.values()) {
      for (const wire of remote.wires.values()) {
        if (now - wire.pexAt >= L.PEX_INTERVAL_MS) this.#sendPex(wire, false)
      }
    }
    // Every lookup interval for each torrent that wants peers, and at once for one that just
    // began to (its relay trackers went down, or had their turn): relay first, then the mesh.
    const round = this.#lookupAt === null || now - this.#lookupAt >= L.LOOKUP_INTERVAL_MS
    if (round) this.#lookupAt = now
    const wanting = new Set<string>()
    for (const torrent of this.#host.torrents()) {
      if (!torrent.wantsPeers()) continue
      wanting.add(torrent.infoHash)
      if (round || !this.#wanting.has(torrent.infoHash)) this.#lookup(torrent.infoHash)
    }
    this.#wanting = wanting
    this.#catalog.tick(now)
    this.#introduce(now)
  }

  added(infoHash: string): void {
    if (this.#host.torrent(infoHash)?.wantsPeers()) this.#lookup(infoHash)
  }

  /** 'mesh' when the wire connected now to `peerId` in `infoHash`'s swarm is one the mesh
   * made (found.ts). */
  foundVia(infoHash: string, peerId: string): 'mesh' | null {
    return this.#found.has(infoHash, peerId) ? 'mesh' : null
  }

  isBanned(peerId: string): boolean {
    return this.#bans.has(peerId, this.#host.now())
  }

  stats(): MeshStats {
    const neighbours = [...this.#remotes].map(([peerId, remote]) => ({
      peerId,
      swarms: [...remote.wires.keys()],
      ...remote.row,
    }))
    const banned = this.#bans.newest(this.#host.now(), L.MAX_BANS_SHOWN)
    return { neighbours, ...this.#totals, banned }
  }

  // PEX: the peer ids of a swarm's WebRTC peers that speak the mesh with us (others could not
  // be reached through us), added and dropped, at most once a PEX interval.

  #sendPex(wire: Wire, first: boolean): void {
    const torrent = this.#host.torrent(wire.neighbour.infoHash)
    if (!torrent) return
    const named = new Set(
      torrent
        .webrtcPeers()
        .filter(
          (id) => id !== wire.neighbour.peerId && this.#remotes.has(id) && !this.isBanned(id),
        ),
    )
    const added = [...named].filter((id) => !wire.pexSent.has(id)).slice(0, MAX_MESH_PEER_IDS)
    const dropped = [...wire.pexSent].filter((id) => !named.has(id)).slice(0, MAX_MESH_PEER_IDS)
    if (!first && added.length === 0 && dropped.length === 0) return
    if (!this.#send(wire.neighbour, { t: 'pex', added, dropped })) return
    for (const id of added) wire.pexSent.add(id)
    for (const id of dropped) wire.pexSent.delete(id)
    wire.pexAt = this.#host.now()
  }

  #pex(wire: Wire, remote: Remote, pex: Of<'pex'>): void {
    const now = this.#host.now()
    const { peerId: via, infoHash } = wire.neighbour
    if (!wire.pexBudget.take(1, now)) return this.#hostile(via, 'flooded PEX')
    remote.row.pexPeers += pex.added.length
    for (const id of pex.dropped) this.#candidates.drop(infoHash, id, via)
    for (const id of pex.added) {
      if (id !== this.#host.peerId && id !== via)
        this.#candidates.add(infoHash, id, via, 'pex', now)
    }
    this.#introduce(now)
  }

  // Introductions: we offer to candidates of swarms that want peers, through the neighbour
  // that named them; PEX ones only when our id is the lower (both sides learn each other).

  #introduce(now: number): void {
    for (const c of this.#candidates.due(now)) {
      if (this.#introductions.full) return
      const torrent = this.#host.torrent(c.infoHash)
      if (!torrent?.wantsPeers() || torrent.has(c.peerId) || this.isBanned(c.peerId)) continue
      if (this.#introductions.get(c.infoHash, c.peerId)) continue
      if (c.source === 'pex' && !(this.#host.peerId < c.peerId)) continue
      this.#candidates.tried(c, now)
      this.#offer(c, now)
    }
  }

  #offer(c: Candidate, now: number): void {
    const { infoHash, peerId, via } = c
    const send = (signal: Signal) => {
      if (signal.type !== 'offer' || typeof signal.sdp !== 'string') return
      const sig = this.#sig(peerId, infoHash, 'offer', signal.sdp)
      const pending = this.#introductions.get(infoHash, peerId)
      if (!this.#sendTo(via, sig) && pending?.initiator) this.#introductions.destroy(pending)
    }
    const peer = this.#connect(infoHash, peerId, true, send)
    const intro = { infoHash, peerId, initiator: true, via, at: now, peer }
    if (!this.#introductions.add(intro)) return this.#introductions.destroy(intro)
    this.#received(via)
  }

  /** Our own offer or answer for `to`: the first hop, so from us. */
  #sig(to: string, infoHash: string, kind: 'offer' | 'answer', sdp: string): Of<'sig'> {
    return { t: 'sig', to, from: this.#host.peerId, infoHash, hops: 0, kind, sdp }
  }

  #connect(infoHash: string, peerId: string, initiator: boolean, send: (s: Signal) => void) {
    this.#found.connecting(infoHash, peerId, this.#host.now())
    const peer = this.#host.connect(infoHash, { peerId, initiator, send })
    peer.catch(() => undefined)
    return peer
  }

  #received(via: string): void {
    this.#totals.introductionsReceived++
    const remote = this.#remotes.get(via)
    if (remote) remote.row.introductionsReceived++
  }

  #made(by: Remote): void {
    this.#totals.introductionsMade++
    by.row.introductionsMade++
  }

  // Signal relay.

  #signal(neighbour: Neighbour, remote: Remote, sig: Of<'sig'>): void {
    // The first hop is the sender itself: a `from` that is not its own id is forged.
    if (sig.hops === 0 && sig.from !== neighbour.peerId) {
      return this.#hostile(neighbour.peerId, 'forged the sender of a signal')
    }
    if (sig.to === this.#host.peerId) return this.#signalForUs(neighbour, sig)
    if (sig.from === this.#host.peerId || sig.to === neighbour.peerId) return void this.#dropped++
    if (sig.hops >= MAX_SIGNAL_HOPS || this.isBanned(sig.to)) return void this.#dropped++
    const target = this.#remotes.get(sig.to)
    if (!target) {
      // An answer's sender cannot know the offerer left (or never was): only offers count.
      if (sig.kind === 'answer' || remote.unknownPeers.take(1, this.#host.now())) {
        return void this.#dropped++
      }
      return this.#hostile(neighbour.peerId, 'signalled too many unknown peers')
    }
    const now = this.#host.now()
    if (!this.#forwards.take(neighbour.peerId, sig.to, now)) return void this.#dropped++
    if (!this.#sendTo(sig.to, { ...sig, hops: sig.hops + 1 })) return void this.#dropped++
    this.#totals.signalsForwarded++
    this.#made(remote)
  }

  #signalForUs(neighbour: Neighbour, sig: Of<'sig'>): void {
    const { from, infoHash } = sig
    const torrent = this.#host.torrent(infoHash)
    const pending = this.#introductions.get(infoHash, from)
    if (!torrent || from === this.#host.peerId || this.isBanned(from)) return void this.#dropped++
    if (sig.kind === 'answer') {
      // Only the way our offer went, or the peer itself, may bring its answer.
      if (!pending?.initiator || ![pending.via, from].includes(neighbour.peerId)) {
        return void this.#dropped++
      }
      this.#introductions.finish(pending)
      pending.peer
        .then((peer) => peer.signal({ type: 'answer', sdp: sig.sdp }))
        .catch(() => undefined)
      return
    }
    if (pending) {
      // Glare: the lower peer id's offer goes on; the other side answers it.
      if (!pending.initiator || !remoteOfferWins(this.#host.peerId, from))
        return void this.#dropped++
      this.#introductions.destroy(pending)
    } else if (torrent.has(from)) {
      return void this.#dropped++ // connected or connecting already: never twice
    }
    if (this.#introductions.full) return void this.#dropped++
    const send = (signal: Signal) => {
      if (signal.type !== 'answer' || typeof signal.sdp !== 'string') return
      const answer = this.#sig(from, infoHash, 'answer', signal.sdp)
      // Back the way the offer came: that wire, else another of the same neighbour.
      if (!this.#send(neighbour, answer)) this.#sendTo(neighbour.peerId, answer)
      const answering = this.#introductions.get(infoHash, from)
      if (answering && !answering.initiator) this.#introductions.finish(answering)
    }
    const peer = this.#connect(infoHash, from, false, send)
    const via = neighbour.peerId
    const intro = { infoHash, peerId: from, initiator: false, via, at: this.#host.now(), peer }
    if (!this.#introductions.add(intro)) return this.#introductions.destroy(intro)
    peer.then((p) => p.signal({ type: 'offer', sdp: sig.sdp })).catch(() => undefined)
    this.#received(neighbour.peerId)
  }

  // Hash lookups: we answer for the hashes we have, with ourselves and the neighbours of ours
  // in that swarm, and ask every neighbour about the torrents that want peers.

  #who(neighbour: Neighbour, remote: Remote, who: Of<'who'>): void {
    if (!remote.lookups.take(1, this.#host.now())) {
      return this.#hostile(neighbour.peerId, 'flooded lookups')
    }
    const torrent = this.#host.torrent(who.infoHash)
    const answer: Of<'has'> = { t: 'has', query: who.query, infoHash: who.infoHash, peers: [] }
    if (torrent) {
      const reachable = torrent
        .webrtcPeers()
        .filter((id) => id !== neighbour.peerId && this.#remotes.has(id) && !this.isBanned(id))
      answer.peers = [this.#host.peerId, ...reachable.slice(0, L.ANSWERS_PER_LOOKUP)]
    } else {
      const relay = this.#host.referralRelay()
      if (relay) answer.referral = { relay }
    }
    if (!this.#send(neighbour, answer)) return
    this.#totals.lookupsAnswered++
    if (torrent) this.#made(remote)
  }

  #lookup(infoHash: string): void {
    const now = this.#host.now()
    const query = this.#remotes.size > 0 ? this.#lookups.next(now) : null
    if (query === null) return
    for (const peerId of this.#remotes.keys()) {
      if (!this.#sendTo(peerId, { t: 'who', query, infoHash })) continue
      this.#lookups.sent(peerId, query, infoHash, now)
      this.#totals.lookupsSent++
    }
  }

  #has(neighbour: Neighbour, has: Of<'has'>): void {
    const now = this.#host.now()
    const asked = this.#lookups.answered(neighbour.peerId, has.query, now)
    if (asked === undefined) return void this.#dropped++
    if (asked.infoHash !== has.infoHash) {
      return this.#hostile(neighbour.peerId, 'answered a lookup for another hash')
    }
    // The answerer and ANSWERS_PER_LOOKUP of its neighbours: an answer naming more is cut.
    for (const id of has.peers.slice(0, L.ANSWERS_PER_LOOKUP + 1)) {
      if (id !== this.#host.peerId) {
        this.#candidates.add(has.infoHash, id, neighbour.peerId, 'lookup', now)
      }
    }
    const { peer, relay } = has.referral ?? {}
    if (peer !== undefined && !asked.referred) this.#referredPeer(has, peer, now)
    if (relay !== undefined) this.#referredRelay(has.infoHash, relay, now)
    this.#introduce(now)
  }

  /** A referral to a peer: asked the same query if it is a neighbour this round has not asked
   * (lookups.ts: one hop, a few a round). Anything else is dropped: the answerer may know
   * peers we do not. */
  #referredPeer(has: Of<'has'>, peerId: string, now: number): void {
    const usable =
      peerId !== this.#host.peerId && this.#remotes.has(peerId) && !this.isBanned(peerId)
    if (!usable || !this.#lookups.refer(has.query, peerId, now)) return void this.#dropped++
    if (!this.#sendTo(peerId, { t: 'who', query: has.query, infoHash: has.infoHash })) return
    this.#lookups.sent(peerId, has.query, has.infoHash, now, true)
    this.#totals.lookupsSent++
    this.#totals.referralsFollowed++
  }

  /** A referral to a relay: neighbour's text, handed to the torrent's re-homing (the page's
   * rule for referral text decides) if it parses as a relay and the torrent's slots allow. */
  #referredRelay(infoHash: string, url: string, now: number): void {
    const tracker = referredTracker(url)
    if (tracker === null) return void this.#dropped++
    const hand = () => this.#host.referredRelay(infoHash, tracker)
    if (!this.#referredRelays.take(infoHash, tracker, now, hand)) return void this.#dropped++
    this.#totals.referralsFollowed++
  }

  // Sending, and banning.

  #send(neighbour: Neighbour, message: MeshMessage): boolean {
    try {
      return neighbour.send(message)
    } catch {
      return false // a message the codec will not write: ours to fix, not the neighbour's fault
    }
  }

  /** Sends through any wire of `peerId`. */
  #sendTo(peerId: string, message: MeshMessage): boolean {
    for (const wire of this.#remotes.get(peerId)?.wires.values() ?? []) {
      if (this.#send(wire.neighbour, message)) return true
    }
    return false
  }

  #hostile(peerId: string, reason: string): void {
    this.#bans.add(peerId, reason, this.#host.now())
    const remote = this.#remotes.get(peerId)
    for (const wire of [...(remote?.wires.values() ?? [])]) {
      this.close(wire.neighbour)
      wire.neighbour.close()
    }
    this.#remotes.delete(peerId)
    this.#catalog.forget(peerId)
    this.#candidates.forgetPeer(peerId)
    this.#introductions.destroyPeer(peerId)
  }
}
