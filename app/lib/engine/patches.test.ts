// Every patch of the engine, on the very WebTorrent bundle the app ships (in Node, real WebRTC
// through webrtc-polyfill), and the bridge's on the `webtorrent` package it runs: a WebTorrent
// that moved on fails here, by patch name, instead of silently running stock in users' tabs.
// Two Monsoon clients connect through the peer connection layer (signals carried here, no
// tracker, as the browser mesh will carry them) and a file crosses intact.

import { createHash } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import type WebTorrent from 'webtorrent/dist/webtorrent.min.js'
import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'
import { createHybridClient, type HybridClient } from './hybrid.ts'
import { monsoonClient } from './monsoon-client.ts'
import { engineReport, missedPatches, TORRENT_PATCHES, WIRE_PATCHES } from './patches.ts'
import { PeerConnections, type SignalledPeer } from './peer-connections.ts'
import { canSeedAsWebTorrent } from './seeding.ts'
import { loadBundle } from './test-bundle.ts'

const quiet = { tracker: false, dht: false, lsd: false, webSeeds: false, utp: false } as never
const clients: { destroy(cb: () => void): void }[] = []

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => new Promise((r) => c.destroy(() => r(null)))))
})

const once = (torrent: Torrent, event: string) =>
  new Promise<void>((r) =>
    (torrent as unknown as { once(e: string, l: () => void): void }).once(event, r),
  )
const peerIdOf = (c: WebTorrent) => (c as unknown as { peerId: string }).peerId
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/** The patches that missed on `torrent`, or were never tried when they should have been. */
function notApplied(torrent: Torrent, expected: readonly string[]): string[] {
  const report = engineReport(torrent)
  const tried = expected.filter((n) => !report.patches[n as keyof typeof report.patches]?.applied)
  return [...new Set([...missedPatches(report), ...tried])]
}

describe('the engine on the bundle the app ships', () => {
  it('applies every patch, and a file crosses a connection made by the layer', async () => {
    const Bundle = await loadBundle()
    const seederLayer = new PeerConnections()
    const leecherLayer = new PeerConnections()
    const seederClient = monsoonClient(Bundle, quiet, { peerConnections: seederLayer })
    const leecherClient = monsoonClient(Bundle, quiet, { peerConnections: leecherLayer })
    clients.push(seederClient, leecherClient)

    const data = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 31 + (i >> 12)) % 251)
    const file = Object.assign(data, { name: 'engine.bin' })
    const seeder = await new Promise<Torrent>((resolve) =>
      seederClient.seed(file as never, { announce: [] }, resolve),
    )
    expect(canSeedAsWebTorrent(seeder), 'seeding internals (_onTorrentId, _destroy)').toBe(true)
    const leecher = leecherClient.add(seeder.torrentFile as never, { announce: [] })
    if (!leecher.ready) await once(leecher, 'ready')

    // Signals carried by hand: the leecher offers, the seeder answers.
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
    if (!leecher.done) await once(leecher, 'done')
    const got = new Uint8Array(await leecher.files[0]!.arrayBuffer())
    expect(sha(got)).toBe(sha(data))

    for (const [side, torrent] of [
      ['seeder', seeder],
      ['leecher', leecher],
    ] as const) {
      expect(notApplied(torrent, TORRENT_PATCHES), `${side}: patches that did not apply`).toEqual(
        [],
      )
      expect(engineReport(torrent).wires, `${side}: wires`).toBeGreaterThan(0)
      expect(notApplied(torrent, WIRE_PATCHES), `${side}: wire patches that did not apply`).toEqual(
        [],
      )
    }
  }, 60_000)
})

describe('the engine on the webtorrent package the bridge runs', () => {
  it('routes added peers through the one add-peer wrapper', async () => {
    const client: HybridClient = await createHybridClient({
      torrentPort: 0,
      dht: false,
      lsd: false,
      rate: -1,
      iceServers: [],
      bindAddress: '127.0.0.1',
    })
    clients.push(client)
    const torrent = client.add('a'.repeat(40), { announce: [], path: '/tmp/monsoon-engine-test' })
    expect(notApplied(torrent as unknown as Torrent, ['add-peer'])).toEqual([])
  })
})
