// For tests only: a seeder and a leecher of one file, two Monsoon clients on the bundle the app
// ships (test-bundle.ts), connected through their peer connection layers with the signals
// carried here (no tracker), as the browser mesh will carry them.

import type WebTorrent from 'webtorrent/dist/webtorrent.min.js'
import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'
import type { MeshHandlers } from './mesh-extension.ts'
import { monsoonClient } from './monsoon-client.ts'
import { PeerConnections, type SignalledPeer } from './peer-connections.ts'
import { loadBundle } from './test-bundle.ts'

const quiet = { tracker: false, dht: false, lsd: false, webSeeds: false, utp: false } as never

export const once = (torrent: Torrent, event: string) =>
  new Promise<void>((r) =>
    (torrent as unknown as { once(e: string, l: () => void): void }).once(event, r),
  )
export const peerIdOf = (c: WebTorrent) => (c as unknown as { peerId: string }).peerId

export interface Pair {
  seederClient: WebTorrent
  leecherClient: WebTorrent
  seeder: Torrent
  leecher: Torrent
  data: Uint8Array
  /** Connects the two: the leecher offers, the seeder answers. */
  connect(): Promise<void>
  destroy(): Promise<void>
}

/** Two clients of `bytes` bytes of one file, each with its own mesh handlers if given. */
export async function testPair(
  bytes: number,
  mesh: { seeder?: MeshHandlers; leecher?: MeshHandlers } = {},
): Promise<Pair> {
  const Bundle = await loadBundle()
  const seederLayer = new PeerConnections()
  const leecherLayer = new PeerConnections()
  const seederClient = monsoonClient(Bundle, quiet, {
    peerConnections: seederLayer,
    mesh: mesh.seeder,
  })
  const leecherClient = monsoonClient(Bundle, quiet, {
    peerConnections: leecherLayer,
    mesh: mesh.leecher,
  })
  const data = new Uint8Array(bytes).map((_, i) => (i * 31 + (i >> 12)) % 251)
  const file = Object.assign(data, { name: 'pair.bin' })
  const seeder = await new Promise<Torrent>((resolve) =>
    seederClient.seed(file as never, { announce: [] }, resolve),
  )
  const leecher = leecherClient.add(seeder.torrentFile as never, { announce: [] })
  if (!leecher.ready) await once(leecher, 'ready')
  const connect = async () => {
    const sides: { offering?: SignalledPeer } = {}
    const answering = await seederLayer.connect(seeder, {
      peerId: peerIdOf(leecherClient),
      initiator: false,
      send: (signal) => sides.offering?.signal(signal),
    })
    sides.offering = await leecherLayer.connect(leecher, {
      peerId: peerIdOf(seederClient),
      initiator: true,
      send: (signal) => answering.signal(signal),
    })
  }
  const destroy = async () => {
    await Promise.all(
      [seederClient, leecherClient].map((c) => new Promise((r) => c.destroy(() => r(null)))),
    )
  }
  return { seederClient, leecherClient, seeder, leecher, data, connect, destroy }
}
