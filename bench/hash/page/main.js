// The bench page (bench/hash/index.js builds it with Vite): our seeding hash pool and stock
// WebTorrent's seed() over the same picked file, each timed in the page, with the longest
// main-thread task seen while it ran.
import WebTorrent from 'webtorrent/dist/webtorrent.min.js'
import { hashPieces } from '../../../app/lib/hash/pieces.ts'
import { buildTorrent, torrentLayout } from '../../../app/lib/hash/torrent-file.ts'
import { FileChunkStore, pieceLengthFor } from '../../../app/lib/file-chunk-store.ts'

let longest = 0
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) longest = Math.max(longest, entry.duration)
}).observe({ type: 'longtask', buffered: true })

const picked = () => document.getElementById('file').files[0]

async function timed(work) {
  longest = 0
  const t0 = performance.now()
  const extra = await work()
  const seconds = (performance.now() - t0) / 1000
  // Long tasks are reported after they end: give the observer a turn.
  await new Promise((r) => setTimeout(r, 50))
  return { seconds, longTaskMaxMs: Math.round(longest), ...extra }
}

/** A client with no trackers and no peers: only the making of a torrent ready to seed. */
const quietClient = () =>
  new WebTorrent({ tracker: false, dht: false, lsd: false, webSeeds: false })

// Ours, as the app's Share page does it: hash in the worker pool, build the .torrent, and
// seed it from the picked file itself (no copy, no second hashing pass), until ready.
window.benchOurs = () =>
  timed(async () => {
    const file = picked()
    const pieceLength = pieceLengthFor(file.size)
    const pieces = await hashPieces([file], { pieceLength })
    const built = buildTorrent({ layout: torrentLayout([file]), pieceLength, pieces, announce: [] })
    const client = quietClient()
    await new Promise((resolve, reject) => {
      client.on('error', reject)
      const store = new FileChunkStore(pieceLength, [file])
      client.add(built.torrent, { preloadedStore: store, skipVerify: true }, (t) =>
        t.ready ? resolve() : t.once('ready', resolve),
      )
    })
    client.destroy()
    return { pieces: pieces.length / 20, infoHash: built.infoHash }
  })

// Stock: a WebTorrent page's seed(file), until its seed callback (hashed, stored, ready).
window.benchStock = () =>
  timed(
    () =>
      new Promise((resolve, reject) => {
        const file = picked()
        const client = quietClient()
        client.on('error', reject)
        client.seed(file, { announce: [], pieceLength: pieceLengthFor(file.size) }, (t) => {
          const result = { pieces: t.pieces.length, infoHash: t.infoHash }
          client.destroy()
          resolve(result)
        })
      }),
  )
