// For the mesh's tests: browsers (a Mesh each, over a fake host) wired to each other in memory.
// Each wire's messages go through the codec both ways (encodeMeshMessage, then
// decodeMeshMessage on the other side), so what a test sends is what a browser could; a
// connection the mesh opens completes when its answer reaches the offerer, and becomes a wire
// of that swarm on both sides, as the page's client would make it.

import {
  decodeMeshMessage,
  encodeMeshMessage,
  MESH_VERSION,
  type MeshMessage,
} from '../../../shared/mesh/messages.ts'
import type { Signal, SignalledPeer } from '../engine/index.ts'
import { Mesh } from './mesh.ts'
import type { CatalogExchange, MeshHost, MeshTorrent, Neighbour } from './types.ts'

/** A peer id: 40 hex characters of `c` (so ids sort as their letters do). */
export const id = (c: string): string => c.repeat(40)
export const hash = id

export class FakeTorrent implements MeshTorrent {
  /** Connected WebRTC peers. */
  readonly peers = new Set<string>()
  /** Connecting attempts. */
  readonly connecting = new Set<string>()
  wants = true
  constructor(readonly infoHash: string) {}
  webrtcPeers(): string[] {
    return [...this.peers]
  }
  has(peerId: string): boolean {
    return this.peers.has(peerId) || this.connecting.has(peerId)
  }
  wantsPeers(): boolean {
    return this.wants
  }
}

export interface FakeConnection {
  infoHash: string
  peerId: string
  initiator: boolean
  /** Signals the mesh gave it. */
  signals: Signal[]
  destroyed: boolean
}

export class FakeHost implements MeshHost {
  readonly torrentsByHash = new Map<string, FakeTorrent>()
  readonly connections: FakeConnection[] = []
  catalog: CatalogExchange | null = null
  relay: string | null = null
  /** Called when an offerer is given its answer: the network completes the connection. */
  onAnswered: (conn: FakeConnection) => void = () => {}

  constructor(
    readonly peerId: string,
    readonly clock: { ms: number },
  ) {}

  now(): number {
    return this.clock.ms
  }
  torrent(infoHash: string): MeshTorrent | null {
    return this.torrentsByHash.get(infoHash) ?? null
  }
  torrents(): MeshTorrent[] {
    return [...this.torrentsByHash.values()]
  }
  addTorrent(infoHash: string): FakeTorrent {
    const torrent = new FakeTorrent(infoHash)
    this.torrentsByHash.set(infoHash, torrent)
    return torrent
  }
  referralRelay(): string | null {
    return this.relay
  }
  /** Relays neighbours referred our torrents to, as handed on; `refuseRelays` plays a page
   * that may not contact them. */
  readonly referred: { infoHash: string; tracker: string }[] = []
  refuseRelays = false
  referredRelay(infoHash: string, tracker: string): boolean {
    if (this.refuseRelays || !this.torrentsByHash.has(infoHash)) return false
    this.referred.push({ infoHash, tracker })
    return true
  }

  /** A simple-peer stand-in: the offerer's offer comes at once, the answer once given one. */
  connect(
    infoHash: string,
    options: { peerId: string; initiator: boolean; send(signal: Signal): void },
  ): Promise<SignalledPeer> {
    const { peerId, initiator, send } = options
    const conn: FakeConnection = { infoHash, peerId, initiator, signals: [], destroyed: false }
    this.connections.push(conn)
    const torrent = this.torrentsByHash.get(infoHash)
    torrent?.connecting.add(peerId)
    const me = this.peerId
    if (initiator) queueMicrotask(() => send({ type: 'offer', sdp: `offer ${me}>${peerId}` }))
    return Promise.resolve({
      signal: (data: Signal) => {
        if (conn.destroyed) return
        conn.signals.push(data)
        if (!initiator && data.type === 'offer') {
          send({ type: 'answer', sdp: `answer ${me}>${peerId}` })
        }
        if (initiator && data.type === 'answer') this.onAnswered(conn)
      },
      destroy: () => {
        conn.destroyed = true
        torrent?.connecting.delete(peerId)
      },
    })
  }
}

export interface Browser {
  host: FakeHost
  mesh: Mesh
}

interface Delivery {
  to: Browser
  neighbour: Neighbour
  bytes: Uint8Array
}

/** Browsers and the wires between them; messages queued and delivered by flush(). */
export class TestNetwork {
  readonly clock = { ms: 1_000_000 }
  readonly browsers = new Map<string, Browser>()
  /** Every message sent, in order. */
  readonly sent: { from: string; to: string; infoHash: string; message: MeshMessage }[] = []
  readonly #queue: Delivery[] = []
  /** The two ends of each open wire, by `${a}:${b}:${infoHash}`. */
  readonly #wires = new Map<string, { neighbour: Neighbour; closed: boolean }>()

  /** A browser whose peer id is `c` (40 hex) or id(c). */
  add(c: string, ...infoHashes: string[]): Browser {
    const host = new FakeHost(c.length === 40 ? c : id(c), this.clock)
    for (const h of infoHashes) host.addTorrent(h)
    const browser = { host, mesh: new Mesh(host) }
    host.onAnswered = (conn) => {
      const other = this.browsers.get(conn.peerId)
      if (other) this.connect(browser, other, conn.infoHash)
    }
    this.browsers.set(host.peerId, browser)
    return browser
  }

