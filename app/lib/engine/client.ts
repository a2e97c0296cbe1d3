// The one place the app makes its WebTorrent client. The Transfers page (torrents.svelte.ts)
// and the transfer benchmarks (bench/transfer, bench/swarm) both take their client from
// here, so what the benchmarks call "ours" is exactly what users run.
//
// Every torrent the client makes goes on the fast path (fast/torrent.ts): the same BitTorrent
// wire protocol as stock WebTorrent, cut into fewer, larger data-channel messages, with a
// deeper send buffer and a prompter request loop. It patches the client's own objects as
// they are made ('add' fires for add() and seed() alike), never WebTorrent's prototypes.
// First: the bundle takes the global WebSocket when it is evaluated (sealed-websocket.ts).
import '../sealed-websocket.ts'
import WebTorrent from 'webtorrent/dist/webtorrent.min.js'
import type { TorrentOptions } from 'webtorrent/dist/webtorrent.min.js'
import { pieceBuffers } from './fast/buffer-pool.ts'
import { RECENT_PIECES_BYTES, RecentPieces, type ChunkStore } from './fast/recent-pieces.ts'
import { accelerate } from './fast/torrent.ts'
import { OpfsChunkStore, opfsSupported } from '../opfs-store.ts'
import { preferNewestAttempt } from './pending-peers.ts'

export type ClientOptions = ConstructorParameters<typeof WebTorrent>[0]

/** A WebTorrent client set up the way Monsoon runs it. */
export function createClient(opts?: ClientOptions): WebTorrent {
  const client = new WebTorrent(opts)
  client.on('add', accelerate)
  // Two browsers that each hold a dead attempt for the other must not refuse each other's
  // fresh ones (pending-peers.ts).
  client.on('add', preferNewestAttempt)
  storeDefaults(client)
  return client
}

/**
 * A torrent added or seeded without a store of its own keeps its pieces in the app's OPFS
 * store (opfs-store.ts), as the app's downloads do (persist-library.ts), not in WebTorrent's
 * browser default, fsa-chunk-store: that one writes each piece through createWritable (a
 * swap-file copy and rename in the browser process per piece) and reads each back through
 * getFile(); in a 256 MiB transfer here the browser process spent a third of all the CPU
 * the transfer used on it. seed() goes through add() too.
 * Every store, OPFS or given (a preloaded one too), is read through RecentPieces
 * (fast/recent-pieces.ts) instead of WebTorrent's read cache (storeCacheSlots 0), which
 * copies each block it serves.
 */
function storeDefaults(client: WebTorrent): void {
  const add = client.add.bind(client)
  client.add = (torrentId, options, onTorrent) => {
    // add(id, onTorrent), as WebTorrent allows.
    if (typeof options === 'function') [options, onTorrent] = [{}, options]
    const given = options ?? {}
    if (given.preloadedStore) {
      const preloadedStore = new RecentPieces(given.preloadedStore as ChunkStore)
      return add(torrentId, { ...given, storeCacheSlots: 0, preloadedStore }, onTorrent)
    }
    const store = given.store ?? (opfsSupported() ? OpfsChunkStore : undefined)
    if (!store) return add(torrentId, given, onTorrent)
    return add(torrentId, { ...given, storeCacheSlots: 0, store: keepingRecent(store) }, onTorrent)
  }
}

type StoreClass = NonNullable<TorrentOptions['store']>

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
