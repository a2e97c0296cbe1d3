import { createHash, randomBytes } from 'node:crypto'
import createTorrent from 'create-torrent'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { FromHashWorker, ToHashWorker } from '../../workers/piece-hash.worker.ts'
import { hashBatch } from './batch.ts'
import { hashPieces } from './pieces.ts'
import { pieceSpans } from './plan.ts'
import { buildTorrent, torrentLayout } from './torrent-file.ts'

/** A worker in the same thread, running the worker's own batch code: what the pool sees. */
function inlineWorker(): Worker {
  let files: Blob[] = []
  const fake = {
    onmessage: null as ((e: MessageEvent<FromHashWorker>) => void) | null,
    onerror: null,
    postMessage(msg: ToHashWorker) {
      if (msg.type === 'files') {
        files = msg.files
        return
      }
      void hashBatch(files, msg.from, msg.to, msg.pieceLength).then(({ hashes, bytes }) => {
        const data = { type: 'hashed', batch: msg.batch, from: msg.from, hashes, bytes }
        fake.onmessage?.({ data } as MessageEvent<FromHashWorker>)
      })
    },
    terminate() {},
  }
  return fake as unknown as Worker
}

function bytes(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24
  return out
}

/** SHA-1 per piece of the concatenation, computed the obvious way. */
function reference(parts: Uint8Array<ArrayBuffer>[], pieceLength: number): Uint8Array {
  const all = Buffer.concat(parts)
  const out: Buffer[] = []
  for (let i = 0; i < all.length; i += pieceLength) {
    out.push(
      createHash('sha1')
        .update(all.subarray(i, i + pieceLength))
        .digest(),
    )
  }
  return new Uint8Array(Buffer.concat(out))
}

describe('piece hashing', () => {
  it('splits pieces across file boundaries as BEP 3 lays files end to end', () => {
    expect(pieceSpans([5, 3, 10], 4, 1)).toEqual([
      { file: 0, start: 4, end: 5 },
      { file: 1, start: 0, end: 3 },
    ])
    expect(pieceSpans([5, 0, 10], 4, 1)).toEqual([
      { file: 0, start: 4, end: 5 },
      { file: 2, start: 0, end: 3 },
    ])
    expect(() => pieceSpans([5], 4, 2)).toThrow(RangeError)
  })

  it('hashes any files and piece length like the obvious reference, over 1-3 workers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom(16, 100, 1024),
        fc.integer({ min: 1, max: 3 }),
        async (sizes, pieceLength, workers) => {
          const parts = sizes.map((n, i) => bytes(n, i + 1))
          const files = parts.map((p) => new Blob([p]))
          let last = 0
          const got = await hashPieces(files, {
            pieceLength,
            workers,
            spawn: inlineWorker,
            onProgress: (hashed, total) => {
              expect(hashed).toBeGreaterThan(last)
              expect(total).toBe(sizes.reduce((a, b) => a + b, 0))
              last = hashed
            },
          })
          expect(Buffer.from(got).toString('hex')).toBe(
            Buffer.from(reference(parts, pieceLength)).toString('hex'),
          )
        },
      ),
      { numRuns: 40 },
    )
  })

  it('makes the info hash create-torrent (WebTorrent seed) makes for the same files', async () => {
    const cases = [
      { files: [{ name: 'one.bin', size: 70_000 }], name: undefined },
      {
        files: [
          { name: 'a.txt', size: 1000 },
          { name: 'b.webm', size: 50_000 },
        ],
        name: undefined,
      },
      {
        files: [
          { name: 'a.txt', size: 1000 },
          { name: 'b.txt', size: 3 },
        ],
        name: 'My share',
      },
    ]
    for (const [k, c] of cases.entries()) {
      const parts = c.files.map((f, i) => bytes(f.size, 10 * k + i))
      const pieceLength = 16384
      const pieces = await hashPieces(
        parts.map((p) => new Blob([p])),
        { pieceLength, workers: 2, spawn: inlineWorker },
      )
      const ours = buildTorrent({
        layout: torrentLayout(c.files, c.name),
        pieceLength,
        pieces,
        announce: ['ws://127.0.0.1:1/'],
      })
      const input = parts.map((p, i) => Object.assign(Buffer.from(p), { name: c.files[i].name }))
      const theirs = await new Promise<Buffer>((resolve, reject) =>
        createTorrent(
          input,
          { pieceLength, name: c.name, announceList: [['ws://127.0.0.1:1/']] },
          (err, torrent) => (err ? reject(err) : resolve(Buffer.from(torrent))),
        ),
      )
      const parsed = (await import('parse-torrent')).default
      const their = await parsed(theirs)
      const our = await parsed(Buffer.from(ours.torrent))
      expect(our.infoHash, `case ${k}`).toBe(their.infoHash)
      expect(ours.infoHash).toBe(their.infoHash)
      expect(our.announce).toEqual(['ws://127.0.0.1:1/'])
    }
  })

  it('hashes a batch read in several fills of one buffer, across file boundaries', async () => {
    // 8 MiB fills (batch.ts): 39 pieces of 1 MiB over three files take five.
    const MiB = 1024 * 1024
    const parts = [randomBytes(10 * MiB + 5), randomBytes(7), randomBytes(30 * MiB + 100)].map(
      (b) => new Uint8Array(b),
    )
    const { hashes, bytes } = await hashBatch(
      parts.map((p) => new Blob([p])),
      2,
      41,
      MiB,
    )
    const all = reference(parts, MiB)
    expect(bytes).toBe(parts.reduce((n, p) => n + p.length, 0) - 2 * MiB)
    expect(Buffer.from(hashes).toString('hex')).toBe(Buffer.from(all.subarray(40)).toString('hex'))
  })

  it('reads by arrayBuffer() where a Blob stream is not a byte stream', async () => {
    const file = new Uint8Array(randomBytes(8 * 65536 + 11))
    const { hashes } = await hashBatch([withPlainStream(new Blob([file]))], 0, 9, 65536)
    expect(Buffer.from(hashes).toString('hex')).toBe(
      Buffer.from(reference([file], 65536)).toString('hex'),
    )
  })

  it('stops with the error of a read that fails after others were read', async () => {
    const MiB = 1024 * 1024
    await expect(hashBatch([failsAfter(48 * MiB, 32 * MiB)], 0, 48, MiB)).rejects.toThrow(
      /NotReadableError/,
    )
  })

  it('says so when a file is shorter than it was when picked', async () => {
    const shrunk = { size: 100, slice: () => new Blob([new Uint8Array(60)]) } as unknown as Blob
    await expect(hashBatch([shrunk], 0, 4, 32)).rejects.toThrow(/shorter than when it was picked/)
  })

  it('reports unreadable files as a clear error and stops every worker', async () => {
    const err = await hashPieces([failsAfter(10, 0)], { pieceLength: 4, spawn: errorWorker }).catch(
      (e) => e,
    )
    expect(String(err)).toMatch(/could not read the files/)
  })
})

