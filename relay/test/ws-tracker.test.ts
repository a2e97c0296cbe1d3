// The relay's WebSocket tracker driven by software we did not write: the stock
// bittorrent-tracker client (announce, offer/answer relay, a real WebRTC connection, scrape)
// and the stock WebTorrent client (a whole download over WebRTC).

import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Client, { type ScrapeData, type TrackerPeer } from 'bittorrent-tracker'
import WebTorrent, { type Torrent } from 'webtorrent'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { LOOPBACK_RTC_CONFIG, QUIET_WEBTORRENT } from './loopback-rtc.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'

let relay: RelayProcess
beforeAll(async () => {
  relay = await startRelay()
})
afterAll(() => relay?.stop())

function trackerClient(announce: string, infoHash: string) {
  const peerId = randomBytes(20).toString('hex')
  const client = new Client({
    infoHash,
    peerId,
    announce: [announce],
    port: 6881,
    rtcConfig: LOOPBACK_RTC_CONFIG,
  })
  const warnings: string[] = []
  client.on('warning', (err: Error) => warnings.push(err.message))
  client.on('error', (err: Error) => warnings.push(`error: ${err.message}`))
  return { client, peerId, warnings }
}

/** The first peer this client connects to over WebRTC. */
function connectedPeer(client: Client): Promise<TrackerPeer> {
  return new Promise((resolve) => {
    client.on('peer', (peer: TrackerPeer) => peer.once('connect', () => resolve(peer)))
  })
}

async function nextText(peer: TrackerPeer): Promise<string> {
  const [data] = (await once(peer, 'data')) as [Uint8Array]
  return new TextDecoder().decode(data)
}

/** One scrape answer; gives up after 10 s so a lost answer fails (and retries) a waitFor. */
async function scrape(client: Client): Promise<ScrapeData> {
  const got = once(client, 'scrape', { signal: AbortSignal.timeout(10_000) })
  client.scrape()
  return ((await got) as [ScrapeData])[0]
}

// WebRTC in Node (node-datachannel over loopback) now and then never completes ICE when the
// whole suite loads both cores: one hang in six full CI runs, none in runs of this file
// alone. A stuck attempt is retried; every attempt asserts the same outcomes.
const WEBRTC_TEST = { timeout: 90_000, retry: 2 }

describe('stock bittorrent-tracker client over the relay WebSocket', () => {
  it(
    'two clients on one info hash trade offer and answer, connect, and see each other in scrape',
    WEBRTC_TEST,
    async () => {
      const infoHash = randomBytes(20).toString('hex')
      // Two URLs of the same relay: the stock client shares one WebSocket per URL within a
      // process, and the relay holds one peer_id per WebSocket.
      const a = trackerClient(relay.wsUrl, infoHash)
      const b = trackerClient(`${relay.wsUrl}/announce`, infoHash)
      try {
        const aAnnounced = once(a.client, 'update')
        a.client.start({ left: 0 })
        expect((await aAnnounced)[0]).toMatchObject({ complete: 1, incomplete: 0 })

        const atA = connectedPeer(a.client)
        const atB = connectedPeer(b.client)
        b.client.start()
        const [peerAtA, peerAtB] = await Promise.all([atA, atB])
        expect(peerAtA.id).toBe(b.peerId)
        expect(peerAtB.id).toBe(a.peerId)
        expect(peerAtB.remoteAddress).toBe('127.0.0.1')

        const toB = nextText(peerAtB)
        peerAtA.send('ping from A')
        expect(await toB).toBe('ping from A')
        const toA = nextText(peerAtA)
        peerAtB.send('pong from B')
        expect(await toA).toBe('pong from B')

        expect(await scrape(b.client)).toMatchObject({ infoHash, complete: 1, incomplete: 1 })

        b.client.destroy()
        await vi.waitFor(async () => expect((await scrape(a.client)).incomplete).toBe(0), {
          timeout: 30_000,
          interval: 200,
        })
        expect(a.warnings).toEqual([])
        expect(b.warnings).toEqual([])
      } finally {
        a.client.destroy()
        b.client.destroy()
      }
    },
  )
})

describe('stock WebTorrent client over the relay WebSocket', () => {
  it(
    'downloads a magnet link from a WebTorrent seeder over WebRTC, bytes equal',
    WEBRTC_TEST,
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'monsoon-wt-'))
      const seeder = new WebTorrent(QUIET_WEBTORRENT)
      const leecher = new WebTorrent(QUIET_WEBTORRENT)
      try {
        const data = randomBytes(1 << 20)
        const seeded = await new Promise<Torrent>((resolve) =>
          seeder.seed(data, { name: 'random.bin', announce: [relay.wsUrl], path: dir }, resolve),
        )
        // Only an info hash and the relay: the metadata must come from the seeder too.
        const tr = encodeURIComponent(`${relay.wsUrl}/announce`)
        const torrent = leecher.add(`magnet:?xt=urn:btih:${seeded.infoHash}&tr=${tr}`, {
          path: join(dir, 'download'),
        })
        await once(torrent, 'done')
        const got = Buffer.from(await torrent.files[0].arrayBuffer())
        const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
        expect(sha256(got)).toBe(sha256(data))
      } finally {
        await Promise.all([seeder, leecher].map((c) => new Promise((r) => c.destroy(r))))
        rmSync(dir, { recursive: true, force: true })
      }
    },
  )
})
