// The one description of WebTorrent 3.0.21's internals (webtorrent/dist/webtorrent.min.js in
// the app, the `webtorrent` package's lib/ in the bridge; pinned exactly in package.json) and
// of the libraries it bundles, as far as the engine reaches into them. Property names survive
// the bundle's minification. Nothing outside app/lib/engine/ imports this file: the rest of the
// app and the bridge see index.ts. Each patch checks the shape it relies on and reports
// whether it applied (patches.ts); patches.test.ts runs them all on the real bundle.

import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'

/** bittorrent-protocol's Wire (bittorrent-protocol/index.js). */
export interface WireInternals {
  type: string
  destroyed: boolean
  _finished: boolean
  _encryptor: unknown
  /** Requests out to the peer, in the order sent (bittorrent-protocol's Request). */
  requests: { piece: number; offset: number; length: number }[]
  peerPieces: { get(index: number): boolean }
  peerChoking: boolean
  downloaded: number
  /** Our extended handshake (BEP 10), as sent or to be sent. */
  extendedHandshake?: Record<string, unknown>
  ut_metadata?: object
  push(data: Uint8Array | null): boolean
  have(index: number): void
  _push(data: Uint8Array): unknown
  _message(id: number, numbers: number[], data: Uint8Array | null): void
  /** Sends our extended handshake (again: BEP 10 allows it), once the wire is ready. */
  _sendExtendedHandshake?(): void
  /** Whether our extended handshake went out. */
  _extendedHandshakeSent?: boolean
  on(event: string, listener: (...args: never[]) => void): unknown
  once(event: string, listener: (...args: never[]) => void): unknown
}

/** @thaunknown/simple-peer's Peer (lite.js), the WebRTC connection under a wire. */
export interface SimplePeerInternals {
  /** The remote peer id (hex), as the tracker named it. */
  id?: string
  /** True when this side made the offer. */
  initiator?: boolean
  destroyed: boolean
  _connected: boolean
  _channel: RTCDataChannel | null
  /** Its RTCPeerConnection: what the engine reads of it. */
  _pc?: { getStats(): Promise<Map<string, Record<string, unknown>>> } | null
  /** The one chunk written before the channel opened, sent once it does. */
  _chunk: Uint8Array | null
  _cb: ((err: Error | null) => void) | null
  _write(chunk: Uint8Array, cb: (err: Error | null) => void): void
}

/** WebTorrent's Peer (lib/peer.js). */
export interface PeerInternals {
  /** 'webrtc', 'tcpIncoming', 'tcpOutgoing', 'utpIncoming', 'utpOutgoing' or 'webSeed'. */
  type: string
  connected: boolean
  destroyed: boolean
  wire: WireInternals | null
  conn: SimplePeerInternals | null
}

/** torrent-piece's Piece: a piece being downloaded, its blocks reserved in order. */
export interface PieceInternals {
  _chunks: number
  /** Blocks received so far, by block; null until the first block is reserved. */
  _buffer: (Uint8Array | undefined)[] | null
  _reservations: number
  _cancellations: number[] | null
}

/** WebTorrent's RarityMap (lib/rarity-map.js). */
export interface RarityMapInternals {
  /** Per piece: how many connected peers have it. */
  _pieces: (number | undefined)[]
  _numPieces: number
  getRarestPiece(filter?: (index: number) => boolean): number
}

/** How WebTorrent dials a peer (Torrent#_addPeer): an address string over 'tcp' or 'utp', or
 * a WebRTC peer (its simple-peer) with 'webrtc'. */
export type AddPeer = (peer: unknown, type: string, source?: unknown) => unknown

/** WebTorrent's Torrent (lib/torrent.js), beyond its public API. */
export interface TorrentInternals {
  destroyed: boolean
  ready: boolean
  done: boolean
  bitfield: { get(index: number): boolean }
  wires: WireInternals[]
  strategy: string
  /** Per piece: the download in progress, null once verified. */
  pieces: (PieceInternals | null)[]
  _rarityMap: RarityMapInternals | null
  /** Ranges of pieces wanted, highest priority first; a stream's have priority 1. */
  _selections: {
    length: number
    get(i: number): { priority: number; from: number; to: number }
  }
  /** Peers by remote peer id (WebRTC) or address (classic). */
  _peers: Map<string, PeerInternals> | null
  /** The client: `utp` is true when WebTorrent dials uTP at all; `peerId` is ours (hex). */
  readonly client?: { utp?: unknown; peerId?: unknown }
  _addPeer: AddPeer
  removePeer(peer: PeerInternals | string): void
  _update(): void
  _updateWireWrapper(): void
  /** Asks `wire` for the next block of piece `index` it can reserve; false when it did not. */
  _request(wire: WireInternals, index: number, hotswap: boolean): boolean
  /** What seed() calls once the torrent file is built: parse it, then verify and start. */
  _onTorrentId(torrentId: Uint8Array): Promise<void>
  _destroy(err?: Error): void
  emit(event: string, ...args: unknown[]): boolean
  on(event: 'wire', listener: (wire: WireInternals) => void): unknown
  once(event: 'metadata' | 'ready' | 'done' | 'close', listener: () => void): unknown
}

export const internals = (torrent: Torrent) => torrent as unknown as TorrentInternals

/** The connected or connecting peer whose wire is `wire`. */
export function peerOfWire(torrent: Torrent, wire: unknown): PeerInternals | undefined {
  for (const peer of internals(torrent)._peers?.values() ?? []) if (peer.wire === wire) return peer
  return undefined
}

/** A piece worth asking for: not verified yet (WebTorrent nulls a verified piece), and with a
 * block nobody was asked for or one handed back (a cancelled or refused request). */
export function hasBlocksToAsk(piece: PieceInternals | null | undefined): boolean {
  if (!piece) return false
  return piece._reservations < piece._chunks || (piece._cancellations?.length ?? 0) > 0
}
