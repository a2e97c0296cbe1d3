// Types for the parts of the stock clients the integration tests drive. None of these
// packages ships its own types.

declare module 'bittorrent-tracker' {
  import type { EventEmitter } from 'node:events'

  export interface TrackerPeer extends EventEmitter {
    /** The remote peer id, hex. */
    id: string
    remoteAddress?: string
    send(data: string | Uint8Array): void
    destroy(): void
  }

  export interface ScrapeData {
    announce: string
    infoHash: string
    complete: number
    incomplete: number
    downloaded: number
  }

  export interface ClientOptions {
    infoHash: string
    peerId: string
    announce: string[]
    port: number
    rtcConfig?: Record<string, unknown>
  }

  export default class Client extends EventEmitter {
    constructor(opts: ClientOptions)
    start(opts?: { left?: number }): void
    stop(): void
    scrape(): void
    destroy(cb?: () => void): void
  }
}

declare module 'webtorrent' {
  import type { EventEmitter } from 'node:events'

  export interface TorrentFile {
    readonly name: string
    readonly length: number
    arrayBuffer(): Promise<ArrayBuffer>
  }

  export interface Torrent extends EventEmitter {
    readonly infoHash: string
    readonly files: TorrentFile[]
    readonly numPeers: number
    readonly progress: number
  }

  export interface WebTorrentOptions {
    dht?: boolean
    lsd?: boolean
    utp?: boolean
    natUpnp?: boolean
    natPmp?: boolean
    webSeeds?: boolean
    tracker?: { rtcConfig?: Record<string, unknown> }
  }

  export default class WebTorrent extends EventEmitter {
    constructor(opts?: WebTorrentOptions)
    add(torrentId: string | Uint8Array, opts?: { path?: string }): Torrent
    seed(
      input: Uint8Array | string,
      opts: { name?: string; announce?: string[]; path?: string },
      onSeed?: (torrent: Torrent) => void,
    ): Torrent
    destroy(cb?: (err?: Error) => void): void
  }
}

declare module 'create-torrent' {
  export interface CreateTorrentOptions {
    name?: string
    announceList: string[][]
    urlList?: string[]
    createdBy?: string
    private?: boolean
    pieceLength?: number
  }

  export default function createTorrent(
    input: string | Uint8Array | Uint8Array[],
    opts: CreateTorrentOptions,
    cb: (err: Error | null, torrent: Uint8Array) => void,
  ): void
}
