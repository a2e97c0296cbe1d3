// The steps of WebTorrent's own seed() (webtorrent@3.0.21 index.js) that hash/seed.ts runs
// with its own hashing in between: add(null) makes the torrent at once, and once the .torrent
// is built `torrent._onTorrentId(buf)` gives it its metadata. Internal: patches.test.ts fails
// if the bundle's Torrent no longer has them.

import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'
import { internals } from './internals.ts'

/** Gives a torrent made with add(null) its .torrent file; it then verifies and starts. */
export function giveTorrentFile(torrent: Torrent, torrentFile: Uint8Array): Promise<void> {
  return internals(torrent)._onTorrentId(torrentFile)
}

/** Ends a torrent made with add(null) (an error, or a torrent with that hash already open). */
export function abandonTorrent(torrent: Torrent, err?: Error): void {
  internals(torrent)._destroy(err)
}

/** Fires 'seed' as seed() does once seeding starts. */
export function announceSeeding(torrent: Torrent): void {
  internals(torrent).emit('seed')
}

/** Whether `torrent` has the internals seeding uses. */
export function canSeedAsWebTorrent(torrent: Torrent): boolean {
  const t = internals(torrent)
  return typeof t._onTorrentId === 'function' && typeof t._destroy === 'function'
}
