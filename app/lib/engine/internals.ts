// The parts of WebTorrent 3.0.21's internals (webtorrent/dist/webtorrent.min.js, pinned in
// package-lock.json) that the fast path reaches into. Property names survive the bundle's
// minification; each patch checks the shape it relies on and leaves an object alone (stock
// behaviour) when it is not there, so a WebTorrent update degrades to stock speed rather than
// breaking transfers. e2e/interop.spec.ts fails if the patches stop applying.

import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'

/** bittorrent-protocol's Wire (lib: bittorrent-protocol/index.js). */
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
  push(data: Uint8Array | null): boolean
  have(index: number): void
  _push(data: Uint8Array): unknown
  _message(id: number, numbers: number[], data: Uint8Array | null): void
  on(event: string, listener: (...args: never[]) => void): unknown
  once(event: string, listener: (...args: never[]) => void): unknown
}

/** @thaunknown/simple-peer's Peer (lite.js), the WebRTC connection under a wire. */
export interface SimplePeerInternals {
  destroyed: boolean
  _connected: boolean
  _channel: RTCDataChannel | null
  /** The one chunk written before the channel opened, sent once it does. */
  _chunk: Uint8Array | null
  _cb: ((err: Error | null) => void) | null
  _write(chunk: Uint8Array, cb: (err: Error | null) => void): void
}

/** WebTorrent's Peer (lib/peer.js). */
export interface PeerInternals {
  type: string
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
  _peers: Map<string, PeerInternals> | null
  _update(): void
  _updateWireWrapper(): void
  /** Asks `wire` for the next block of piece `index` it can reserve; false when it did not. */
  _request(wire: WireInternals, index: number, hotswap: boolean): boolean
  on(event: 'wire', listener: (wire: WireInternals) => void): unknown
  once(event: 'metadata' | 'ready' | 'done' | 'close', listener: () => void): unknown
}

export const internals = (torrent: Torrent) => torrent as unknown as TorrentInternals

/** A piece worth asking for: not verified yet (WebTorrent nulls a verified piece), and with a
 * block nobody was asked for or one handed back (a cancelled or refused request). */
export function hasBlocksToAsk(piece: PieceInternals | null | undefined): boolean {
  if (!piece) return false
  return piece._reservations < piece._chunks || (piece._cancellations?.length ?? 0) > 0
}
