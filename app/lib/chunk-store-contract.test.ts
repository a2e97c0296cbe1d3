import { chunkStoreContract, type ContractStore } from './chunk-store-contract.ts'
import { RecentPieces } from './engine/fast/recent-pieces.ts'
import { FileChunkStore } from './file-chunk-store.ts'
import { MemoryFiles } from './memory-chunk-files.ts'
import { OpfsChunkStore } from './opfs-store.ts'

let stores = 0
/** An OPFS store over files in memory, under a key of its own. */
const opfs = (chunkLength: number, data: Uint8Array) =>
  new OpfsChunkStore(chunkLength, {
    length: data.length,
    key: `contract-${++stores}`,
    backend: new MemoryFiles(),
  })
/** The user's own files: `data` cut in three, so chunks cross file boundaries. */
const files = (chunkLength: number, data: Uint8Array) => {
  const third = Math.floor(data.length / 3)
  const cuts = [data.subarray(0, third), data.subarray(third, 2 * third), data.subarray(2 * third)]
  return new FileChunkStore(
    chunkLength,
    cuts.map((part) => new Blob([part.slice()])),
  )
}

chunkStoreContract('OpfsChunkStore', { writable: true, make: opfs })
chunkStoreContract('FileChunkStore', { writable: false, make: files })
// As the app composes them (engine/client.ts): downloads over OPFS, seeding over files.
chunkStoreContract('RecentPieces over OpfsChunkStore', {
  writable: true,
  make: (chunkLength, data) => new RecentPieces(opfs(chunkLength, data)) as ContractStore,
})
chunkStoreContract('RecentPieces over FileChunkStore', {
  writable: false,
  make: (chunkLength, data) => new RecentPieces(files(chunkLength, data)) as ContractStore,
})
// A budget too small to keep a piece: every read goes to the store, ranges and all.
chunkStoreContract('RecentPieces keeping nothing', {
  writable: true,
  make: (chunkLength, data) => new RecentPieces(opfs(chunkLength, data), 0) as ContractStore,
})
