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
  }

  export interface Torrent {
    readonly infoHash: string
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
    on(event: 'error' | 'warning', listener: (err: Error | string) => void): this
    on(
      event: 'infoHash' | 'metadata' | 'ready' | 'done' | 'seed' | 'trackerAnnounce' | 'wire',
      listener: () => void,
    ): this
  }

  export interface TorrentOptions {
    /** Trackers added to those of the torrent or magnet link. */
    announce?: string[]
  }

  export interface SeedOptions extends TorrentOptions {
    name?: string
    comment?: string
    /** Passed through to create-torrent: bytes hashed so far, of the estimated total. */
    onProgress?: (hashedBytes: number, totalBytes: number) => void
    pieceLength?: number
    /** create-torrent drops names such as .DS_Store unless this is false. */
    filterJunkFiles?: boolean
    /** A chunk store that already holds the data (abstract-chunk-store interface). */
    preloadedStore?: object
  }

  export interface RemoveOptions {
    /** Delete the stored pieces (the browser's origin-private file system). */
    destroyStore?: boolean
  }

  export default class WebTorrent {
    constructor(opts?: { maxConns?: number; tracker?: { rtcConfig?: RTCConfiguration } })
    readonly torrents: Torrent[]
    static readonly WEBRTC_SUPPORT: boolean
    /** Connections per torrent; read whenever a torrent looks for more peers. */
    maxConns: number
    /** Bytes per second for all torrents; -1 lifts the limit. */
    throttleDownload(rate: number): void
    throttleUpload(rate: number): void
    add(torrentId: string, opts?: TorrentOptions, onTorrent?: (torrent: Torrent) => void): Torrent
    seed(files: File[], opts?: SeedOptions, onSeed?: (torrent: Torrent) => void): Torrent
    remove(
      torrent: Torrent | string,
      opts?: RemoveOptions,
      cb?: (err?: Error) => void,
    ): Promise<void>
    on(event: 'error', listener: (err: Error | string) => void): this
    destroy(cb?: (err?: Error) => void): void
  }
}
