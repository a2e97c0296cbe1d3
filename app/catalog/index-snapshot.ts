// The container of a search index snapshot (search-index.ts): typed arrays back to back in
// one buffer, so saving is a few copies and loading is views on the buffer, with nothing to
// parse per listing. Layout (little-endian, as typed arrays on every browser we run on):
//
//   "MSIX" | u32 version | u32 header bytes | u32 checksum of everything after these 16 bytes
//   header: UTF-8 JSON { meta, sections: [name, type, length][] }, padded to 8 bytes
//   each section's elements, padded to 8 bytes
//
// A snapshot is ours (IndexedDB), not a peer's, but disks and old versions corrupt things:
// a short, altered or unknown one is refused with SnapshotError, and the caller rebuilds.

const MAGIC = 0x5849534d // "MSIX" read as a little-endian u32
const VERSION = 1
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

export function encodeSnapshot(meta: unknown, sections: Record<string, Section>): Uint8Array {
  const entries = Object.entries(sections)
  const header = new TextEncoder().encode(
    JSON.stringify({ meta, sections: entries.map(([name, s]) => [name, typeOf(s), s.length]) }),
  )
  let size = PREFIX_BYTES + pad(header.length)
  for (const [, s] of entries) size += pad(s.byteLength)
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  view.setUint32(0, MAGIC, true)
  view.setUint32(4, VERSION, true)
  view.setUint32(8, header.length, true)
  out.set(header, PREFIX_BYTES)
  let at = PREFIX_BYTES + pad(header.length)
  for (const [, s] of entries) {
    out.set(new Uint8Array(s.buffer, s.byteOffset, s.byteLength), at)
    at += pad(s.byteLength)
  }
  view.setUint32(12, checksum(out), true)
  return out
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
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(0, true) !== MAGIC) throw new SnapshotError('not an index snapshot')
  if (view.getUint32(4, true) !== VERSION) throw new SnapshotError('unknown snapshot version')
  const headerBytes = view.getUint32(8, true)
  if (PREFIX_BYTES + pad(headerBytes) > bytes.length)
    throw new SnapshotError('snapshot is truncated')
  if (view.getUint32(12, true) !== checksum(bytes)) throw new SnapshotError('snapshot is corrupt')
  let header: { meta: unknown; sections: unknown }
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(16, 16 + headerBytes)),
    )
  } catch {
    throw new SnapshotError('snapshot header is not JSON')
  }
  if (!Array.isArray(header?.sections)) throw new SnapshotError('snapshot header has no sections')
  const sections = new Map<string, Section>()
  let at = bytes.byteOffset + PREFIX_BYTES + pad(headerBytes)
  const end = bytes.byteOffset + bytes.length
  for (const entry of header.sections as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 3) throw new SnapshotError('bad section entry')
    const [name, type, length] = entry as [unknown, unknown, unknown]
    if (typeof name !== 'string' || typeof type !== 'string' || !Object.hasOwn(TYPES, type)) {
      throw new SnapshotError('bad section entry')
    }
    const Type = TYPES[type as TypeName]
    if (!Number.isSafeInteger(length) || (length as number) < 0)
      throw new SnapshotError('bad section length')
    const byteLength = (length as number) * Type.BYTES_PER_ELEMENT
    if (at + byteLength > end) throw new SnapshotError('snapshot is truncated')
    sections.set(name, new Type(bytes.buffer as ArrayBuffer, at, length as number))
    at += pad(byteLength)
  }
  if (at !== end) throw new SnapshotError('snapshot has trailing bytes')
  return { meta: header.meta, sections }
}

/** FNV-1a over 32-bit words of everything after the prefix: cheap at hundreds of MB. */
function checksum(bytes: Uint8Array): number {
  const words = new Uint32Array(
    bytes.buffer,
    bytes.byteOffset + PREFIX_BYTES,
    (bytes.length - PREFIX_BYTES) / 4,
  )
  let h = 0x811c9dc5
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193)
  return h >>> 0
}
