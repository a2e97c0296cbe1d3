// Which bytes make up each piece of a torrent over several files laid end to end (BEP 3:
// pieces run across file boundaries). Pure, so the browser hasher (pieces.ts and its
// worker) and the tests share it.

/** A byte range of one of the files: `[start, end)` of files[file]. */
export interface Span {
  file: number
  start: number
  end: number
}

/** The spans of piece `index` over files of the given sizes, in order. */
export function pieceSpans(sizes: readonly number[], pieceLength: number, index: number): Span[] {
  const total = sizes.reduce((n, s) => n + s, 0)
  let from = index * pieceLength
  const to = Math.min(total, from + pieceLength)
  if (index < 0 || from >= to) throw new RangeError(`no piece ${index}`)
  const spans: Span[] = []
  let offset = 0
  for (let file = 0; file < sizes.length && from < to; file++) {
    const size = sizes[file]
    if (from < offset + size) {
      const start = from - offset
      const end = Math.min(size, to - offset)
      if (end > start) spans.push({ file, start, end })
      from = offset + end
    }
    offset += size
  }
  return spans
}

export function pieceCount(totalBytes: number, pieceLength: number): number {
  return Math.ceil(totalBytes / pieceLength)
}

/** Splits pieces [0, count) into batches of about `batchBytes` each, for the workers. */
export function batches(
  count: number,
  pieceLength: number,
  batchBytes: number,
): [number, number][] {
  const per = Math.max(1, Math.floor(batchBytes / pieceLength))
  const out: [number, number][] = []
  for (let from = 0; from < count; from += per) out.push([from, Math.min(count, from + per)])
  return out
}
