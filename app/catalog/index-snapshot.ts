// The container of a search index snapshot (search-index.ts): typed arrays back to back in
// one buffer, so saving is a few copies and loading is views on the buffer, with nothing to
// parse per listing. Layout (little-endian, as typed arrays on every browser we run on):
//
//   "MSIX" | u32 version | u32 header bytes | u32 checksum (Checksum) of all after these 16 bytes
//   header: UTF-8 JSON { meta, sections: [name, type, length][] }, padded to 8 bytes
//   each section's elements, padded to 8 bytes
//
// A snapshot is ours (IndexedDB), not a peer's, but disks and old versions corrupt things:
// a short, altered or unknown one is refused with SnapshotError, and the caller rebuilds.

import { concatBytes } from '@noble/hashes/utils.js'

const MAGIC = 0x5849534d // "MSIX" read as a little-endian u32
/** 2: the four-lane checksum, and the index's lookup tables saved (index-state.ts). 3: the
 * index saved as two of these back to back, what answers a search first (index-state.ts).
 * Any other version is refused, and the index rebuilt. */
const VERSION = 3
const PREFIX_BYTES = 16
const ALIGN = 8

const TYPES = {
  u8: Uint8Array,
  u16: Uint16Array,
  u32: Uint32Array,
  i32: Int32Array,
  f64: Float64Array,
} as const
type TypeName = keyof typeof TYPES
export type Section =
  | Uint8Array<ArrayBufferLike>
  | Uint16Array<ArrayBufferLike>
  | Uint32Array<ArrayBufferLike>
  | Int32Array<ArrayBufferLike>
  | Float64Array<ArrayBufferLike>

export class SnapshotError extends Error {
  override name = 'SnapshotError'
}

const pad = (n: number) => Math.ceil(n / ALIGN) * ALIGN

function typeOf(section: Section): TypeName {
  for (const [name, type] of Object.entries(TYPES)) {
    if (section instanceof type) return name as TypeName
  }
  throw new TypeError('not a snapshot section type')
}

/** The snapshot in one buffer. */
export function encodeSnapshot(meta: unknown, sections: Record<string, Section>): Uint8Array {
  return concatBytes(...encodeSnapshotParts(meta, sections))
}

/**
 * The snapshot as the parts that make it, back to back: its head, then each section's own
 * bytes (views, not copies) and padding. A Blob made of them holds the snapshot without it
 * ever being one buffer here: at a million listings that is ~200 MB the worker never holds
 * twice. The views are the index's own arrays, some changed in place later: use them at once.
 */
export function encodeSnapshotParts(
  meta: unknown,
  sections: Record<string, Section>,
): Uint8Array[] {
  const entries = Object.entries(sections)
  const header = new TextEncoder().encode(
    JSON.stringify({ meta, sections: entries.map(([name, s]) => [name, typeOf(s), s.length]) }),
  )
  const head = new Uint8Array(PREFIX_BYTES + pad(header.length))
  head.set(header, PREFIX_BYTES)
  const parts: Uint8Array[] = [head]
  for (const [, s] of entries) {
    parts.push(new Uint8Array(s.buffer, s.byteOffset, s.byteLength))
    if (pad(s.byteLength) > s.byteLength)
      parts.push(new Uint8Array(pad(s.byteLength) - s.byteLength))
  }
  const sum = new Checksum()
  sum.add(head.subarray(PREFIX_BYTES))
  for (const part of parts.slice(1)) sum.add(part)
  const view = new DataView(head.buffer)
  view.setUint32(0, MAGIC, true)
  view.setUint32(4, VERSION, true)
  view.setUint32(8, header.length, true)
  view.setUint32(12, sum.value(), true)
  return parts
}

export interface DecodedSnapshot {
  meta: unknown
  sections: Map<string, Section>
}

/** The snapshot's parts, as views on `bytes` (copied once if it is not 8-byte aligned). */
export function decodeSnapshot(input: Uint8Array): DecodedSnapshot {
  if (input.length < PREFIX_BYTES || input.length % ALIGN !== 0) {
    throw new SnapshotError('snapshot is truncated')
  }
  const bytes = input.byteOffset % ALIGN === 0 ? input : input.slice()
  const { header, headerBytes } = readHeader(bytes)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(12, true) !== checksum(bytes)) throw new SnapshotError('snapshot is corrupt')
  const sections = new Map<string, Section>()
  let at = bytes.byteOffset + PREFIX_BYTES + pad(headerBytes)
  const end = bytes.byteOffset + bytes.length
  for (const [name, Type, length] of header.sections) {
    const byteLength = length * Type.BYTES_PER_ELEMENT
    if (at + byteLength > end) throw new SnapshotError('snapshot is truncated')
    sections.set(name, new Type(bytes.buffer as ArrayBuffer, at, length))
    at += pad(byteLength)
  }
  if (at !== end) throw new SnapshotError('snapshot has trailing bytes')
  return { meta: header.meta, sections }
}

/** The length of the snapshot that starts `bytes` (more may follow it), from its prefix and
 * header alone: where the next one starts. */
