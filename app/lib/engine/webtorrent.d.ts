// Types for WebTorrent's prebuilt browser bundle, the part of its API the app uses.
// The bundle ships no types, and `import WebTorrent from 'webtorrent'` cannot be bundled for
// the browser (it needs Node built-ins; see ../shared/TOOLCHAIN.md), so the app imports
// `webtorrent/dist/webtorrent.min.js` and describes it here.
declare module 'webtorrent/dist/webtorrent.min.js' {
  export interface TorrentFile {
    readonly name: string
    /** Path inside the torrent, starting with the torrent's name for multi-file torrents. */
    readonly path: string
    readonly length: number
    readonly type: string
    readonly downloaded: number
    readonly progress: number
    done: boolean
    blob(): Promise<Blob>
    /** Under the streaming server (createServer): the service worker serves it with ranges. */
    readonly streamURL: string
    /** Reads a range (inclusive end), fetching the pieces it needs first. */
    stream(opts?: { start?: number; end?: number }): ReadableStream<Uint8Array>
    /** Reads a range (inclusive end) into memory, fetching the pieces it needs first. */
    arrayBuffer(opts?: { start?: number; end?: number }): Promise<ArrayBuffer>
    select(priority?: number): void
    deselect(): void
  }

  /** The streaming server: in the browser, the page half of WebTorrent's service worker. */
  export interface StreamServer {
    close(cb?: () => void): void
    destroy(cb?: () => void): void
  }

  /** A connection to one peer (bittorrent-protocol's Wire), as torrent.wires lists them. */
  export interface Wire {
    /** 'webrtc', 'tcpIncoming', 'tcpOutgoing', 'utp…' or 'webSeed'. */
    readonly type: string
    /** Hex; set once the peer's handshake is in. */
    readonly peerId?: string
    readonly remoteAddress?: string
    readonly remotePort?: number
    /** Bytes of piece data sent to and received from this peer. */
    readonly uploaded: number
    readonly downloaded: number
    downloadSpeed(): number
    uploadSpeed(): number
  }

  export interface Torrent {
    readonly infoHash: string
    /** The peers connected now. */
    readonly wires: readonly Wire[]
    readonly magnetURI: string
    readonly name: string
    readonly length: number
    readonly downloaded: number
    readonly uploaded: number
    readonly downloadSpeed: number
    readonly uploadSpeed: number
    /** 0..1 */
    readonly progress: number
    readonly numPeers: number
    /** Milliseconds; Infinity when nothing is coming in. */
    readonly timeRemaining: number
    readonly ready: boolean
    readonly done: boolean
    readonly destroyed: boolean
    readonly files: TorrentFile[]
    readonly pieceLength: number
    /** One entry per piece: null once verified. */
    readonly pieces: unknown[]
    /** Verified pieces (BEP 3 bitfield, high bit first) in `buffer`. */
    readonly bitfield: { buffer: Uint8Array; get(index: number): boolean }
    /** The .torrent file, once the metadata is known. */
    readonly torrentFile: Uint8Array
    /** Bytes received from peers since the torrent was added, counted off the wire. */
    readonly received: number
    readonly paused: boolean
    pause(): void
    resume(): void
    on(event: 'verified', listener: (index: number) => void): this
    on(event: 'error' | 'warning', listener: (err: Error | string) => void): this
    on(
      event: 'infoHash' | 'metadata' | 'ready' | 'done' | 'seed' | 'trackerAnnounce' | 'wire',
      listener: () => void,
    ): this
  }

  export interface TorrentOptions {
    /** Trackers added to those of the torrent or magnet link. */
    announce?: string[]
    /** A chunk store class, constructed with (pieceLength, { length, torrent, ...storeOpts }). */
    store?: new (chunkLength: number, opts: never) => object
    storeOpts?: object
    /** Pieces kept in memory by WebTorrent's read cache in front of the store. */
    storeCacheSlots?: number
    /** Pieces the store already holds: only one or two per file are hashed again. */
    bitfield?: Uint8Array
    /** A chunk store that already holds the data (abstract-chunk-store interface). */
    preloadedStore?: object
  }

  export interface SeedOptions extends TorrentOptions {
    name?: string
    comment?: string
    /** Passed through to create-torrent: bytes hashed so far, of the estimated total. */
    onProgress?: (hashedBytes: number, totalBytes: number) => void
    pieceLength?: number
    /** create-torrent drops names such as .DS_Store unless this is false. */
    filterJunkFiles?: boolean
  }

  export interface RemoveOptions {
    /** Delete the stored pieces (the browser's origin-private file system). */
    destroyStore?: boolean
  }

  export default class WebTorrent {
    constructor(opts?: {
      maxConns?: number
      tracker?: false | { rtcConfig?: RTCConfiguration }
      /** 40 hex characters (20 bytes); a random `-WW…` one when absent. */
      peerId?: string
    })
    /** This client's peer id, 40 hex characters. */
    readonly peerId: string
    readonly torrents: Torrent[]
    static readonly WEBRTC_SUPPORT: boolean
    /** Connections per torrent; read whenever a torrent looks for more peers. */
    maxConns: number
    /** Bytes per second for all torrents; -1 lifts the limit. */
    throttleDownload(rate: number): void
    throttleUpload(rate: number): void
    add(
      torrentId: string | Uint8Array,
      opts?: TorrentOptions,
      onTorrent?: (torrent: Torrent) => void,
    ): Torrent
    seed(files: File[], opts?: SeedOptions, onSeed?: (torrent: Torrent) => void): Torrent
    remove(
      torrent: Torrent | string,
      opts?: RemoveOptions,
      cb?: (err?: Error) => void,
    ): Promise<void>
    /** In the browser: `{ controller }` is the active service worker's registration. */
    createServer(opts: { controller: ServiceWorkerRegistration }): StreamServer
    on(event: 'error', listener: (err: Error | string) => void): this
    /** Every torrent as it is made, by add() and seed() alike, before any peer connects. */
    on(event: 'add', listener: (torrent: Torrent) => void): this
    destroy(cb?: (err?: Error) => void): void
  }
}

// bittorrent-protocol, the wire inside WebTorrent's bundle (a dependency of webtorrent, not
// ours): only app/lib/engine/fast/wire.test.ts loads it, to run the fast path's wire patches on the
// real thing in Node. Its shape there is fast/internals.ts's WireInternals.
declare module 'bittorrent-protocol' {
  const Wire: new () => unknown
  export default Wire
}

// torrent-piece, the Piece WebTorrent downloads into (a dependency of webtorrent, not ours):
// only app/lib/engine/fast/pieces.test.ts loads it, to run the pooled flush on the real thing. Its
// shape there is fast/internals.ts's PieceInternals.
declare module 'torrent-piece' {
  const Piece: new (length: number) => unknown
  export default Piece
}

// @thaunknown/simple-peer, the WebRTC peer WebTorrent's trackers make (a dependency of
// webtorrent, not ours): only app/lib/pending-peers.test.ts loads it, to replay tracker
// signalling by hand in Node. Its shape there is that test's SimplePeer.
declare module '@thaunknown/simple-peer/lite.js' {
  const Peer: new (opts: object) => unknown
  export default Peer
}
