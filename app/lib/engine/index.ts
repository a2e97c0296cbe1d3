// The engine's interface: what the rest of the app uses of WebTorrent and of what Monsoon does
// to it. WebTorrent's public types pass through; everything past its public surface (the
// internals, the patches, the checks that they applied) stays in this folder (README.md).
// The client itself is made by client.ts (it loads the bundle; imported where the client is
// made, first), the bridge's by hybrid.ts.

export type {
  default as WebTorrent,
  RemoveOptions,
  SeedOptions,
  StreamServer,
  Torrent,
  TorrentFile,
  TorrentOptions,
  Wire,
} from 'webtorrent/dist/webtorrent.min.js'
export {
  announceNow,
  canChangeTrackers,
  currentTrackers,
  downTrackers,
  quietTrackers,
  replaceTrackers,
} from './discovery-trackers.ts'
export {
  engineReport,
  missedPatches,
  PATCHES,
  patchRows,
  TORRENT_PATCHES,
  WIRE_PATCHES,
  type EngineReport,
  type PatchCount,
  type PatchName,
  type PatchRow,
} from './patches.ts'
export { hasPeer, peerConnectionOf, type StatsSource } from './peer-connection.ts'
export {
  PeerConnections,
  type ConnectOptions,
  type PeerConnectionStats,
  type Signal,
  type SignalledPeer,
} from './peer-connections.ts'
export type { MeshHandlers } from './mesh-extension.ts'
export { abandonTorrent, announceSeeding, giveTorrentFile } from './seeding.ts'
export { pieceBuffers } from './fast/buffer-pool.ts'
