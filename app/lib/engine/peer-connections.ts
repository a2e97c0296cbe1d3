// Monsoon's peer connection layer: every RTCPeerConnection our client uses is made here, with
// the ICE servers Monsoon knows, whoever asked for it (rtc-global.ts puts the class in place).
//
// WebTorrent's WebSocket trackers make their WebRTC peers (simple-peer) with the client's
// `tracker.rtcConfig` (bittorrent-tracker, websocket-tracker.js _createPeer): that is
// `config` here, which names this layer, so each tracker connection is made by it. A
// connection takes the ICE servers as they are when it is made: relay-config.ts replaces them
// in place as TURN credentials renew, so new connections take fresh ones and open ones keep
// theirs. simple-peer merges in Google's and Twilio's STUN when a configuration names no
// servers; a connection made here takes ours alone, always.
//
// Signals from any other source (the browser mesh, a test) go through connect(): a simple-peer
// made with the same configuration, its offer or answer carried by the caller, handed to the
// torrent with WebTorrent's public addPeer() before it connects, as the tracker path does.
// (In Node, where tests run it, simple-peer takes webrtc-polyfill's class by import: there the
// connection is the polyfill's own, made with the same configuration.)

// First: the global RTCPeerConnection is ours before simple-peer takes it.
import { LAYER, type ConnectionMaker } from './rtc-global.ts'
import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'

/** An offer, answer or candidate, as simple-peer emits and takes them. */
export type Signal = Record<string, unknown>

/** One connection opened by connect(): give it the remote side's signals. */
export interface SignalledPeer {
  signal(data: Signal): void
  destroy(): void
}

export interface ConnectOptions {
  /** The remote peer id (hex, 40 characters), as WebTorrent names WebRTC peers. */
  peerId: string
  /** True to make the offer; false to wait for the remote side's. */
  initiator: boolean
  /** Carries our offer or answer to the remote side. */
  send(signal: Signal): void
}

/** What the diagnostics show of the layer. */
export interface PeerConnectionStats {
  /** Connections made since the page opened. */
  made: number
  /** Of those, not closed or failed yet. */
  open: number
  /** ICE servers a new connection gets now. */
  iceServers: number
}

const PEER_ID = /^[0-9a-f]{40}$/

/** simple-peer, loaded on the first connect(): the bundle's copy is not exported, and ours
 * (about 60 kB with its stream library) stays out of the page's first load. */
let simplePeer: Promise<new (opts: object) => unknown> | null = null
const loadSimplePeer = () =>
  (simplePeer ??= import('@thaunknown/simple-peer/lite.js').then((m) => m.default))

interface SimplePeer {
  id?: string
  destroyed: boolean
  signal(data: unknown): void
  on(event: 'signal', listener: (data: Signal) => void): void
  on(event: 'error', listener: (err: Error) => void): void
  destroy(): void
}

export class PeerConnections implements ConnectionMaker {
  /** The one configuration our peers are made from: kept, its `iceServers` replaced in place
   * by whoever chooses them (relay-config.ts). */
  readonly config: RTCConfiguration
  #made = 0
  readonly #open = new Set<RTCPeerConnection>()

  /** Takes `config` as the page's configuration, marked as this layer's: one configuration
   * belongs to one layer (a later layer made on the same object takes the mark over). */
  constructor(config: RTCConfiguration = {}) {
    config.iceServers ??= []
    ;(config as Record<symbol, unknown>)[LAYER] = this
    this.config = config
  }

  /** The options WebTorrent's trackers need: `{ tracker: layer.trackerOptions }`. */
  get trackerOptions(): { rtcConfig: RTCConfiguration } {
    return { rtcConfig: this.config }
  }

  configure(given: RTCConfiguration): RTCConfiguration {
    const config: RTCConfiguration & { [LAYER]?: unknown } = {
      ...given,
      iceServers: [...(this.config.iceServers ?? [])],
    }
    delete config[LAYER]
    return config
  }

  made(pc: RTCPeerConnection): void {
    this.#made++
    this.#open.add(pc)
    const close = pc.close.bind(pc)
    pc.close = () => {
      this.#open.delete(pc)
      close()
    }
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'closed' || pc.connectionState === 'failed') this.#open.delete(pc)
    })
  }

  stats(): PeerConnectionStats {
    const iceServers = this.config.iceServers?.length ?? 0
    return { made: this.#made, open: this.#open.size, iceServers }
  }

  /** Opens a connection to `peerId` for `torrent` whose signals travel by `send`; WebTorrent
   * takes it as a peer of the torrent (a connecting attempt from the same peer id is replaced,
   * a connected one kept: pending-peers.ts). */
  async connect(
    torrent: Torrent,
    { peerId, initiator, send }: ConnectOptions,
  ): Promise<SignalledPeer> {
    // The id names the peer in WebTorrent's peer table and in the wire's handshake check: a
    // remote peer's id, as the mesh passes it on, is checked here once for every caller.
    if (!PEER_ID.test(peerId)) throw new RangeError('a peer id is 40 lowercase hex characters')
    const Peer = await loadSimplePeer()
    const peer = new Peer({ initiator, trickle: false, config: this.config }) as SimplePeer
    peer.id = peerId
    peer.on('signal', (data) => send(data))
    // An error destroys the peer; WebTorrent hears of it through its own listeners.
    peer.on('error', () => {})
    ;(torrent as unknown as { addPeer(peer: unknown): unknown }).addPeer(peer)
    return {
      signal: (data) => {
        if (!peer.destroyed) peer.signal(data)
      },
      destroy: () => peer.destroy(),
    }
  }
}