export function snapshotLength(bytes: Uint8Array): number {
  const { header, headerBytes } = readHeader(bytes)
  let length = PREFIX_BYTES + pad(headerBytes)
  for (const [, Type, count] of header.sections) length += pad(count * Type.BYTES_PER_ELEMENT)
  return length
}

/** The checksum a snapshot's prefix records (its first part, from encodeSnapshotParts, or
 * its bytes): what names that snapshot, for another one that belongs with it. */
export function recordedChecksum(bytes: Uint8Array): number {
  if (bytes.length < PREFIX_BYTES) throw new SnapshotError('snapshot is truncated')
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(12, true)
}

type SectionEntry = [name: string, type: (typeof TYPES)[TypeName], length: number]

/** The prefix and header of the snapshot starting `bytes`, checked. */
function readHeader(bytes: Uint8Array): {
  header: { meta: unknown; sections: SectionEntry[] }
  headerBytes: number
} {
  if (bytes.length < PREFIX_BYTES) throw new SnapshotError('snapshot is truncated')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(0, true) !== MAGIC) throw new SnapshotError('not an index snapshot')
  if (view.getUint32(4, true) !== VERSION) throw new SnapshotError('unknown snapshot version')
  const headerBytes = view.getUint32(8, true)
  if (PREFIX_BYTES + pad(headerBytes) > bytes.length)
    throw new SnapshotError('snapshot is truncated')
  let header: { meta: unknown; sections: unknown }
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(16, 16 + headerBytes)),
    )
  } catch {
    throw new SnapshotError('snapshot header is not JSON')
  }
  if (!Array.isArray(header?.sections)) throw new SnapshotError('snapshot header has no sections')
  const sections = header.sections.map((entry: unknown): SectionEntry => {
    if (!Array.isArray(entry) || entry.length !== 3) throw new SnapshotError('bad section entry')
    const [name, type, length] = entry as [unknown, unknown, unknown]
    if (typeof name !== 'string' || typeof type !== 'string' || !Object.hasOwn(TYPES, type)) {
      throw new SnapshotError('bad section entry')
    }
    if (!Number.isSafeInteger(length) || (length as number) < 0)
      throw new SnapshotError('bad section length')
    return [name, TYPES[type as TypeName], length as number]
  })
  return { header: { meta: header.meta, sections }, headerBytes }
}

/** Checksum of everything after the prefix: cheap at hundreds of MB. */
function checksum(bytes: Uint8Array): number {
  const sum = new Checksum()
  sum.add(bytes.subarray(PREFIX_BYTES))
  return sum.value()
}

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

/**
 * FNV-1a over little-endian 32-bit words in four lanes (word k feeds lane k mod 4), the lanes
 * then FNV-1a'd together with the word count; fed in parts of any length and alignment. One
 * lane is a chain of dependent multiplies; four run side by side, ~3× faster (version 2).
 */
class Checksum {
  #lanes = Int32Array.of(FNV_OFFSET, FNV_OFFSET, FNV_OFFSET, FNV_OFFSET)
  #words = 0
  /** Bytes of a word not yet complete (0-3), little-endian, and how many. */
  #carry = 0
  #carried = 0

  add(bytes: Uint8Array): void {
    let i = 0
    while (this.#carried > 0 && i < bytes.length) this.#byte(bytes[i++])
    const aligned = (bytes.byteOffset + i) % 4 === 0
    const words = (bytes.length - i) >>> 2
    if (aligned && words > 0) {
      const w = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words)
      let k = 0
      while (k < w.length && (this.#words & 3) !== 0) this.#word(w[k++])
      const lanes = this.#lanes
      let a = lanes[0]
      let b = lanes[1]
      let c = lanes[2]
      let d = lanes[3]
      const from = k
      const whole = k + ((w.length - k) & ~3)
      for (; k < whole; k += 4) {
        a = Math.imul(a ^ w[k], FNV_PRIME)
        b = Math.imul(b ^ w[k + 1], FNV_PRIME)
        c = Math.imul(c ^ w[k + 2], FNV_PRIME)
        d = Math.imul(d ^ w[k + 3], FNV_PRIME)
      }
      lanes[0] = a
      lanes[1] = b
      lanes[2] = c
      lanes[3] = d
      this.#words += whole - from
      while (k < w.length) this.#word(w[k++])
      i += 4 * words
    }
    while (i < bytes.length) this.#byte(bytes[i++])
  }

  value(): number {
    if (this.#carried > 0) throw new RangeError('checksum over a part word')
    let h = FNV_OFFSET
    for (const lane of this.#lanes) h = Math.imul(h ^ lane, FNV_PRIME)
    return Math.imul(h ^ this.#words, FNV_PRIME) >>> 0
  }

  #word(word: number): void {
    const lane = this.#words++ & 3
    this.#lanes[lane] = Math.imul(this.#lanes[lane] ^ word, FNV_PRIME)
  }

  #byte(b: number): void {
    this.#carry |= b << (8 * this.#carried)
    if (++this.#carried === 4) {
      this.#word(this.#carry)
      this.#carry = 0
      this.#carried = 0
    }
  }
}
