// Hashing one batch of pieces (what a piece-hash worker does with a message), kept apart
// from the worker's message plumbing so tests run it in Node: Blob and WebCrypto are there
// too.
//
// Reads are the cost to watch: each Blob.arrayBuffer() is a round trip to the browser
// process, so a batch is read in a few large reads (READ_BYTES), each then cut into pieces
// for WebCrypto, and the next read is started before this one's pieces are hashed. Memory:
// two reads of READ_BYTES per worker at most.

import { pieceSpans } from './plan.ts'

/** Bytes per read: whole pieces up to about this much. */
const READ_BYTES = 8 * 1024 * 1024

/** Bytes [start, end) of the files laid end to end. */
function readRange(files: readonly Blob[], start: number, end: number): Promise<ArrayBuffer> {
  const parts: Blob[] = []
  let offset = 0
  for (const file of files) {
    const from = Math.max(start, offset)
    const to = Math.min(end, offset + file.size)
    if (to > from) parts.push(file.slice(from - offset, to - offset))
    offset += file.size
    if (offset >= end) break
  }
  if (parts.length === 1) return parts[0].arrayBuffer()
  return new Blob(parts).arrayBuffer()
}

/** SHA-1 of pieces [from, to), 20 bytes each, and the bytes read. */
export async function hashBatch(
  files: readonly Blob[],
  from: number,
  to: number,
  pieceLength: number,
): Promise<{ hashes: Uint8Array; bytes: number }> {
  const sizes = files.map((f) => f.size)
  const total = sizes.reduce((n, s) => n + s, 0)
  if (from < 0 || to <= from || from * pieceLength >= total) {
    throw new RangeError(`no pieces ${from}..${to}`)
  }
  pieceSpans(sizes, pieceLength, to - 1) // throws for a piece past the end
  const hashes = new Uint8Array((to - from) * 20)
  const perRead = Math.max(1, Math.floor(READ_BYTES / pieceLength))
  const read = (first: number) => {
    const last = Math.min(to, first + perRead)
    return readRange(files, first * pieceLength, Math.min(total, last * pieceLength)).then(
      (buffer) => ({ first, last, buffer }),
    )
  }
  let bytes = 0
  let pending = read(from)
  for (let first = from; first < to; first += perRead) {
    const chunk = await pending
    if (chunk.last < to) pending = read(chunk.last)
    bytes += chunk.buffer.byteLength
    const digests = []
    for (let i = chunk.first; i < chunk.last; i++) {
      const at = (i - chunk.first) * pieceLength
      const view = new Uint8Array(
        chunk.buffer,
        at,
        Math.min(pieceLength, chunk.buffer.byteLength - at),
      )
      digests.push(crypto.subtle.digest('SHA-1', view))
    }
    ;(await Promise.all(digests)).forEach((d, k) => {
      hashes.set(new Uint8Array(d), (chunk.first + k - from) * 20)
    })
  }
  return { hashes, bytes }
}
