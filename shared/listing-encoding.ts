// The canonical bencode (BEP 3) of a listing's signing dictionary and of a batch statement
// (shared/listing.ts), written by hand: every listing a node syncs is encoded once to be
// verified, and the general encoder (the `bencode` package: a small buffer per value, keys
// sorted each time) cost most of a listing's check. The keys are fixed, so their order is
// written out here. listing-encoding.test.ts checks these bytes against the `bencode`
// package for any input.
//
// Inputs are checked fields (checkFields in listing.ts): strings, safe integers, hex ids.

import { hexToBytes } from './identity.ts'

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

/** Builds bencode from parts: ASCII text (keys, counts, prefixes) and raw bytes. */
class Writer {
  readonly #parts: (string | Uint8Array)[] = []
  #length = 0

  text(ascii: string): void {
    this.#parts.push(ascii)
    this.#length += ascii.length
  }

  bytes(b: Uint8Array): void {
    this.text(`${b.length}:`)
    this.#parts.push(b)
    this.#length += b.length
  }

  string(s: string): void {
    // Pure ASCII, the usual case, is its own UTF-8.
    if (isAscii(s)) this.text(`${s.length}:${s}`)
    else this.bytes(utf8.encode(s))
  }

  int(n: number): void {
    this.text(`i${n}e`)
  }

  done(): Uint8Array {
    const out = new Uint8Array(this.#length)
    let at = 0
    for (const part of this.#parts) {
      if (typeof part === 'string') {
        for (let i = 0; i < part.length; i++) out[at++] = part.charCodeAt(i)
      } else {
        out.set(part, at)
        at += part.length
      }
    }
    return out
  }
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

/** { cat, desc, files, fl: [[path, size], …], ih, name, pk, seq, size, ts, v }, keys sorted. */
export function encodeSigningFields(l: SigningFields): Uint8Array {
  const w = new Writer()
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
  w.bytes(hexToBytes(l.infoHash))
  w.text('4:name')
  w.string(l.name)
  w.text('2:pk')
  w.bytes(hexToBytes(l.publisher))
  w.text('3:seq')
  w.int(l.seq)
  w.text('4:size')
  w.int(l.size)
  w.text('2:ts')
  w.int(l.ts)
  w.text('1:v')
  w.int(l.v)
  w.text('e')
  return w.done()
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
  w.bytes(hexToBytes(publisher))
  w.text('4:root')
  w.bytes(hexToBytes(root))
  w.text('1:t')
  w.string(type)
  w.text('1:v')
  w.int(version)
  w.text('e')
  return w.done()
}
