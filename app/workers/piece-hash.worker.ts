// One worker of the seeding hash pool (app/lib/hash/pieces.ts): holds the user's File
// objects (posted once; a Blob crosses to a worker without its bytes being copied) and
// hashes the batches of pieces it is sent (app/lib/hash/batch.ts).

import { hashBatch } from '../lib/hash/batch.ts'

export type ToHashWorker =
  | { type: 'files'; files: Blob[] }
  | { type: 'hash'; batch: number; from: number; to: number; pieceLength: number }

export type FromHashWorker =
  | { type: 'hashed'; batch: number; from: number; hashes: Uint8Array; bytes: number }
  | { type: 'error'; batch: number; message: string }

let files: Blob[] = []

self.onmessage = (event: MessageEvent<ToHashWorker>) => {
  const msg = event.data
  if (msg.type === 'files') {
    files = msg.files
    return
  }
  hashBatch(files, msg.from, msg.to, msg.pieceLength).then(
    ({ hashes, bytes }) => {
      const reply: FromHashWorker = {
        type: 'hashed',
        batch: msg.batch,
        from: msg.from,
        hashes,
        bytes,
      }
      postMessage(reply, { transfer: [hashes.buffer] })
    },
    (err: unknown) => {
      // A file moved or changed since it was picked: NotReadableError.
      const reply: FromHashWorker = { type: 'error', batch: msg.batch, message: String(err) }
      postMessage(reply)
    },
  )
}
