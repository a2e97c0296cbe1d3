// The page's WebTorrent client as the mesh sees it (types.ts MeshHost): its torrents, the
// connections the mesh asks for (made by the peer connection layer, engine/peer-connections.ts),
// and when a torrent wants peers from the mesh: its relay trackers come first.

import {
  currentTrackers,
  downTrackers,
  hasPeer,
  type PeerConnections,
  type Torrent,
  type WebTorrent,
} from '../engine/index.ts'
import type { Referral } from '../referral.ts'
import { trackerRelay } from '../supernode-view.ts'
import type { CatalogExchange, MeshHost, MeshTorrent } from './types.ts'

/** The mesh looks for peers for a torrent with fewer than this many: WebTorrent's trackers
 * ask for 50 at a time, but a swarm of 20 already downloads at what a browser can take. */
export const MESH_PEERS_WANTED = 20
/** While a relay tracker is up, it has this long to find a torrent's peers before the mesh
 * helps (relay first: its offers come from the whole swarm, the mesh's from neighbours). */
export const RELAY_FIRST_MS = 15_000

const PEER_ID = /^[0-9a-f]{40}$/

export interface ClientHostDeps {
  /** The page's WebTorrent client. */
  client: WebTorrent
  peerConnections: PeerConnections
  now(): number
  catalog: CatalogExchange | null
  referralRelay(): string | null
  /** The origin of a relay (http URL) when the page may contact it, else null: the check the
   * page's host cache makes of a relay a neighbour names (bootstrap/host-cache.ts). */
  checkRelay(url: string): string | null
  /** Hands a referral to the re-homing of `infoHash`'s torrent (rehome.ts TorrentHome, whose
   * rule decides whether it announces there); false when the torrent has none. */
  rehome(infoHash: string, referral: Referral): boolean
}

/** True when at least one of the torrent's relay trackers has its socket up. */
function trackerUp(torrent: Torrent): boolean {
  const trackers = currentTrackers(torrent)
  if (!trackers || trackers.length === 0) return false
  const down = new Set(downTrackers(torrent))
  return trackers.some((t) => !down.has(t))
}

export function clientMeshHost(deps: ClientHostDeps): MeshHost {
  const { client, peerConnections, now } = deps
  // When the mesh first saw each torrent: relay trackers get RELAY_FIRST_MS from then.
  const firstSeen = new WeakMap<Torrent, number>()
  const find = (infoHash: string) =>
    client.torrents.find((t) => t.infoHash === infoHash && !t.destroyed) ?? null
  const view = (torrent: Torrent): MeshTorrent => {
    if (!firstSeen.has(torrent)) firstSeen.set(torrent, now())
    return {
      infoHash: torrent.infoHash,
      webrtcPeers: () =>
        torrent.wires.flatMap((w) =>
          w.type === 'webrtc' && w.peerId && PEER_ID.test(w.peerId) ? [w.peerId] : [],
        ),
      has: (peerId) => hasPeer(torrent, peerId),
      wantsPeers: () =>
        !torrent.destroyed &&
        !torrent.paused &&
        torrent.numPeers < MESH_PEERS_WANTED &&
        (!trackerUp(torrent) || now() - (firstSeen.get(torrent) ?? 0) >= RELAY_FIRST_MS),
    }
  }
  return {
    get peerId() {
      return (client as unknown as { peerId: string }).peerId
    },
    now,
    torrent: (infoHash) => {
      const torrent = find(infoHash)
      return torrent ? view(torrent) : null
    },
    torrents: () => client.torrents.filter((t) => t.infoHash && !t.destroyed).map(view),
    connect: async (infoHash, options) => {
      const torrent = find(infoHash)
      if (!torrent) throw new Error(`no torrent ${infoHash} here`)
      return peerConnections.connect(torrent, options)
    },
    catalog: deps.catalog,
    referralRelay: deps.referralRelay,
    referredRelay: (infoHash, tracker) => {
      const relay = trackerRelay(tracker)
      if (!find(infoHash) || relay === null || deps.checkRelay(relay) === null) return false
      return deps.rehome(infoHash, { kind: 'refer', trackers: [tracker] })
    },
  }
}
