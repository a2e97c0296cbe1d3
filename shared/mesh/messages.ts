// The browser mesh's messages (issue 22; ARCHITECTURE.md, "the browser mesh"): a BitTorrent
// extension (BEP 10) between Monsoon peers, named MESH_EXTENSION in the extended handshake and
// versioned by MESH_VERSION there. Each message is one bencoded dictionary (BEP 3 §bencoding)
// with a type in `t`:
//   pex   WebRTC PEX: peer ids of this swarm's WebRTC-reachable peers, added and dropped
//   sig   an offer or answer for a named peer id, forwarded by a neighbour (hop limit 2)
//   who   "who has this info hash"          has   its answer: peer ids, or a referral
//   pull  a page of listings, supernode records or hosts after a cursor
//   page  its answer: the records as the relays serve them (JSON), verified by the receiver
// Pure: bytes in, a typed message out, or a MeshMessageError saying what was wrong. Peer ids
// and info hashes travel as 20 raw bytes and are handed out as 40 lowercase hex characters.

import bencode from 'bencode'
import { MAX_LISTING_BYTES } from '../limits.ts'

export const MESH_EXTENSION = 'monsoon_mesh'
export const MESH_VERSION = 1

/** A whole message, on the wire: the largest is a page of records; more is refused unread. */
export const MAX_MESH_MESSAGE_BYTES = 64 * 1024
/** Peer ids in one pex list or one lookup answer: ut_pex sends at most 50 added peers. */
export const MAX_MESH_PEER_IDS = 50
/** A forwarded offer or answer is passed on at most this many times (issue 22: hop limit 2). */
export const MAX_SIGNAL_HOPS = 2
/** An SDP without trickled candidates is 1-3 KiB in Chromium; a few times that is plenty. */
export const MAX_SDP_BYTES = 16 * 1024
/** Records in one page, and the bytes of one: as large as the largest listing a relay stores
 * (a page stops adding records before it would pass MAX_MESH_MESSAGE_BYTES). */
export const MAX_PAGE_RECORDS = 64
export const MAX_PAGE_RECORD_BYTES = MAX_LISTING_BYTES
/** A referral's relay URL. */
export const MAX_REFERRAL_URL_CHARS = 512

export type PageKind = 'listings' | 'supernodes' | 'hosts'
const PAGE_KINDS: readonly PageKind[] = ['listings', 'supernodes', 'hosts']

export type MeshMessage =
  | { t: 'pex'; added: string[]; dropped: string[] }
  | {
      t: 'sig'
      to: string
      from: string
      infoHash: string
      hops: number
      kind: 'offer' | 'answer'
      sdp: string
    }
  | { t: 'who'; query: number; infoHash: string }
  | {
      t: 'has'
      query: number
      infoHash: string
      peers: string[]
      referral?: { peer?: string; relay?: string }
    }
  | { t: 'pull'; query: number; kind: PageKind; cursor: number }
  | { t: 'page'; query: number; kind: PageKind; next: number; more: boolean; records: string[] }

export class MeshMessageError extends Error {
  override readonly name = 'MeshMessageError'
}

const HEX40 = /^[0-9a-f]{40}$/
const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder('utf-8', { fatal: true })

function id20(hex: string, what: string): Uint8Array {
  if (!HEX40.test(hex)) throw new MeshMessageError(`${what} must be 40 lowercase hex characters`)
  const out = new Uint8Array(20)
  for (let i = 0; i < 20; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}

function ids(list: readonly string[], what: string): Uint8Array[] {
  if (list.length > MAX_MESH_PEER_IDS) throw new MeshMessageError(`too many ${what}`)
  return list.map((id) => id20(id, what))
}

function count(n: number, what: string, max = 0xffffffff): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > max) {
    throw new MeshMessageError(`${what} must be a whole number from 0 to ${max}`)
  }
  return n
}

function text(s: string, maxBytes: number, what: string): Uint8Array {
  const bytes = utf8.encode(s)
  if (bytes.length > maxBytes) throw new MeshMessageError(`${what} is over ${maxBytes} bytes`)
  return bytes
}

/** The message's bytes; throws MeshMessageError for a message the receiver would refuse. */
export function encodeMeshMessage(m: MeshMessage): Uint8Array {
  const dict = wireDict(m)
  const out = bencode.encode(dict)
  if (out.length > MAX_MESH_MESSAGE_BYTES) throw new MeshMessageError('message too large')
  return out
}

function wireDict(m: MeshMessage): Record<string, unknown> {
  switch (m.t) {
    case 'pex':
      return { t: 'pex', a: ids(m.added, 'added peer ids'), d: ids(m.dropped, 'dropped peer ids') }
    case 'sig':
      return {
        t: 'sig',
        to: id20(m.to, 'to'),
        fr: id20(m.from, 'from'),
        ih: id20(m.infoHash, 'info hash'),
        h: count(m.hops, 'hops', MAX_SIGNAL_HOPS),
        k: m.kind === 'offer' ? 'o' : 'a',
        s: text(m.sdp, MAX_SDP_BYTES, 'sdp'),
      }
    case 'who':
      return { t: 'who', q: count(m.query, 'query'), ih: id20(m.infoHash, 'info hash') }
    case 'has': {
      const referral: Record<string, unknown> = {}
      if (m.referral?.peer !== undefined) referral.p = id20(m.referral.peer, 'referral peer')
      if (m.referral?.relay !== undefined) {
        referral.u = text(m.referral.relay, MAX_REFERRAL_URL_CHARS, 'referral relay')
      }
      return {
        t: 'has',
        q: count(m.query, 'query'),
        ih: id20(m.infoHash, 'info hash'),
        p: ids(m.peers, 'peer ids'),
        ...(Object.keys(referral).length > 0 && { r: referral }),
      }
    }
    case 'pull':
      return {
        t: 'pull',
        q: count(m.query, 'query'),
        k: kindOf(m.kind),
        c: count(m.cursor, 'cursor', Number.MAX_SAFE_INTEGER),
      }
    case 'page':
      if (m.records.length > MAX_PAGE_RECORDS) throw new MeshMessageError('too many records')
      return {
        t: 'page',
        q: count(m.query, 'query'),
        k: kindOf(m.kind),
        n: count(m.next, 'next', Number.MAX_SAFE_INTEGER),
        m: m.more ? 1 : 0,
        i: m.records.map((r) => text(r, MAX_PAGE_RECORD_BYTES, 'record')),
      }
  }
}