/** A file of `size` bytes whose reads fail past `readable` bytes, as one changed or removed
 * on disk since it was picked does (NotReadableError). */
function failsAfter(size: number, readable: number): Blob {
  return {
    size,
    slice: (from = 0, to = size) => failsAfter(to - from, Math.max(0, readable - from)),
    stream() {
      let sent = 0
      return new ReadableStream({
        type: 'bytes',
        pull(controller) {
          const request = controller.byobRequest!
          const n = Math.min(request.view!.byteLength, readable - sent, 1 << 20)
          if (n <= 0) return controller.error(new Error('NotReadableError'))
          request.respond(n)
          sent += n
        },
      })
    },
  } as unknown as Blob
}

/** `blob` with a stream that is not a byte stream (no BYOB reader), as in older browsers. */
function withPlainStream(blob: Blob): Blob {
  return {
    size: blob.size,
    slice: (from?: number, to?: number) => withPlainStream(blob.slice(from, to)),
    arrayBuffer: () => blob.arrayBuffer(),
    stream: () => new ReadableStream({ start: (c) => c.close() }),
  } as unknown as Blob
}

function errorWorker(): Worker {
  const fake = {
    onmessage: null as ((e: MessageEvent<FromHashWorker>) => void) | null,
    onerror: null,
    files: [] as Blob[],
    postMessage(msg: ToHashWorker) {
      if (msg.type === 'files') return void (fake.files = msg.files)
      void hashBatch(fake.files, msg.from, msg.to, msg.pieceLength).catch((err: unknown) => {
        const data = { type: 'error', batch: msg.batch, message: String(err) }
        fake.onmessage?.({ data } as MessageEvent<FromHashWorker>)
      })
    },
    terminate() {},
  }
  return fake as unknown as Worker
}
