// seedFiles on the very bundle the app ships, in Node: the torrent it makes is ready to seed
// from the files themselves, with the info hash create-torrent makes for the same files, and
// the same files seeded again hand back the first torrent.

import createTorrent from 'create-torrent'
import parseTorrent from 'parse-torrent'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'
import type WebTorrent from 'webtorrent/dist/webtorrent.min.js'
import type { FromHashWorker, ToHashWorker } from '../../workers/piece-hash.worker.ts'
import { FileChunkStore } from '../file-chunk-store.ts'
import { loadBundle } from '../engine/test-bundle.ts'
import { hashBatch } from './batch.ts'
import { seedFiles } from './seed.ts'

function inlineWorker(): Worker {
  let files: Blob[] = []
  const fake = {
    onmessage: null as ((e: MessageEvent<FromHashWorker>) => void) | null,
    onerror: null,
    postMessage(msg: ToHashWorker) {
      if (msg.type === 'files') return void (files = msg.files)
      void hashBatch(files, msg.from, msg.to, msg.pieceLength).then(({ hashes, bytes }) => {
        const data = { type: 'hashed', batch: msg.batch, from: msg.from, hashes, bytes }
        fake.onmessage?.({ data } as MessageEvent<FromHashWorker>)
      })
    },
    terminate() {},
  }
  return fake as unknown as Worker
}

let client: WebTorrent
beforeAll(async () => {
  const Bundle = await loadBundle()
  client = new (Bundle as unknown as new (opts: object) => WebTorrent)({
    dht: false,
    lsd: false,
    tracker: false,
  })
})
afterAll(() => (client as unknown as { destroy(): void }).destroy())

describe('seedFiles (our hashing in WebTorrent seed()s place)', () => {
  it('the bundle still has the internals it relies on', async () => {
    const Bundle = await loadBundle()
    const probe = new (Bundle as unknown as new (opts: object) => WebTorrent)({
      dht: false,
      lsd: false,
      tracker: false,
    })
    const t = probe.add(null as unknown as string, {}) as unknown as Record<string, unknown>
    expect(typeof t._onTorrentId).toBe('function')
    expect(typeof t._destroy).toBe('function')
    ;(probe as unknown as { destroy(): void }).destroy()
  })

  it('makes a torrent ready to seed, with the info hash create-torrent makes', async () => {
    const parts = [new Uint8Array(50_000).fill(7), new Uint8Array(30_001).fill(9)]
    const files = parts.map((p, i) => new File([p], `part${i}.bin`))
    const pieceLength = 16384
    let progress = 0
    const opts = {
      announce: [],
      pieceLength,
      preloadedStore: new FileChunkStore(pieceLength, files),
      onProgress: (hashed: number) => (progress = hashed),
    }
    const seeded = await new Promise<Torrent>((resolve) =>
      seedFiles(client, files, opts, resolve, inlineWorker),
    )
    expect(seeded.ready).toBe(true)
    expect(progress).toBe(80_001)
    expect(seeded.files.map((f) => f.length)).toEqual([50_000, 30_001])
    expect(seeded.progress).toBe(1)
    const input = parts.map((p, i) => Object.assign(Buffer.from(p), { name: `part${i}.bin` }))
    const theirs = await new Promise<Uint8Array>((resolve, reject) =>
      createTorrent(input, { pieceLength, announceList: [] }, (err, t) =>
        err ? reject(err) : resolve(t),
      ),
    )
    expect(seeded.infoHash).toBe((await parseTorrent(theirs)).infoHash)

    // The same files again: the first torrent comes back.
    const again = await new Promise<Torrent>((resolve) =>
      seedFiles(
        client,
        files,
        { ...opts, preloadedStore: new FileChunkStore(pieceLength, files) },
        resolve,
        inlineWorker,
      ),
    )
    expect(again).toBe(seeded)
  })
})
