// Seeding picked files with our hash pool in place of WebTorrent's seed() hashing.
//
// Why: client.seed() hashes through create-torrent on the page's thread, one piece at a time
// (about 41-51 MiB/s for 1 GiB here, with main-thread tasks of seconds); pieces.ts hashes in
// workers from large slices of the File (bench/hash). Everything else is seed()'s own path,
// step for step, as in webtorrent@3.0.21 index.js: add(null) makes the torrent object at once
// (the page shows it hashing), the pieces are hashed, the .torrent built (torrent-file.ts:
// the info hash create-torrent would make), an existing torrent with that hash is handed back
// instead, and the engine gives the torrent its metadata (engine/seeding.ts), with skipVerify
// (we made the hashes) and the picked files as its store (no copy).

import {
  abandonTorrent,
  announceSeeding,
  giveTorrentFile,
  type SeedOptions,
  type Torrent,
  type WebTorrent,
} from '../engine/index.ts'
import { hashPieces } from './pieces.ts'
import { buildTorrent, torrentLayout } from './torrent-file.ts'

export function seedFiles(
  client: WebTorrent,
  files: File[],
  opts: SeedOptions & { pieceLength: number; preloadedStore: object },
  onSeed: (torrent: Torrent) => void,
  /** For tests: how a hashing worker is made. */
  spawn?: () => Worker,
): Torrent {
  const torrent = client.add(
    null as unknown as string,
    { ...opts, skipVerify: true } as never,
    (t) => {
      onSeed(t)
      announceSeeding(t)
    },
  )
  void (async () => {
    const pieces = await hashPieces(files, {
      pieceLength: opts.pieceLength,
      onProgress: opts.onProgress,
      spawn,
    })
    if (torrent.destroyed) return
    const built = buildTorrent({
      layout: torrentLayout(files, opts.name),
      pieceLength: opts.pieceLength,
      pieces,
      announce: opts.announce ?? [],
    })
    const existing = client.torrents.find((t) => t !== torrent && t.infoHash === built.infoHash)
    if (existing) {
      abandonTorrent(torrent)
      onSeed(existing)
      return
    }
    await giveTorrentFile(torrent, built.torrent)
  })().catch((err: unknown) =>
    abandonTorrent(torrent, err instanceof Error ? err : new Error(String(err))),
  )
  return torrent
}
