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
  /** Peer id as 40 hex chars. */
  readonly id: string
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

  get size(): number {
    return this.#slots.size
  }

  get(id: string): Peer | undefined {
    return this.#slots.get(id)?.peer
  }

  /** Adds or updates a peer; returns true when it was new. */
  upsert(peer: Peer): boolean {
    const slot = this.#slots.get(peer.id)
    if (!slot) {
      const list = peer.seeder ? this.seeders : this.leechers
      this.#slots.set(peer.id, { peer, pos: list.length })
      list.push(peer)
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
    const slot = this.#slots.get(peer.id)
    if (!slot || wasSeeder === peer.seeder) return
    this.#detach(slot, wasSeeder)
    this.#attach(slot)
  }

  remove(id: string): Peer | undefined {
    const slot = this.#slots.get(id)
    if (!slot) return undefined
    this.#detach(slot, slot.peer.seeder)
    this.#slots.delete(id)
    return slot.peer
  }

  /** Removes peers last seen before `cutoff`; returns how many went. */
  expire(cutoff: number): number {
    let removed = 0
    for (const list of [this.seeders, this.leechers]) {
      for (let i = list.length - 1; i >= 0; i--) {
        const peer = list[i]
        if (peer.lastSeen < cutoff) {
          this.remove(peer.id)
          removed++
        }
      }
    }
    return removed
  }

  /**
   * Up to `count` peers other than `self`, starting at a random offset. Seeders get only
   * leechers (a seeder has nothing to gain from another seeder); leechers get both.
   */
  pick(count: number, selfId: string, forSeeder: boolean, random: () => number): Peer[] {
    const out: Peer[] = []
    if (count <= 0) return out
    const self = this.#slots.get(selfId)?.peer
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
      this.#slots.get(last.id)!.pos = slot.pos
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
