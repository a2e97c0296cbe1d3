// Every patch of the engine, on the very WebTorrent bundle the app ships (in Node, real WebRTC
// through webrtc-polyfill), and the bridge's on the `webtorrent` package it runs: a WebTorrent
// that moved on fails here, by patch name, instead of silently running stock in users' tabs.
// Two Monsoon clients connect through the peer connection layer (signals carried here, no
// tracker, as the browser mesh will carry them) and a file crosses intact.

import { createHash } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'
import { createHybridClient, type HybridClient } from './hybrid.ts'
import { engineReport, missedPatches, TORRENT_PATCHES, WIRE_PATCHES } from './patches.ts'
import { canSeedAsWebTorrent } from './seeding.ts'
import { once, testPair, type Pair } from './test-pair.ts'

const pairs: Pair[] = []
const clients: HybridClient[] = []

afterEach(async () => {
  await Promise.all(pairs.splice(0).map((p) => p.destroy()))
  await Promise.all(clients.splice(0).map((c) => new Promise((r) => c.destroy(() => r(null)))))
})

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/** The patches that missed on `torrent`, or were never tried when they should have been. */
function notApplied(torrent: Torrent, expected: readonly string[]): string[] {
  const report = engineReport(torrent)
  const tried = expected.filter((n) => !report.patches[n as keyof typeof report.patches]?.applied)
  return [...new Set([...missedPatches(report), ...tried])]
}

describe('the engine on the bundle the app ships', () => {
  it('applies every patch, and a file crosses a connection made by the layer', async () => {
    const pair = await testPair(3 * 1024 * 1024)
    pairs.push(pair)
    const { seeder, leecher, data } = pair
    expect(canSeedAsWebTorrent(seeder), 'seeding internals (_onTorrentId, _destroy)').toBe(true)
    await pair.connect()
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
