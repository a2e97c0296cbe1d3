// The canonical bencode (BEP 3) of a listing's signing dictionary and of a batch statement
// (shared/listing.ts), written by hand: every listing a node syncs is encoded once to be
// verified, and the general encoder (the `bencode` package: a small buffer per value, keys
// sorted each time) cost most of a listing's check. The keys are fixed, so their order is
// written out here. listing-encoding.test.ts checks these bytes against the `bencode`
// package for any input.
//
// Inputs are checked fields (checkFields in listing.ts): strings, safe integers, hex ids.

import { hexToBytes } from './identity.ts'
import { MAX_LISTING_BYTES } from './limits.ts'

/** The fields signed, as listing.ts names them. */
export interface SigningFields {
  category: string
  description: string
  files: number
  fileList: readonly { path: string; size: number }[]
  infoHash: string
  name: string
  publisher: string
  seq: number
  size: number
  ts: number
  v: number
}

const utf8 = new TextEncoder()

/** A first buffer big enough for a typical listing (~500 bytes); a larger one grows it. */
const INITIAL_BYTES = 1024
/** The buffer is kept from one encoding to the next (each runs to its end synchronously, so
 * they never overlap) while it is at most this big: any listing that can pass the size cap
 * fits, and a larger one (refused once encoded) does not pin its memory. */
const MAX_KEPT_BYTES = 2 * MAX_LISTING_BYTES
let kept = new Uint8Array(INITIAL_BYTES)

/** Builds bencode straight into one growing buffer: ASCII text (keys, counts, prefixes),
 * strings, hex ids as raw bytes. No intermediate strings or arrays per field: encoding is
 * on every synced listing's path. */
class Writer {
  #out: Uint8Array
  #at: number

  /** `reserve` leading bytes are left zero, for a caller's own prefix (a Merkle leaf's). */
  constructor(reserve = 0) {
    this.#out = kept
    this.#at = 0
    this.#room(reserve)
    this.#out.fill(0, 0, reserve)
    this.#at = reserve
  }

  #room(bytes: number): void {
    if (this.#at + bytes <= this.#out.length) return
    const grown = new Uint8Array(Math.max(this.#out.length * 2, this.#at + bytes))
    grown.set(this.#out.subarray(0, this.#at))
    this.#out = grown
    if (grown.length <= MAX_KEPT_BYTES) kept = grown
  }

  text(ascii: string): void {
    this.#room(ascii.length)
    const out = this.#out
    let at = this.#at
    for (let i = 0; i < ascii.length; i++) out[at++] = ascii.charCodeAt(i)
    this.#at = at
  }

  /** A non-negative safe integer in decimal, digit by digit; anything else as String does. */
  #decimal(n: number): void {
    if (!(Number.isSafeInteger(n) && n >= 0)) return this.text(String(n))
    let digits = 1
    for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++
    this.#room(digits)
    const out = this.#out
    let at = this.#at + digits
    this.#at = at
    for (let rest = n; digits-- > 0; rest = Math.floor(rest / 10)) out[--at] = 0x30 + (rest % 10)
  }

  bytes(b: Uint8Array): void {
    this.#decimal(b.length)
    this.text(':')
    this.#room(b.length)
    this.#out.set(b, this.#at)
    this.#at += b.length
  }

  /** Lowercase hex as raw bytes; other text goes through hexToBytes (which throws on it). */
  hex(hex: string): void {
    if (hex.length % 2 !== 0) return this.bytes(hexToBytes(hex))
    const mark = this.#at
    const length = hex.length >> 1
    this.#decimal(length)
    this.text(':')
    this.#room(length)
    const out = this.#out
    const start = this.#at
    for (let i = 0; i < length; i++) {
      const hi = nibble(hex.charCodeAt(2 * i))
      const lo = nibble(hex.charCodeAt(2 * i + 1))
      if (hi < 0 || lo < 0) {
        this.#at = mark
        return this.bytes(hexToBytes(hex))
      }
      out[start + i] = (hi << 4) | lo
    }
    this.#at = start + length
  }

  string(s: string): void {
    // Pure ASCII, the usual case, is its own UTF-8: written as it is checked.
    const start = this.#at
    this.#decimal(s.length)
    this.text(':')
    this.#room(s.length)
    const out = this.#out
    let at = this.#at
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c > 0x7f) {
        this.#at = start
        return this.bytes(utf8.encode(s))
      }
      out[at++] = c
    }
    this.#at = at
  }

  int(n: number): void {
    this.text('i')
    this.#decimal(n)
    this.text('e')
  }

  /** The bytes written, in a buffer of their own size. */
  done(): Uint8Array {
    return this.#out.slice(0, this.#at)
  }

  /** The bytes written, a view of the kept buffer: the next encoding overwrites them. */
  view(): Uint8Array {
    return this.#out.subarray(0, this.#at)
  }
}

/** The value of a lowercase hex digit, or -1. */
function nibble(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10
  return -1
}

/** { cat, desc, files, fl: [[path, size], …], ih, name, pk, seq, size, ts, v }, keys sorted. */
export function encodeSigningFields(l: SigningFields): Uint8Array {
  return writeSigningFields(l, 0).done()
}

/** encodeSigningFields after `reserve` zero bytes (room for a prefix the caller writes), in a
 * view the next encoding overwrites: for a verifier that uses the bytes at once (hashes or
 * checks them) and keeps nothing, so a listing's check allocates no buffer for them. */
export function encodeSigningFieldsTransient(l: SigningFields, reserve: number): Uint8Array {
  return writeSigningFields(l, reserve).view()
}

function writeSigningFields(l: SigningFields, reserve: number): Writer {
  const w = new Writer(reserve)
  w.text('d3:cat')
  w.string(l.category)
  w.text('4:desc')
  w.string(l.description)
  w.text('5:files')
  w.int(l.files)
  w.text('2:fll')
  for (const f of l.fileList) {
    w.text('l')
    w.string(f.path)
    w.int(f.size)
    w.text('e')
  }
  w.text('e2:ih')
  w.hex(l.infoHash)
  w.text('4:name')
  w.string(l.name)
  w.text('2:pk')
  w.hex(l.publisher)
  w.text('3:seq')
  w.int(l.seq)
  w.text('4:size')
  w.int(l.size)
  w.text('2:ts')
  w.int(l.ts)
  w.text('1:v')
  w.int(l.v)
  w.text('e')
  return w
}

/** { n, pk, root, t, v }, keys sorted. */
export function encodeBatchStatement(
  n: number,
  publisher: string,
  root: string,
  type: string,
  version: number,
): Uint8Array {
  const w = new Writer()
  w.text('d1:n')
  w.int(n)
  w.text('2:pk')
  w.hex(publisher)
  w.text('4:root')
  w.hex(root)
  w.text('1:t')
  w.string(type)
  w.text('1:v')
  w.int(version)
  w.text('e')
  return w.done()
}
