// STUN messages (RFC 8489 §5, §14) with the TURN methods and attributes (RFC 8656 §13, §14),
// and TURN ChannelData framing (RFC 8656 §12.4, §12.5). Pure: bytes in, typed value out.
//
// Hand-written rather than built on a STUN library because MESSAGE-INTEGRITY must be checked
// over the exact bytes received (RFC 8489 §14.5), not over a re-encoding, and because the
// data path (Send indications, ChannelData) must not allocate an object per attribute: a
// decoded attribute here is a Buffer view into the received datagram. @msimerson/stun is the
// independent reference in the tests.

import { createHmac, timingSafeEqual } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'
import { crc32 } from 'node:zlib'
import { MAX_STUN_ATTRIBUTES } from '../limits.ts'

/** RFC 8489 §5. */
export const MAGIC_COOKIE = 0x2112a442
export const HEADER_BYTES = 20
/** RFC 8489 §14.7: the CRC-32 is XORed with this ("STUN"). */
const FINGERPRINT_XOR = 0x5354554e

/** Methods (RFC 8489 §18.2, RFC 8656 §17). */
export const Method = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
} as const

/** Message classes (RFC 8489 §5). */
export const MessageClass = { Request: 0, Indication: 1, Success: 2, Error: 3 } as const

/** Attribute types (RFC 8489 §18.3, RFC 8656 §18). */
export const Attr = {
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  UnknownAttributes: 0x000a,
  ChannelNumber: 0x000c,
  Lifetime: 0x000d,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorRelayedAddress: 0x0016,
  RequestedAddressFamily: 0x0017,
  EvenPort: 0x0018,
  RequestedTransport: 0x0019,
  DontFragment: 0x001a,
  XorMappedAddress: 0x0020,
  ReservationToken: 0x0022,
  Software: 0x8022,
  Fingerprint: 0x8028,
} as const

export type StunErrorReason =
  | 'truncated'
  | 'not-stun'
  | 'bad-cookie'
  | 'bad-length'
  | 'attribute-overrun'
  | 'too-many-attributes'
  | 'bad-attribute'
  | 'bad-fingerprint'
  | 'after-fingerprint'
  | 'bad-channel-data'

/** Input that is not a well-formed STUN message or ChannelData frame. */
export class StunParseError extends Error {
  readonly reason: StunErrorReason
  constructor(reason: StunErrorReason, detail: string = reason) {
    super(`STUN: ${detail}`)
    this.name = 'StunParseError'
    this.reason = reason
  }
}

export interface StunAttribute {
  type: number
  /** A view into the message's bytes (unpadded). */
  value: Buffer
}

export interface StunMessage {
  method: number
  cls: number
  /** 12 bytes, a view into `raw`. */
  transactionId: Buffer
  /** In order; attributes after MESSAGE-INTEGRITY other than FINGERPRINT are left out
   * (RFC 8489 §14.5: the receiver ignores them). */
  attributes: StunAttribute[]
  /** The exact bytes decoded. */
  raw: Buffer
  /** Offset in `raw` of the MESSAGE-INTEGRITY attribute's header, or -1. */
  integrityAt: number
}

export interface StunMessageInit {
  method: number
  cls: number
  transactionId: Uint8Array
  attributes?: readonly { type: number; value: Uint8Array }[]
}

const pad4 = (n: number) => (n + 3) & ~3

export function messageType(method: number, cls: number): number {
  return (
    (method & 0x000f) |
    ((method & 0x0070) << 1) |
    ((method & 0x0f80) << 2) |
    ((cls & 1) << 4) |
    ((cls & 2) << 7)
  )
}

/** Decodes one STUN message that fills `raw` exactly (a datagram, or a frame cut from a
 * stream by `frameLength`). Throws StunParseError. */
