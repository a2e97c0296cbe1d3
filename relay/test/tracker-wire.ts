// Test-side codec for the BitTorrent HTTP tracker protocol (BEP 3, 7, 23, 48): builds
// announce/scrape query strings with percent-encoded binary ids, and reads bencoded answers
// back with the `bencode` package. Written apart from relay/tracker/http.ts on purpose, so
// tests check the relay against an independent reading of the BEPs.

import { createHash } from 'node:crypto'
import bencode from 'bencode'

export interface AnnounceParams {
  infoHash: Uint8Array
  peerId: Uint8Array
  port?: number | string
  left?: number | string
  event?: string
  numwant?: number | string
  compact?: 0 | 1
  noPeerId?: boolean
  /** Appended as is, e.g. `ip=1.2.3.4`. */
  extra?: string
}

/** Every byte as `%XX`, the way most clients send binary ids. */
export function percentEncode(bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) out += '%' + b.toString(16).padStart(2, '0').toUpperCase()
  return out
}

export function announcePath(p: AnnounceParams): string {
  const parts = [`info_hash=${percentEncode(p.infoHash)}`, `peer_id=${percentEncode(p.peerId)}`]
  parts.push(`port=${p.port ?? 6881}`, 'uploaded=0', 'downloaded=0', `left=${p.left ?? 1000}`)
  if (p.event !== undefined) parts.push(`event=${p.event}`)
  if (p.numwant !== undefined) parts.push(`numwant=${p.numwant}`)
  parts.push(`compact=${p.compact ?? 1}`)
  if (p.noPeerId) parts.push('no_peer_id=1')
  if (p.extra) parts.push(p.extra)
  return `/announce?${parts.join('&')}`
}

export function scrapePath(hashes: Uint8Array[]): string {
  return `/scrape?${hashes.map((h) => `info_hash=${percentEncode(h)}`).join('&')}`
}

export type Dict = Record<string, unknown>

/** Decodes a tracker body; throws when it is not one bencoded dictionary. */
export function decodeDict(body: Uint8Array): Dict {
  const value = bencode.decode(body)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('tracker body is not a bencoded dictionary')
  }
  if (value instanceof Uint8Array) throw new Error('tracker body is a string, not a dictionary')
  return value as Dict
}

/** The `failure reason` text, or undefined when the body is a normal answer. */
export function failureReason(body: Uint8Array): string | undefined {
  const reason = decodeDict(body)['failure reason']
  return reason instanceof Uint8Array ? new TextDecoder().decode(reason) : undefined
}

export interface PeerAddress {
  ip: string
  port: number
}

/** BEP 23: 6 bytes a peer (IPv4 + port, network order). */
export function compactPeers(value: unknown): PeerAddress[] {
  if (!(value instanceof Uint8Array) || value.length % 6 !== 0) {
    throw new Error('peers is not a compact IPv4 string')
  }
  const out: PeerAddress[] = []
  for (let i = 0; i < value.length; i += 6) {
    out.push({ ip: value.subarray(i, i + 4).join('.'), port: (value[i + 4] << 8) | value[i + 5] })
  }
  return out
}

/** BEP 7: 18 bytes a peer (IPv6 + port); addresses in full, lower-case, unabbreviated form. */
export function compactPeers6(value: unknown): PeerAddress[] {
  if (!(value instanceof Uint8Array) || value.length % 18 !== 0) {
    throw new Error('peers6 is not a compact IPv6 string')
  }
  const out: PeerAddress[] = []
  for (let i = 0; i < value.length; i += 18) {
    const groups: string[] = []
    for (let g = 0; g < 8; g++)
      groups.push(((value[i + 2 * g] << 8) | value[i + 2 * g + 1]).toString(16))
    out.push({ ip: groups.join(':'), port: (value[i + 16] << 8) | value[i + 17] })
  }
  return out
}

export interface ScrapeCounts {
  complete: number
  incomplete: number
  downloaded: number
}

/**
 * BEP 48 `files`, keyed by info hash in hex. The bencode package hands a dictionary key back as
 * text when it is valid UTF-8 and as hex otherwise; both are mapped back to the raw bytes here.
 */
export function scrapeFiles(body: Uint8Array): Map<string, ScrapeCounts> {
  const files = decodeDict(body).files
  if (typeof files !== 'object' || files === null) throw new Error('scrape body has no files')
  const out = new Map<string, ScrapeCounts>()
  for (const [key, value] of Object.entries(files as Dict)) {
    const hex =
      key.length === 40 && /^[0-9a-f]+$/.test(key) ? key : Buffer.from(key, 'utf8').toString('hex')
    if (hex.length !== 40) throw new Error(`scrape key is not 20 bytes: ${key}`)
    out.set(hex, value as ScrapeCounts)
  }
  return out
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

/** 20 bytes that are not valid UTF-8 (so ids cannot survive a text round trip by luck). */
export function binaryId(seed: number): Uint8Array {
  const out = new Uint8Array(createHash('sha1').update(`id ${seed}`).digest())
  out[0] = 0xff
  return out
}
