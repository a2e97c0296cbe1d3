// Types for the parts of parse-torrent the bridge uses (the package ships none).

declare module 'parse-torrent' {
  export interface ParsedTorrent {
    infoHash?: string
    name?: string
    announce?: string[]
    length?: number
    info?: unknown
  }
  export default function parseTorrent(torrentId: string | Uint8Array): Promise<ParsedTorrent>
}