export function decodeStun(raw: Buffer): StunMessage {
  if (raw.length < HEADER_BYTES) throw new StunParseError('truncated')
  const type = raw.readUInt16BE(0)
  if (type & 0xc000) throw new StunParseError('not-stun')
  if (raw.readUInt32BE(4) !== MAGIC_COOKIE) throw new StunParseError('bad-cookie')
  const length = raw.readUInt16BE(2)
  if (length & 3 || HEADER_BYTES + length !== raw.length) throw new StunParseError('bad-length')
  const attributes: StunAttribute[] = []
  let integrityAt = -1
  let at = HEADER_BYTES
  while (at < raw.length) {
    if (at + 4 > raw.length) throw new StunParseError('attribute-overrun')
    const attrType = raw.readUInt16BE(at)
    const attrLength = raw.readUInt16BE(at + 2)
    const end = at + 4 + attrLength
    if (at + 4 + pad4(attrLength) > raw.length) throw new StunParseError('attribute-overrun')
    if (attrType === Attr.Fingerprint) {
      if (attrLength !== 4) throw new StunParseError('bad-attribute', 'FINGERPRINT length')
      if (end !== raw.length) throw new StunParseError('after-fingerprint')
      const expected = (crc32(raw.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0
      if (raw.readUInt32BE(at + 4) !== expected) throw new StunParseError('bad-fingerprint')
      attributes.push({ type: attrType, value: raw.subarray(at + 4, end) })
    } else if (integrityAt < 0) {
      if (attributes.length >= MAX_STUN_ATTRIBUTES) throw new StunParseError('too-many-attributes')
      if (attrType === Attr.MessageIntegrity) {
        if (attrLength !== 20) throw new StunParseError('bad-attribute', 'MESSAGE-INTEGRITY length')
        integrityAt = at
      }
      attributes.push({ type: attrType, value: raw.subarray(at + 4, end) })
    }
    at += 4 + pad4(attrLength)
  }
  return {
    method: (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2),
    cls: ((type & 0x0010) >> 4) | ((type & 0x0100) >> 7),
    transactionId: raw.subarray(8, 20),
    attributes,
    raw,
    integrityAt,
  }
}

/** The first attribute of `type`, or undefined. */
export function attribute(msg: StunMessage, type: number): Buffer | undefined {
  for (const a of msg.attributes) if (a.type === type) return a.value
  return undefined
}

/** Comprehension-required attribute types (< 0x8000) in `msg` not in `known` (RFC 8489 §15). */
export function unknownRequired(msg: StunMessage, known: ReadonlySet<number>): number[] {
  const unknown: number[] = []
  for (const { type } of msg.attributes) {
    if (type < 0x8000 && !known.has(type) && !unknown.includes(type)) unknown.push(type)
  }
  return unknown
}

/** Checks MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5) over the received bytes up to it,
 * with the header's length field set as if MESSAGE-INTEGRITY were the last attribute. */
export function verifyIntegrity(msg: StunMessage, key: Uint8Array): boolean {
  const at = msg.integrityAt
  if (at < 0) return false
  const header = Buffer.from(msg.raw.subarray(0, HEADER_BYTES))
  header.writeUInt16BE(at + 24 - HEADER_BYTES, 2)
  const mac = createHmac('sha1', key).update(header).update(msg.raw.subarray(HEADER_BYTES, at))
  return timingSafeEqual(mac.digest(), msg.raw.subarray(at + 4, at + 24))
}

/** Encodes a message; with `integrityKey` a MESSAGE-INTEGRITY is appended, with
 * `fingerprint` a FINGERPRINT after it (RFC 8489 §14.5, §14.7). */
export function encodeStun(
  init: StunMessageInit,
  options: { integrityKey?: Uint8Array; fingerprint?: boolean } = {},
): Buffer {
  if (init.transactionId.length !== 12) throw new RangeError('transaction id must be 12 bytes')
  const attributes = init.attributes ?? []
  let length = 0
  for (const a of attributes) {
    if (a.value.length > 0xffff) throw new RangeError('attribute value too long')
    length += 4 + pad4(a.value.length)
  }
  const integrityAt = HEADER_BYTES + length
  if (options.integrityKey) length += 24
  const fingerprintAt = HEADER_BYTES + length
  if (options.fingerprint) length += 8
  if (length > 0xffff) throw new RangeError('message too long')
  const out = Buffer.allocUnsafe(HEADER_BYTES + length)
  out.writeUInt16BE(messageType(init.method, init.cls), 0)
  out.writeUInt32BE(MAGIC_COOKIE, 4)
  out.set(init.transactionId, 8)
  let at = HEADER_BYTES
  for (const a of attributes) {
    out.writeUInt16BE(a.type, at)
    out.writeUInt16BE(a.value.length, at + 2)
    out.set(a.value, at + 4)
    const end = at + 4 + a.value.length
    at += 4 + pad4(a.value.length)
    out.fill(0, end, at)
  }
  if (options.integrityKey) {
    out.writeUInt16BE(integrityAt + 24 - HEADER_BYTES, 2)
    const mac = createHmac('sha1', options.integrityKey).update(out.subarray(0, integrityAt))
    out.writeUInt16BE(Attr.MessageIntegrity, at)
    out.writeUInt16BE(20, at + 2)
    out.set(mac.digest(), at + 4)
    at += 24
  }
  out.writeUInt16BE(length, 2)
  if (options.fingerprint) {
    out.writeUInt16BE(Attr.Fingerprint, at)
    out.writeUInt16BE(4, at + 2)
    out.writeUInt32BE((crc32(out.subarray(0, fingerprintAt)) ^ FINGERPRINT_XOR) >>> 0, at + 4)
  }
  return out
}

// Attribute values.

export interface TransportAddress {
  family: 4 | 6
  address: string
  port: number
}

/** XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS value (RFC 8489 §14.2). */
export function xorAddressValue(address: string, port: number, transactionId: Uint8Array): Buffer {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError('bad port')
  const ip = isIPv4(address) ? ipv4Bytes(address) : isIPv6(address) ? ipv6Bytes(address) : null
  if (!ip) throw new TypeError(`not an IP address: ${address}`)
  const out = Buffer.allocUnsafe(4 + ip.length)
  out[0] = 0
  out[1] = ip.length === 4 ? 0x01 : 0x02
  out.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 2)
  for (let i = 0; i < ip.length; i++) out[4 + i] = ip[i] ^ xorByte(i, transactionId)
  return out
}

export function readXorAddress(value: Buffer, transactionId: Uint8Array): TransportAddress {
  const family =
    value.length === 8 && value[1] === 0x01 ? 4 : value.length === 20 && value[1] === 0x02 ? 6 : 0
  if (family === 0) throw new StunParseError('bad-attribute', 'address family or length')
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16)
  if (family === 4) {
    const a = value[4] ^ 0x21
    const b = value[5] ^ 0x12
    const c = value[6] ^ 0xa4
    const d = value[7] ^ 0x42
    return { family, address: `${a}.${b}.${c}.${d}`, port }
  }
  const bytes = Buffer.allocUnsafe(16)
  for (let i = 0; i < 16; i++) bytes[i] = value[4 + i] ^ xorByte(i, transactionId)
  return { family, address: formatIPv6(bytes), port }
}

