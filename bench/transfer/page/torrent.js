// A torrent seeded from random bytes made in the page, and downloaded from its magnet, by a
// client of one kind: `stock` is a plain WebTorrent 3 client (the bundle the app uses, default
// options), `ours` is the app's own, from createClient() (app/lib/engine/client.ts), so whatever is
// done there to make transfers faster is what is measured. Both only get the one setting the
// app gives too: ICE servers (none here: loopback host candidates are enough). Each keeps
// pieces in its own client's default store: stock WebTorrent's is fsa-chunk-store in the
// page's origin-private file system (on disk in a normal profile, in the browser process's
// memory in an off-the-record context); ours is whatever createClient() picks.
// The bundle first: it takes the page's WebSocket and RTCPeerConnection as it finds them, so
// neither client signals through the app's sealing WebSocket (sealed-websocket.ts) or makes its
// connections through the engine's layer (engine/rtc-global.ts). Stock stays stock, and both
// compare on the same signalling; e2e/peer-path.spec.ts checks the layer in the app itself.
import WebTorrent from 'webtorrent/dist/webtorrent.min.js'
import { createClient } from '../../../app/lib/engine/client.ts'
import { pieceLengthFor } from '../../../app/lib/file-chunk-store.ts'
import { now, randomBytes, sha256Hex } from './clock.js'

/** How long a seeder waits for its first tracker answer before leechers are let in. */
const ANNOUNCE_WAIT_MS = 15_000

let client = null
let torrent = null

function makeClient(kind) {
  const opts = { tracker: { rtcConfig: { iceServers: [] } } }
  if (kind === 'ours') return createClient(opts)
  if (kind === 'stock') return new WebTorrent(opts)
  throw new TypeError(`no client kind ${kind}`)
}

/** Seeds `size` random bytes at the app's piece length; resolves once the torrent is ready
 * and the tracker has answered its first announce (so a leecher's announce finds it). The
 * bytes' SHA-256 is the reference each download is checked against. */
export async function seed({ kind, size, tracker, name }) {
  const data = randomBytes(size)
  const sha256 = await sha256Hex(data)
  const file = new File([data], name)
  client = makeClient(kind)
  const t0 = now()
  let announced = false
  torrent = await new Promise((resolve, reject) => {
    client.on('error', (err) => reject(new Error(`seeding: ${err?.message ?? err}`)))
    let ready = null
    const t = client.seed(file, { announce: [tracker], pieceLength: pieceLengthFor(size) }, (s) => {
      ready = s
      if (announced) resolve(s)
      else setTimeout(() => resolve(s), ANNOUNCE_WAIT_MS)
    })
    t.once('trackerAnnounce', () => {
      announced = true
      if (ready) resolve(ready)
    })
  })
  return {
    announced,
    magnetURI: torrent.magnetURI,
    infoHash: torrent.infoHash,
    pieceLength: torrent.pieceLength,
    sha256,
    seedSeconds: (now() - t0) / 1000,
  }
}

/** Downloads `magnetURI`; resolves at 'done' (every piece verified) with the times of the
 * add, the first peer connection, the first block of piece data, the first verified piece,
 * the first tenth of the bytes received and the end, on the shared clock. */
export function leech({ kind, magnetURI, tracker }) {
  client = makeClient(kind)
  return new Promise((resolve, reject) => {
    client.on('error', (err) => reject(new Error(`downloading: ${err?.message ?? err}`)))
    const times = {
      addAt: now(),
      connectAt: null,
      firstByteAt: null,
      firstPieceAt: null,
      tenthAt: null,
    }
    torrent = client.add(magnetURI, { announce: [tracker] })
    // The torrent's own 'download' counts every byte off the connection (handshakes too);
    // a wire's 'piece' is the first block of file data.
    torrent.on('wire', (wire) => {
      times.connectAt ??= now()
      wire.once('piece', () => (times.firstByteAt ??= now()))
    })
    torrent.once('verified', () => (times.firstPieceAt = now()))
    const tenth = () => {
      // Not before the metadata (no length yet: those bytes are the metadata's).
      if (!torrent.length || torrent.received < torrent.length / 10) return
      times.tenthAt = now()
      torrent.removeListener('download', tenth)
    }
    torrent.on('download', tenth)
    torrent.once('done', () => resolve({ ...times, doneAt: now(), peers: torrent.numPeers }))
  })
}

/** The SHA-256 of what was downloaded (read back from the torrent's store after 'done'). */
export async function verify() {
  return sha256Hex(await torrent.files[0].arrayBuffer())
}

/** Where a download stands (for the error when one is stuck). */
export const status = () =>
  torrent
    ? {
        progress: torrent.progress,
        peers: torrent.numPeers,
        received: torrent.received,
        downloaded: torrent.downloaded,
      }
    : null

export function stop() {
  client?.destroy()
  client = torrent = null
}
