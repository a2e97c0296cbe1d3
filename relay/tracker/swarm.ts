// Swarm state for one info hash: who is in it, who seeds, how many finished. No sockets or
// clocks here: callers pass `now` and get plain values back, so this is testable on its own.
//
// Peers are kept in two dense arrays (seeders, leechers) with an id → slot index, so joining,
// leaving, turning seeder and picking `numwant` random peers all cost O(1) per peer touched.

export type PeerKind = 'tcp' | 'rtc'

/** Anything we can forward WebTorrent signalling to (a WebSocket in production). */
export interface SignalSink {
  send(message: string): void
  readonly bufferedAmount: number
  readonly open: boolean
}

export interface Peer {
  /** What the peer is known by in its PeerSet: the peer id for a WebRTC peer (bound to the
   * socket that announced it), the peer id and the address for a classic one (tracker.ts). */
  readonly key: string
  /** Peer id as 40 hex chars. */
  readonly id: string
  /** The swarm it is in. */
  readonly infoHash: string
  /** The address its budget is charged to (holdings.ts addressKey). */
  source: string
  ip: string
  port: number
  /** BEP 23 / BEP 7 compact form: 6 bytes (IPv4) or 18 bytes (IPv6); null for WebRTC peers. */
  compact: Uint8Array | null
  /** `compact`'s IPv4 address as an unsigned 32-bit number, or -1: HTTP answers are written
   * from it and `port` without reading a second object per peer. */
  ip4: number
  seeder: boolean
  lastSeen: number
  /** Set for WebRTC peers: where offers and answers for this peer go. */
  sink: SignalSink | null
}

interface Slot {
  peer: Peer
  pos: number
}

/** The peers of one kind in a swarm. */
export class PeerSet {
  readonly seeders: Peer[] = []
  readonly leechers: Peer[] = []
  readonly #slots = new Map<string, Slot>()
  #aliased = 0

  get size(): number {
    return this.#slots.size
  }

  /** Peers filed under a key other than their peer id (tracker.ts findPeer): while there are
   * none, a peer id not found is not here at all. */
  get aliased(): number {
    return this.#aliased
  }

  get(key: string): Peer | undefined {
    return this.#slots.get(key)?.peer
  }

  /** Adds or updates a peer; returns true when it was new. */
  upsert(peer: Peer): boolean {
    const slot = this.#slots.get(peer.key)
    if (!slot) {
      const list = peer.seeder ? this.seeders : this.leechers
      this.#slots.set(peer.key, { peer, pos: list.length })
      list.push(peer)
      if (peer.key !== peer.id) this.#aliased++
      return true
    }
    if (slot.peer !== peer) {
      const wasSeeder = slot.peer.seeder
      this.#detach(slot, wasSeeder)
      slot.peer = peer
      this.#attach(slot)
    }
    return false
  }

  /** Moves a known peer between seeders and leechers after its `seeder` flag changed. */
  reclassify(peer: Peer, wasSeeder: boolean): void {
    const slot = this.#slots.get(peer.key)
    if (!slot || wasSeeder === peer.seeder) return
    this.#detach(slot, wasSeeder)
    this.#attach(slot)
  }

  remove(key: string): Peer | undefined {
    const slot = this.#slots.get(key)
    if (!slot) return undefined
    this.#detach(slot, slot.peer.seeder)
    this.#slots.delete(key)
    if (slot.peer.key !== slot.peer.id) this.#aliased--
    return slot.peer
  }

  /** Removes peers last seen before `cutoff`, telling `gone` of each; returns how many went. */
  expire(cutoff: number, gone?: (peer: Peer) => void): number {
    let removed = 0
    for (const list of [this.seeders, this.leechers]) {
      for (let i = list.length - 1; i >= 0; i--) {
        const peer = list[i]
        if (peer.lastSeen < cutoff) {
          this.remove(peer.key)
          gone?.(peer)
          removed++
        }
      }
    }
    return removed
  }

  /**
   * Up to `count` peers other than `self` (a key), starting at a random offset. Seeders get
   * only leechers (a seeder has nothing to gain from another seeder); leechers get both.
   */
  pick(count: number, selfKey: string, forSeeder: boolean, random: () => number): Peer[] {
    const out: Peer[] = []
    if (count <= 0) return out
    const self = this.#slots.get(selfKey)?.peer
    if (!forSeeder) takeFrom(this.seeders, count, self, random, out)
    takeFrom(this.leechers, count, self, random, out)
    return out
  }

  *all(): IterableIterator<Peer> {
    yield* this.seeders
    yield* this.leechers
  }

  #attach(slot: Slot): void {
    const list = slot.peer.seeder ? this.seeders : this.leechers
    slot.pos = list.length
    list.push(slot.peer)
  }

  #detach(slot: Slot, wasSeeder: boolean): void {
    const list = wasSeeder ? this.seeders : this.leechers
    const last = list.pop()!
    if (last !== slot.peer) {
      list[slot.pos] = last
      this.#slots.get(last.key)!.pos = slot.pos
    }
  }
}

function takeFrom(
  list: Peer[],
  count: number,
  self: Peer | undefined,
  random: () => number,
  out: Peer[],
) {
  const n = list.length
  if (n === 0 || out.length >= count) return
  const start = Math.floor(random() * n)
  for (let i = 0; i < n && out.length < count; i++) {
    const peer = list[(start + i) % n]
    // By identity: comparing ids would read each candidate's id string, a cache miss each.
    if (peer !== self) out.push(peer)
  }
}

export class Swarm {
  readonly tcp = new PeerSet()
  readonly rtc = new PeerSet()
  /** Completed downloads seen (`event=completed`), as reported by scrape. */
  completed = 0
  lastActivity: number
  /** The address that created it (its first peer's), charged for it until it goes. */
  creator = ''

  constructor(
    readonly infoHash: string,
    now: number,
  ) {
    this.lastActivity = now
  }

  get seeders(): number {
    return this.tcp.seeders.length + this.rtc.seeders.length
  }

  get leechers(): number {
    return this.tcp.leechers.length + this.rtc.leechers.length
  }

  get size(): number {
    return this.tcp.size + this.rtc.size
  }

  set(kind: PeerKind): PeerSet {
    return kind === 'tcp' ? this.tcp : this.rtc
  }
}
