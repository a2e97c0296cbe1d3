// The connected peers of a torrent, as the peer table shows them: each wire's path (read off
// its WebRTC connection's stats, peer-path.ts), how it was found (the page's client says:
// injected, so this reads without one), and the bytes each way.

import type { Torrent, Wire } from './engine/index.ts'
import { peerConnectionOf } from './engine/index.ts'
import type { FoundVia } from './mesh/types.ts'
import { classifyPath, wirePath, type PeerPath } from './peer-path.ts'

/** Peers shown: each costs a getStats() per poll, and a tab rarely holds more. */
export const MAX_PEER_ROWS = 50
/** How often the table reads the stats again while it is shown. */
export const PEER_POLL_MS = 2_000

/** How the page's client found a wire of a torrent (TorrentClient.foundVia). */
export type FoundViaOf = (torrent: Torrent, wire: Wire) => FoundVia

/** The found column's words for each way (the data-found attribute carries the FoundVia). */
export const FOUND_LABELS: Record<FoundVia, string> = {
  'relay tracker': 'Relay tracker',
  mesh: 'Mesh introduction',
  bridge: 'Relay bridge',
  direct: 'Without a tracker',
}

export interface PeerRow {
  /** The peer id (hex), else the wire's place in the list. */
  key: string
  /** As the peer gave it: render as text only. */
  address: string | null
  path: PeerPath
  found: FoundVia
  uploaded: number
  downloaded: number
  uploadSpeed: number
  downloadSpeed: number
}

/** The torrent's peers now, at most MAX_PEER_ROWS of them. */
export async function readPeerRows(torrent: Torrent, foundVia: FoundViaOf): Promise<PeerRow[]> {
  const wires = (torrent.wires ?? []).slice(0, MAX_PEER_ROWS)
  return Promise.all(
    wires.map(async (wire, i): Promise<PeerRow> => {
      let path = wirePath(wire.type)
      if (wire.type === 'webrtc') {
        const pc = peerConnectionOf(torrent, wire)
        path = pc ? await pc.getStats().then(classifyPath, () => path) : path
      }
      return {
        key: typeof wire.peerId === 'string' && wire.peerId ? wire.peerId : `#${i}`,
        // A WebRTC wire's own remoteAddress is a stand-in (WebTorrent makes one up): the
        // stats' remote candidate is where the bytes go.
        address:
          wire.type === 'webrtc'
            ? path.remote
            : wire.remoteAddress
              ? `${wire.remoteAddress}${wire.remotePort ? `:${wire.remotePort}` : ''}`
              : null,
        path,
        found: foundVia(torrent, wire),
        uploaded: wire.uploaded,
        downloaded: wire.downloaded,
        uploadSpeed: wire.uploadSpeed(),
        downloadSpeed: wire.downloadSpeed(),
      }
    }),
  )
}