  /** Makes `browsers` want no more peers for `infoHash` (they answer, never offer). */
  satisfied(infoHash: string, ...browsers: Browser[]): void {
    for (const b of browsers) b.host.torrentsByHash.get(infoHash)!.wants = false
  }

  /** The neighbour `a` holds for `b` in `infoHash`'s swarm, if that wire is open. */
  neighbour(a: Browser, b: Browser, infoHash: string): Neighbour | undefined {
    const wire = this.#wires.get(`${a.host.peerId}:${b.host.peerId}:${infoHash}`)
    return wire && !wire.closed ? wire.neighbour : undefined
  }

  /** Opens a wire between `a` and `b` in `infoHash`'s swarm: both are WebRTC peers of each
   * other there, and each mesh hears of its neighbour. */
  connect(a: Browser, b: Browser, infoHash: string): void {
    if (this.neighbour(a, b, infoHash)) return
    const ends: [Browser, Browser][] = [
      [a, b],
      [b, a],
    ]
    for (const [self, other] of ends) {
      const torrent = self.host.torrentsByHash.get(infoHash)
      torrent?.connecting.delete(other.host.peerId)
      torrent?.peers.add(other.host.peerId)
    }
    const made = ends.map(([self, other]) => this.#end(self, other, infoHash))
    for (const [i, [self]] of ends.entries()) self.mesh.open(made[i])
  }

  #end(self: Browser, other: Browser, infoHash: string): Neighbour {
    const key = `${self.host.peerId}:${other.host.peerId}:${infoHash}`
    const neighbour: Neighbour = {
      peerId: other.host.peerId,
      infoHash,
      version: MESH_VERSION,
      send: (message) => {
        const bytes = encodeMeshMessage(message)
        if (this.#wires.get(key)?.neighbour !== neighbour || this.#wires.get(key)?.closed) {
          return false
        }
        this.sent.push({ from: self.host.peerId, to: other.host.peerId, infoHash, message })
        const back = this.neighbour(other, self, infoHash)
        if (back) this.#queue.push({ to: other, neighbour: back, bytes })
        return true
      },
      close: () => this.disconnect(self, other, infoHash),
    }
    this.#wires.set(key, { neighbour, closed: false })
    return neighbour
  }

  /** Closes the wire between `a` and `b` in `infoHash`: both meshes hear of it. */
  disconnect(a: Browser, b: Browser, infoHash: string): void {
    for (const [self, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const wire = this.#wires.get(`${self.host.peerId}:${other.host.peerId}:${infoHash}`)
      if (!wire || wire.closed) continue
      wire.closed = true
      self.host.torrentsByHash.get(infoHash)?.peers.delete(other.host.peerId)
      self.mesh.close(wire.neighbour)
    }
  }

  /** Sends raw bytes as `from` to `to` on their wire in `infoHash` (a hostile neighbour). */
  inject(from: Browser, to: Browser, infoHash: string, bytes: Uint8Array): void {
    const neighbour = this.neighbour(to, from, infoHash)
    if (neighbour) this.#queue.push({ to, neighbour, bytes })
  }

  /** Delivers queued messages, and lets the connections' promises run, until all is quiet. */
  async flush(): Promise<void> {
    for (let round = 0; round < 1000; round++) {
      while (this.#queue.length > 0) {
        const { to, neighbour, bytes } = this.#queue.shift()!
        if (
          this.neighbour(to, this.browsers.get(neighbour.peerId)!, neighbour.infoHash) !== neighbour
        ) {
          continue
        }
        let message: MeshMessage
        try {
          message = decodeMeshMessage(bytes)
        } catch (err) {
          to.mesh.refused(neighbour, err as Error)
          neighbour.close()
          continue
        }
        to.mesh.message(neighbour, message)
      }
      await new Promise((resolve) => setTimeout(resolve, 0))
      if (this.#queue.length === 0) return
    }
    throw new Error('the network never went quiet')
  }

  /** Moves the clock on by `ms` and ticks every mesh. */
  async tick(ms: number): Promise<void> {
    this.clock.ms += ms
    for (const b of this.browsers.values()) b.mesh.tick()
    await this.flush()
  }

  /** Messages of type `t` sent from `from` to `to`. */
  sentOf<T extends MeshMessage['t']>(
    t: T,
    from?: Browser,
    to?: Browser,
  ): Extract<MeshMessage, { t: T }>[] {
    return this.sent
      .filter(
        (s) =>
          s.message.t === t &&
          (!from || s.from === from.host.peerId) &&
          (!to || s.to === to.host.peerId),
      )
      .map((s) => s.message as Extract<MeshMessage, { t: T }>)
  }
}

/** Browsers a (in swarm `g`), b (in `g` and `h`) and c (in `h`), b a neighbour of both; then a
 * adds `h` and looks it up among its neighbours (flushed: b answers with itself and c, and a
 * offers to both through the mesh). */
export async function lookupAcrossSwarms(g: string, h: string) {
  const net = new TestNetwork()
  const a = net.add('a', g)
  const b = net.add('b', g, h)
  const c = net.add('c', h)
  net.satisfied(h, b, c)
  net.connect(a, b, g)
  net.connect(b, c, h)
  await net.flush()
  a.host.addTorrent(h)
  a.mesh.added(h)
  await net.flush()
  return { net, a, b, c }
}
