// Piece hashes for seeding, computed by a small pool of workers (piece-hash.worker.ts) that
// read the user's files in parallel and digest with WebCrypto. The page only hands out
// batches and collects 20-byte hashes, so it stays responsive however large the files are.
// Why our own: WebTorrent's seed() hashes through create-torrent on the page's thread, a
// piece at a time, at about a tenth of this rate (bench/hash).

import type { FromHashWorker, ToHashWorker } from '../../workers/piece-hash.worker.ts'
import { batches, pieceCount } from './plan.ts'

/** Most bytes per batch handed to a worker. A worker reads ahead only within a batch, so
 * batches are large (several of batch.ts's reads); small enough that progress moves. */
const BATCH_BYTES = 64 * 1024 * 1024
/** Batches per worker at least, so a smaller file still spreads over every worker and the
 * last batches do not leave one working alone for long. */
const BATCHES_PER_WORKER = 4
/** Batches queued per worker, so one never waits for the page between two. */
const QUEUED_PER_WORKER = 2

export interface HashOptions {
  pieceLength: number
  /** Workers in the pool (default: one more than the machine's cores, at most 4). */
  workers?: number
  /** Bytes hashed so far, of `total`. */
  onProgress?: (hashed: number, total: number) => void
  signal?: AbortSignal
  /** For tests: how a worker is made. */
  spawn?: () => Worker
}

export class HashError extends Error {
  override name = 'HashError'
}

/** SHA-1 of every piece of `files` laid end to end, 20 bytes each, in order. */
export function hashPieces(files: Blob[], opts: HashOptions): Promise<Uint8Array> {
  const total = files.reduce((n, f) => n + f.size, 0)
  const count = pieceCount(total, opts.pieceLength)
  const out = new Uint8Array(count * 20)
  if (count === 0) return Promise.resolve(out)
  const workers = Math.max(1, opts.workers ?? defaultWorkers())
  const batchBytes = Math.min(BATCH_BYTES, Math.ceil(total / (workers * BATCHES_PER_WORKER)))
  const queue = batches(count, opts.pieceLength, batchBytes)
  const size = Math.min(workers, queue.length)
  const spawn =
    opts.spawn ??
    (() =>
      new Worker(new URL('../../workers/piece-hash.worker.ts', import.meta.url), {
        type: 'module',
      }))

  return new Promise<Uint8Array>((resolve, reject) => {
    const pool: Worker[] = []
    let next = 0
    let done = 0
    let hashed = 0
    let settled = false
    const finish = (err?: Error) => {
      if (settled) return
      settled = true
      for (const w of pool) w.terminate()
      opts.signal?.removeEventListener('abort', onAbort)
      if (err) reject(err)
      else resolve(out)
    }
    const onAbort = () => finish(new HashError('hashing was cancelled'))
    opts.signal?.addEventListener('abort', onAbort)
    if (opts.signal?.aborted) return onAbort()

    const give = (worker: Worker) => {
      if (next >= queue.length) return
      const [from, to] = queue[next]
      const msg: ToHashWorker = {
        type: 'hash',
        batch: next++,
        from,
        to,
        pieceLength: opts.pieceLength,
      }
      worker.postMessage(msg)
    }
    for (let i = 0; i < size; i++) {
      const worker = spawn()
      pool.push(worker)
      worker.onmessage = (event: MessageEvent<FromHashWorker>) => {
        const msg = event.data
        if (msg.type === 'error')
          return finish(new HashError(`could not read the files: ${msg.message}`))
        out.set(msg.hashes, msg.from * 20)
        hashed += msg.bytes
        opts.onProgress?.(hashed, total)
        if (++done === queue.length) return finish()
        give(worker)
      }
      worker.onerror = (event) => finish(new HashError(`hashing worker failed: ${event.message}`))
      const init: ToHashWorker = { type: 'files', files }
      worker.postMessage(init)
      for (let q = 0; q < QUEUED_PER_WORKER; q++) give(worker)
    }
  })
}

/** One worker more than cores: while one waits on a read of the file (the browser process
 * serves every Blob read), the others hash. 1 GiB on 2 cores (bench/hash, alternating, three
 * runs each): 1140-1185 MiB/s with 3 workers, 1065-1092 with 2. */
function defaultWorkers(): number {
  const cores = typeof navigator === 'undefined' ? 2 : navigator.hardwareConcurrency || 2
  return Math.max(1, Math.min(4, cores + 1))
}
