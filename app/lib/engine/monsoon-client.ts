// A WebTorrent client set up the way Monsoon runs it, from whichever WebTorrent class is
// given: the bundle the app ships (client.ts), or the same bundle loaded in Node by tests
// (test-bundle.ts). So what the tests and benchmarks call "ours" is exactly what users run.
//
// Every torrent the client makes ('add' fires for add() and seed() alike, before any peer
// connects) goes on the fast path (fast/torrent.ts) and gets the one add-peer rule set
// (add-peer.ts); each patch is recorded by name (patches.ts). Its WebRTC peers are made by the
// peer connection layer (peer-connections.ts).

import type WebTorrent from 'webtorrent/dist/webtorrent.min.js'
import type { Torrent, TorrentOptions } from 'webtorrent/dist/webtorrent.min.js'
import { routeAddPeer } from './add-peer.ts'
import { pieceBuffers } from './fast/buffer-pool.ts'
import { RECENT_PIECES_BYTES, RecentPieces, type ChunkStore } from './fast/recent-pieces.ts'
import { accelerate } from './fast/torrent.ts'
import { meshExtension, type MeshHandlers } from './mesh-extension.ts'
import { recordPatch } from './patches.ts'
import { oneAttemptPerPeer } from './pending-peers.ts'
import type { PeerConnections } from './peer-connections.ts'
import { PEER_ID_RANDOM_BYTES, pagePeerId } from '../peer-ids.ts'

export type ClientOptions = NonNullable<ConstructorParameters<typeof WebTorrent>[0]>
export type StoreClass = NonNullable<TorrentOptions['store']>

export interface EngineDeps {
  /** Makes the client's WebRTC connections (its ICE servers, its count). */
  peerConnections: PeerConnections
  /** Where a torrent added without a store of its own keeps its pieces; undefined for
   * WebTorrent's own default. */
  defaultStore?: StoreClass
  /** The browser mesh (issue 22): every wire offers its BEP 10 extension (mesh-extension.ts),
   * its messages going here. Without it no wire offers the extension. */
  mesh?: MeshHandlers
}

/** Listens on a torrent's events beyond the bundle's typed ones ('wire': a peer's wire, with
 * bittorrent-protocol's public `use()`). */
const onWire = (torrent: Torrent, listener: (wire: { use(e: unknown): void }) => void) =>
  (torrent as unknown as { on(e: 'wire', l: typeof listener): void }).on('wire', listener)

/** A client of `WebTorrentClass` on Monsoon's engine. */
export function monsoonClient(
  WebTorrentClass: typeof WebTorrent,
  opts: ClientOptions,
  deps: EngineDeps,
): WebTorrent {
  const tracker =
    opts.tracker === false ? false : { ...opts.tracker, ...deps.peerConnections.trackerOptions }
  // A Monsoon peer id unless one is given (the bridge gives its own): other Monsoon peers break
  // glare with it by the lower id, stock ones as stock does (pending-peers.ts).
  const peerId =
    opts.peerId ?? pagePeerId(crypto.getRandomValues(new Uint8Array(PEER_ID_RANDOM_BYTES)))
  const client = new WebTorrentClass({ ...opts, peerId, tracker } as ClientOptions)
  client.on('add', (torrent: Torrent) => {
    accelerate(torrent)
    // Two browsers that each hold a dead attempt for the other must not refuse each other's
    // fresh ones (pending-peers.ts).
    recordPatch(torrent, 'add-peer', routeAddPeer(torrent, [oneAttemptPerPeer]))
    // 'wire' comes before our extended handshake goes, so the extension is named in it; a
    // magnet's info hash is known by the time any wire exists.
    const mesh = deps.mesh
    if (mesh) onWire(torrent, (wire) => wire.use(meshExtension(mesh, torrent.infoHash)))
  })
  storeDefaults(client, deps.defaultStore)
  return client
}

/**
 * A torrent added or seeded without a store of its own keeps its pieces in `defaultStore`
 * (the app's OPFS store, opfs-store.ts, as the app's downloads do, persist-library.ts), not in
 * WebTorrent's browser default, fsa-chunk-store: that one writes each piece through
 * createWritable (a swap-file copy and rename in the browser process per piece) and reads each
 * back through getFile(); in a 256 MiB transfer here the browser process spent a third of all
 * the CPU the transfer used on it. seed() goes through add() too.
 * Every store, default or given (a preloaded one too), is read through RecentPieces
 * (fast/recent-pieces.ts) instead of WebTorrent's read cache (storeCacheSlots 0), which
 * copies each block it serves.
 */
function storeDefaults(client: WebTorrent, defaultStore: StoreClass | undefined): void {
  const add = client.add.bind(client)
  client.add = (torrentId, options, onTorrent) => {
    // add(id, onTorrent), as WebTorrent allows.
    if (typeof options === 'function') [options, onTorrent] = [{}, options]
    const given = options ?? {}
    if (given.preloadedStore) {
      const preloadedStore = new RecentPieces(given.preloadedStore as ChunkStore)
      return add(torrentId, { ...given, storeCacheSlots: 0, preloadedStore }, onTorrent)
    }
    const store = given.store ?? defaultStore
    if (!store) return add(torrentId, given, onTorrent)
    return add(torrentId, { ...given, storeCacheSlots: 0, store: keepingRecent(store) }, onTorrent)
  }
}

/** Where RecentPieces gives a downloaded piece back once it lets go of it (fast/pieces.ts). */
const recyclePiece = (buf: Uint8Array) => pieceBuffers.give(buf)

/** `Store`, constructed as WebTorrent does, behind RecentPieces. */
function keepingRecent(Store: StoreClass): StoreClass {
  return class extends RecentPieces {
    constructor(chunkLength: number, opts: never) {
      super(new Store(chunkLength, opts) as ChunkStore, RECENT_PIECES_BYTES, recyclePiece)
    }
  } as unknown as StoreClass
}