function kindOf(kind: string): PageKind {
  if (!PAGE_KINDS.includes(kind as PageKind)) throw new MeshMessageError(`no page kind ${kind}`)
  return kind as PageKind
}

/** Reads one message. Throws MeshMessageError, never anything else, for bad input. */
export function decodeMeshMessage(bytes: Uint8Array): MeshMessage {
  if (bytes.length > MAX_MESH_MESSAGE_BYTES) throw new MeshMessageError('message too large')
  let value: unknown
  try {
    value = bencode.decode(bytes)
  } catch {
    throw new MeshMessageError('not bencode')
  }
  // One encoding per message (sorted keys, no trailing bytes, exact integers), as BEP 3 asks of
  // bencode: a message that re-encodes differently is refused, so a receiver sees what was sent.
  if (!sameBytes(bencode.encode(value), bytes)) {
    throw new MeshMessageError('not canonical bencode')
  }
  const d = asDict(value, 'message')
  const t = asText(d.t, 16, 't')
  switch (t) {
    case 'pex':
      return { t, added: asIds(d.a, 'added'), dropped: asIds(d.d, 'dropped') }
    case 'sig': {
      const k = asText(d.k, 1, 'k')
      if (k !== 'o' && k !== 'a') throw new MeshMessageError('k must be o or a')
      return {
        t,
        to: asId(d.to, 'to'),
        from: asId(d.fr, 'from'),
        infoHash: asId(d.ih, 'info hash'),
        hops: asCount(d.h, 'hops', MAX_SIGNAL_HOPS),
        kind: k === 'o' ? 'offer' : 'answer',
        sdp: asText(d.s, MAX_SDP_BYTES, 'sdp'),
      }
    }
    case 'who':
      return { t, query: asCount(d.q, 'query'), infoHash: asId(d.ih, 'info hash') }
    case 'has': {
      const out: Extract<MeshMessage, { t: 'has' }> = {
        t,
        query: asCount(d.q, 'query'),
        infoHash: asId(d.ih, 'info hash'),
        peers: asIds(d.p, 'peers'),
      }
      if (d.r !== undefined) {
        const r = asDict(d.r, 'referral')
        out.referral = {}
        if (r.p !== undefined) out.referral.peer = asId(r.p, 'referral peer')
        if (r.u !== undefined) out.referral.relay = asText(r.u, MAX_REFERRAL_URL_CHARS, 'relay')
      }
      return out
    }
    case 'pull':
      return {
        t,
        query: asCount(d.q, 'query'),
        kind: kindOf(asText(d.k, 16, 'k')),
        cursor: asCount(d.c, 'cursor', Number.MAX_SAFE_INTEGER),
      }
    case 'page': {
      if (!Array.isArray(d.i) || d.i.length > MAX_PAGE_RECORDS) {
        throw new MeshMessageError('i must be a list of at most ' + MAX_PAGE_RECORDS + ' records')
      }
      const more = asCount(d.m, 'm', 1)
      return {
        t,
        query: asCount(d.q, 'query'),
        kind: kindOf(asText(d.k, 16, 'k')),
        next: asCount(d.n, 'next', Number.MAX_SAFE_INTEGER),
        more: more === 1,
        records: d.i.map((r: unknown) => asText(r, MAX_PAGE_RECORD_BYTES, 'record')),
      }
    }
    default:
      throw new MeshMessageError(`no message type ${t}`)
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function asDict(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw new MeshMessageError(`${what} must be a dictionary`)
  }
  return v as Record<string, unknown>
}

function asText(v: unknown, maxBytes: number, what: string): string {
  if (!(v instanceof Uint8Array)) throw new MeshMessageError(`${what} must be a string`)
  if (v.length > maxBytes) throw new MeshMessageError(`${what} is over ${maxBytes} bytes`)
  try {
    return fromUtf8.decode(v)
  } catch {
    throw new MeshMessageError(`${what} is not UTF-8`)
  }
}

function asId(v: unknown, what: string): string {
  if (!(v instanceof Uint8Array) || v.length !== 20) {
    throw new MeshMessageError(`${what} must be 20 bytes`)
  }
  let hex = ''
  for (const b of v) hex += b.toString(16).padStart(2, '0')
  return hex
}

function asIds(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.length > MAX_MESH_PEER_IDS) {
    throw new MeshMessageError(`${what} must be a list of at most ${MAX_MESH_PEER_IDS} peer ids`)
  }
  return v.map((id: unknown) => asId(id, what))
}

function asCount(v: unknown, what: string, max = 0xffffffff): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
    throw new MeshMessageError(`${what} must be a whole number from 0 to ${max}`)
  }
  return v
}
