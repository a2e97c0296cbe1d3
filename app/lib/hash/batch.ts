// Hashing one batch of pieces (what a piece-hash worker does with a message), kept apart
// from the worker's message plumbing so tests run it in Node: Blob and WebCrypto are there
// too. A couple of pieces are kept in flight, so reading the next overlaps hashing this one;
// memory: at most IN_FLIGHT pieces (of at most 4 MiB) at a time.

import { pieceSpans } from './plan.ts'

const IN_FLIGHT = 2

export async function readPiece(
  files: readonly Blob[],
  sizes: readonly number[],
  index: number,
  pieceLength: number,
): Promise<ArrayBuffer> {
  const spans = pieceSpans(sizes, pieceLength, index)
  if (spans.length === 1) {
    const { file, start, end } = spans[0]
    return files[file].slice(start, end).arrayBuffer()
  }
  return new Blob(spans.map((s) => files[s.file].slice(s.start, s.end))).arrayBuffer()
}

/** SHA-1 of pieces [from, to), 20 bytes each, and the bytes read. */
export async function hashBatch(
  files: readonly Blob[],
  from: number,
  to: number,
  pieceLength: number,
): Promise<{ hashes: Uint8Array; bytes: number }> {
  const sizes = files.map((f) => f.size)
  const hashes = new Uint8Array((to - from) * 20)
  let next = from
  let bytes = 0
  const lane = async () => {
    while (next < to) {
      const index = next++
      const data = await readPiece(files, sizes, index, pieceLength)
      bytes += data.byteLength
      hashes.set(new Uint8Array(await crypto.subtle.digest('SHA-1', data)), (index - from) * 20)
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
  return { hashes, bytes }
}