function xorByte(i: number, transactionId: Uint8Array): number {
  return i < 4 ? (MAGIC_COOKIE >>> (24 - 8 * i)) & 0xff : transactionId[i - 4]
}

/** ERROR-CODE value (RFC 8489 §14.8). */
export function errorCodeValue(code: number, reason: string): Buffer {
  if (!Number.isInteger(code) || code < 300 || code > 699) throw new RangeError('bad error code')
  const text = Buffer.from(reason, 'utf8')
  const out = Buffer.allocUnsafe(4 + text.length)
  out.writeUInt16BE(0, 0)
  out[2] = Math.floor(code / 100)
  out[3] = code % 100
  out.set(text, 4)
  return out
}

export function readErrorCode(value: Buffer): { code: number; reason: string } {
  if (value.length < 4) throw new StunParseError('bad-attribute', 'ERROR-CODE length')
  return { code: (value[2] & 7) * 100 + value[3], reason: value.toString('utf8', 4) }
}

/** LIFETIME and other 32-bit values. */
export function uint32Value(n: number): Buffer {
  const out = Buffer.allocUnsafe(4)
  out.writeUInt32BE(n >>> 0, 0)
  return out
}

export function readUint32(value: Buffer): number {
  if (value.length !== 4) throw new StunParseError('bad-attribute', '32-bit value length')
  return value.readUInt32BE(0)
}

/** REQUESTED-TRANSPORT (RFC 8656 §14.7): protocol number then 3 reserved bytes. */
export function requestedTransportValue(protocol: number): Buffer {
  return Buffer.from([protocol & 0xff, 0, 0, 0])
}

export function readRequestedTransport(value: Buffer): number {
  if (value.length !== 4) throw new StunParseError('bad-attribute', 'REQUESTED-TRANSPORT length')
  return value[0]
}

/** CHANNEL-NUMBER (RFC 8656 §14.1): the number then 2 reserved bytes. */
export function channelNumberValue(channel: number): Buffer {
  return Buffer.from([channel >> 8, channel & 0xff, 0, 0])
}

export function readChannelNumber(value: Buffer): number {
  if (value.length !== 4) throw new StunParseError('bad-attribute', 'CHANNEL-NUMBER length')
  return value.readUInt16BE(0)
}

/** UNKNOWN-ATTRIBUTES (RFC 8489 §14.9). */
export function unknownAttributesValue(types: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(2 * types.length)
  types.forEach((t, i) => out.writeUInt16BE(t, 2 * i))
  return out
}

