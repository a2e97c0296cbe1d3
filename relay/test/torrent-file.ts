// Test fixtures for classic-client interop: a random file written to disk with its .torrent
// (BEP 3) naming only the trackers given, and a TCP port free on a given loopback address.

import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import bencode from 'bencode'
import createTorrent from 'create-torrent'
import { freePort } from './ports.ts'

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

export interface SeedFile {
  /** The directory holding the file: a client's save path to seed it from. */
  dir: string
  name: string
  data: Uint8Array
  torrent: Uint8Array
  torrentPath: string
  /** Lower-case hex. */
  infoHash: string
}

/** Writes `size` random bytes as `dir/name` and its .torrent as `dir/name.torrent`. */
export async function seedFile(
  dir: string,
  name: string,
  size: number,
  announce: string[],
): Promise<SeedFile> {
  mkdirSync(dir, { recursive: true })
  const data = new Uint8Array(randomBytes(size))
  writeFileSync(join(dir, name), data)
  const torrent = await new Promise<Uint8Array>((resolve, reject) =>
    createTorrent(
      join(dir, name),
      { announceList: [announce], urlList: [], createdBy: 'monsoon-test' },
      (err, t) => (err ? reject(err) : resolve(t)),
    ),
  )
  const torrentPath = join(dir, `${name}.torrent`)
  writeFileSync(torrentPath, torrent)
  // BEP 3: the info hash is the SHA-1 of the bencoded info dictionary.
  const { info } = bencode.decode(torrent) as { info: unknown }
  const infoHash = createHash('sha1').update(bencode.encode(info)).digest('hex')
  return { dir, name, data, torrent, torrentPath, infoHash }
}

/** A TCP port free on `host` right now (ports.ts). */
export const freePortOn = (host: string): Promise<number> => freePort(host)
