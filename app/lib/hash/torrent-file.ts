// A .torrent (BEP 3) for files picked in the page, from piece hashes computed by pieces.ts:
// the same info dictionary create-torrent (WebTorrent's seed) makes for the same files,
// names and piece length, so the info hash is the same whichever made it
// (torrent-file.test.ts checks against create-torrent).

import bencode from 'bencode'
import { sha1 } from '@noble/hashes/legacy.js'
import { bytesToHex } from '@noble/hashes/utils.js'

export interface PickedFile {
  name: string
  size: number
  /** A dropped folder's relative path, when the browser gives one. */
  fullPath?: string
}

export interface TorrentLayout {
  name: string
  /** Single-file mode (`length`) rather than `files`. */
  single: boolean
  files: { path: string[]; length: number }[]
}

/** Names the torrent and its files the way create-torrent does for the same input. */
export function torrentLayout(files: readonly PickedFile[], name?: string): TorrentLayout {
  const paths = files.map((f, i) => {
    const parts = (f.fullPath || f.name || `Unknown File ${i + 1}`).split('/')
    if (!parts[0]) parts.shift()
    return parts
  })
  let prefix: string | null = null
  paths.forEach((parts, i) => {
    if (parts.length < 2) prefix = null
    else if (i === 0 && paths.length > 1) prefix = parts[0]
    else if (parts[0] !== prefix) prefix = null
  })
  const stripped = prefix === null ? paths : paths.map((parts) => parts.slice(1))
  const title = name || prefix || paths[0]?.[paths[0].length - 1] || `Unnamed Torrent ${Date.now()}`
  return {
    name: title,
    single: files.length === 1,
    files: stripped.map((path, i) => ({ path, length: files[i].size })),
  }
}

export interface BuiltTorrent {
  /** The bencoded .torrent. */
  torrent: Uint8Array
  /** Hex SHA-1 of the bencoded info dictionary. */
  infoHash: string
}

export function buildTorrent(input: {
  layout: TorrentLayout
  pieceLength: number
  pieces: Uint8Array
  announce: readonly string[]
  createdBy?: string
  creationDate?: number
}): BuiltTorrent {
  const { layout } = input
  const info: Record<string, unknown> = {
    name: layout.name,
    'piece length': input.pieceLength,
    pieces: input.pieces,
  }
  if (layout.single) info.length = layout.files[0].length
  else info.files = layout.files.map((f) => ({ length: f.length, path: f.path }))
  const torrent: Record<string, unknown> = {
    info,
    'creation date': input.creationDate ?? Math.ceil(Date.now() / 1000),
    encoding: 'UTF-8',
    'created by': input.createdBy ?? 'Monsoon',
  }
  if (input.announce.length > 0) {
    torrent.announce = input.announce[0]
    torrent['announce-list'] = input.announce.map((url) => [url])
  }
  return {
    torrent: bencode.encode(torrent),
    infoHash: bytesToHex(sha1(bencode.encode(info))),
  }
}