export function readUnknownAttributes(value: Buffer): number[] {
  if (value.length & 1) throw new StunParseError('bad-attribute', 'UNKNOWN-ATTRIBUTES length')
  const types: number[] = []
  for (let i = 0; i < value.length; i += 2) types.push(value.readUInt16BE(i))
  return types
}

// ChannelData (RFC 8656 §12.4): a 4-byte header (channel number, length) then the data;
// over TCP and TLS padded to a multiple of 4 (§12.5), over UDP padding is optional.

/** RFC 8656 §12 narrows channel numbers to 0x4000-0x4FFF, but RFC 5766 allowed up to 0x7FFF
 * and RFC 5766 clients (coturn's uclient starts at 0x6400) still use them; the first two
 * bits (01) are what tells ChannelData apart, so the server accepts the old range. */
export const MIN_CHANNEL = 0x4000
export const MAX_CHANNEL = 0x7fff

export function isChannelNumber(n: number): boolean {
  return n >= MIN_CHANNEL && n <= MAX_CHANNEL
}

export function encodeChannelData(channel: number, data: Uint8Array, padded: boolean): Buffer {
  if (!isChannelNumber(channel)) throw new RangeError('channel number out of range')
  if (data.length > 0xffff) throw new RangeError('channel data too long')
  const total = 4 + (padded ? pad4(data.length) : data.length)
  const out = Buffer.allocUnsafe(total)
  out.writeUInt16BE(channel, 0)
  out.writeUInt16BE(data.length, 2)
  out.set(data, 4)
  out.fill(0, 4 + data.length, total)
  return out
}

/** Decodes a ChannelData message that fills `buf` (up to 3 bytes of padding allowed). */
export function decodeChannelData(buf: Buffer): { channel: number; data: Buffer } {
  if (buf.length < 4) throw new StunParseError('truncated')
  const channel = buf.readUInt16BE(0)
  const length = buf.readUInt16BE(2)
  if (!isChannelNumber(channel)) throw new StunParseError('bad-channel-data', 'channel number')
  if (4 + length > buf.length || buf.length > 4 + pad4(length)) {
    throw new StunParseError('bad-channel-data', 'length')
  }
  return { channel, data: buf.subarray(4, 4 + length) }
}

/** Whether a connection's first bytes (at least 8) open a STUN message: a TURN client's first
 * frame is always a request (Binding or Allocate), never ChannelData, so the top bits 00 and
 * the magic cookie tell it apart from TLS (0x16), HTTP and anything else sharing the port. */
export function looksLikeStun(head: Uint8Array): boolean {
  return (
    head.length >= 8 &&
    (head[0] & 0xc0) === 0 &&
    head[4] === 0x21 &&
    head[5] === 0x12 &&
    head[6] === 0xa4 &&
    head[7] === 0x42
  )
}

/** Bytes of the next frame at `at` on a TCP/TLS stream (a STUN message, or ChannelData with
 * its padding), or 0 when fewer than 4 bytes are there to tell. Throws StunParseError when the
 * first two bits are neither 00 (STUN) nor 01 (ChannelData): the stream is not TURN. */
export function frameLength(buf: Buffer, at: number): number {
  if (buf.length - at < 4) return 0
  const first = buf[at] >> 6
  if (first === 0) return HEADER_BYTES + buf.readUInt16BE(at + 2)
  if (first === 1) return 4 + pad4(buf.readUInt16BE(at + 2))
  throw new StunParseError('not-stun')
}

// IP addresses as bytes.

function ipv4Bytes(ip: string): Uint8Array {
  return Uint8Array.from(ip.split('.'), Number)
}

export function ipv6Bytes(ip: string): Uint8Array {
  let text = ip
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number)
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::')
  const left = head ? head.split(':') : []
  const right = tail === undefined ? [] : tail ? tail.split(':') : []
  const words = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  const out = new Uint8Array(16)
  words.forEach((w, i) => {
    const n = parseInt(w, 16)
    out[2 * i] = n >> 8
    out[2 * i + 1] = n & 0xff
  })
  return out
}

/** RFC 5952 text: lower case, the longest run of two or more zero words as "::". */
function formatIPv6(bytes: Uint8Array): string {
  const words: number[] = []
  for (let i = 0; i < 16; i += 2) words.push((bytes[i] << 8) | bytes[i + 1])
  let bestAt = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > bestLength) [bestAt, bestLength] = [i, j - i]
    i = j === i ? i + 1 : j
  }
  const hex = words.map((w) => w.toString(16))
  if (bestAt < 0) return hex.join(':')
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLength).join(':')}`
}
