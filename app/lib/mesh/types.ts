// The browser mesh's seams (issue 22; ARCHITECTURE.md, "the browser mesh"): what the mesh
// (mesh.ts) is given by the page's client and the catalog, and what it shows the Network and
// torrent views. Messages are shared/mesh/messages.ts's; limits shared/mesh/limits.ts's.

import type { MeshMessage, PageKind } from '../../../shared/mesh/messages.ts'
import type { Signal, SignalledPeer } from '../engine/index.ts'

/** One wire that speaks the mesh (engine/mesh-extension.ts): a Monsoon peer in one swarm. The
 * same remote browser is one neighbour per swarm the two share. */
export interface Neighbour {
  /** The remote peer id (40 hex), from the BitTorrent handshake. */
  readonly peerId: string
  /** The swarm the wire belongs to (40 hex). */
  readonly infoHash: string
  /** The mesh version it named in its extended handshake. */
  readonly version: number
  /** Sends one message; false when the wire is gone. Throws MeshMessageError for a message
   * the codec refuses to write. */
  send(message: MeshMessage): boolean
  /** Closes the wire (a hostile neighbour). */
  close(): void
}

/** What the mesh reads of one torrent of the page's client. */
export interface MeshTorrent {
  readonly infoHash: string
  /** Peer ids of this swarm's connected WebRTC peers (the ones PEX may name). */
  webrtcPeers(): string[]
  /** True when a wire or a connecting attempt to `peerId` exists in this swarm. */
  has(peerId: string): boolean
  /** True when the mesh should find it peers now: its relay trackers are down, or it has too
   * few peers after they had their chance (relay trackers first, then the mesh). */
  wantsPeers(): boolean
}

/** A page of signed records, as relays serve them, each one JSON text. */
export interface RecordPage {
  records: string[]
  /** The cursor to ask after next. */
  next: number
  more: boolean
}

/** The catalog and host records the mesh exchanges (app/catalog/mesh-exchange.ts). */
export interface CatalogExchange {
  /** Up to `limit` of this node's own records of `kind` stored after `cursor`, each verified
   * (a node passes on only what it would store). */
  page(kind: PageKind, cursor: number, limit: number): Promise<RecordPage>
  /** Verifies each record and stores the good ones. `refused`: records that failed
   * verification (forged, malformed): the sender is hostile. */
  accept(kind: PageKind, records: string[]): Promise<{ stored: number; refused: number }>
}

/** What the page's client gives the mesh. */
export interface MeshHost {
  /** This client's peer id (40 hex). */
  readonly peerId: string
  now(): number
  torrent(infoHash: string): MeshTorrent | null
  torrents(): MeshTorrent[]
  /** Opens a WebRTC connection to `peerId` in `infoHash`'s swarm whose signals travel by
   * `send` (engine PeerConnections.connect). */
  connect(
    infoHash: string,
    options: { peerId: string; initiator: boolean; send(signal: Signal): void },
  ): Promise<SignalledPeer>
  /** null while the catalog is not there (tests, a page without a worker). */
  catalog: CatalogExchange | null
  /** A relay to refer an asker to when we do not have a hash, or null. */
  referralRelay(): string | null
  /** A neighbour referred our lookup for `infoHash` to the relay whose WebSocket tracker is
   * `tracker`: unverified text, handed to the torrent's re-homing, which announces there only
   * under the page's rule for referrals (app/lib/rehome.ts). False when the page refuses it
   * (no such torrent, an address it may not contact). */
  referredRelay(infoHash: string, tracker: string): boolean
}

/** How a connected peer of a torrent was found (the torrent view's "found" column). */
export type FoundVia = 'relay tracker' | 'mesh' | 'bridge' | 'direct'

/** One remote browser the mesh speaks to, over one or more swarms. */
export interface NeighbourRow {
  peerId: string
  /** Info hashes of the swarms this neighbour shares with us. */
  swarms: string[]
  /** Unix ms when the first of its wires opened the mesh. */
  since: number
  /** Peer ids it named in PEX messages. */
  pexPeers: number
  /** Connections it introduced to us (signals it carried, lookup answers we used). */
  introductionsReceived: number
  /** Signals we carried for it, and lookups of its we answered. */
  introductionsMade: number
  /** Records it sent that we stored. */
  recordsStored: number
}

export interface MeshStats {
  neighbours: NeighbourRow[]
  /** Totals since the page opened. */
  introductionsMade: number
  introductionsReceived: number
  signalsForwarded: number
  lookupsSent: number
  lookupsAnswered: number
  /** Lookup answers' referrals followed: a neighbour asked, or a relay handed to a torrent. */
  referralsFollowed: number
  recordsStored: number
  /** Peers disconnected for what they sent, newest first (bounded). */
  banned: { peerId: string; reason: string; at: number }[]
}
