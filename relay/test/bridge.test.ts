// The bridge's HTTP surface on real relay processes: what a hostile or mistaken request to
// POST /v1/bridge/:infohash gets (a clear 4xx, the relay still up, nothing held changed), the
// torrent cap, a classic announce that comes before the browser seeder, and a relay started
// without --bridge. The transfers themselves, with a real classic client and a browser, are
// in e2e/bridge.spec.ts.

import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import bencode from 'bencode'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import WebSocket from 'ws'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { announcePath } from './tracker-wire.ts'
import { seederAnnounce } from './ws-announce.ts'

const hash = (n: number) => n.toString(16).padStart(40, 'a')
const post = (relay: RelayProcess, path: string, body?: BodyInit) =>
  fetch(`${relay.url}/v1/bridge/${path}`, { method: 'POST', body })

interface Listed {
  enabled: boolean
  torrents: { infoHash: string; state: string; reason: string }[]
}
const listed = async (relay: RelayProcess) =>
  (await (await fetch(`${relay.url}/v1/bridge`)).json()) as Listed

/** A small single-file .torrent (BEP 3) and its info hash. */
function torrentFile(announce: string[]): { bytes: Uint8Array<ArrayBuffer>; infoHash: string } {
  const info = {
    name: 'tiny.bin',
    length: 16384,
    'piece length': 16384,
    pieces: randomBytes(20),
  }
  const bytes = bencode.encode({ announce: announce[0], 'announce-list': [announce], info })
  return {
    bytes: new Uint8Array(bytes),
    infoHash: createHash('sha1').update(bencode.encode(info)).digest('hex'),
  }
}

describe('POST /v1/bridge/:infohash', () => {
  let relay: RelayProcess

  beforeAll(async () => {
    relay = await startRelay({ args: ['--bridge', '--bridge-max-torrents', '2'] })
  })
  afterAll(async () => {
    await relay?.stop()
  })

  it('refuses a malformed info hash with 400', async () => {
    for (const bad of ['xyz', hash(1) + '0', hash(1).slice(1) + 'g', '%00'.repeat(40)]) {
      const res = await post(relay, bad)
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ code: 'malformed' })
    }
  })

  it('refuses a body over the size cap with 413, before reading it', async () => {
    const res = await post(relay, hash(1), new Uint8Array(5 * 1024 * 1024).fill(0x64))
    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({ code: 'too-large' })
  })

  it('refuses a body that is neither a magnet nor a .torrent, or is of another hash', async () => {
    const garbage = await post(relay, hash(1), 'hello')
    expect(garbage.status).toBe(400)
    expect((await garbage.json()).error).toMatch(/magnet link or a \.torrent file/)

    const broken = await post(relay, hash(1), 'd4:infoi1ee')
    expect(broken.status).toBe(400)
    expect((await broken.json()).error).toMatch(/unreadable torrent/)

    const nesting = await post(relay, hash(1), 'd' + 'l'.repeat(100_000))
    expect(nesting.status).toBe(400)

    const other = torrentFile(['http://tracker.org/announce'])
    const mismatch = await post(relay, hash(1), other.bytes)
    expect(mismatch.status).toBe(400)
    expect(await mismatch.json()).toMatchObject({ code: 'mismatch' })

    const magnet = await post(relay, hash(1), `magnet:?xt=urn:btih:${hash(2)}`)
    expect(magnet.status).toBe(400)
    expect((await listed(relay)).torrents).toEqual([])
  })

  it('bridges a hash, a magnet and a .torrent up to the cap, then answers 429', async () => {
    const first = await post(relay, hash(3).toUpperCase())
    expect(first.status).toBe(202)
    expect((await first.json()).torrent).toMatchObject({ infoHash: hash(3), state: 'metadata' })
    // The same hash again is only marked used.
    expect((await post(relay, hash(3))).status).toBe(200)

    // A .torrent whose trackers name this machine: bridged, those trackers left out.
    const file = torrentFile(['http://127.0.0.1:9/announce'])
    const second = await post(relay, file.infoHash, file.bytes)
    expect(second.status).toBe(202)
    const bridging = relay.logs.find((l) => l.msg === 'bridging' && l.infoHash === file.infoHash)
    expect(bridging?.trackers).toEqual([`${relay.url}/announce`, `${relay.wsUrl}/`])

    const third = await post(relay, hash(4), `magnet:?xt=urn:btih:${hash(4)}`)
    expect(third.status).toBe(429)
    expect(third.headers.get('retry-after')).toBe('60')
    expect(await third.json()).toMatchObject({ code: 'bridge-full', reason: 'torrents' })

    const { enabled, torrents } = await listed(relay)
    expect(enabled).toBe(true)
    expect(torrents.map((t) => t.infoHash).sort()).toEqual([hash(3), file.infoHash].sort())
    expect(relay.running()).toBe(true)
  })
})

describe('a classic announce of a hash nobody seeds yet', () => {
  let relay: RelayProcess

  beforeAll(async () => {
    relay = await startRelay({ args: ['--bridge'] })
  })
  afterAll(async () => {
    await relay?.stop()
  })

  it('is bridged once a browser seeds the hash, not only at its next announce', async () => {
    const infoHash = randomBytes(20)
    const hex = infoHash.toString('hex')
    // A classic leecher first: nobody seeds the hash, so nothing is bridged yet.
    const res = await fetch(relay.url + announcePath({ infoHash, peerId: randomBytes(20) }))
    expect(res.status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect((await listed(relay)).torrents).toEqual([])

    // Then a browser announces it as a seeder over the WebSocket tracker, and stays.
    const ws = new WebSocket(relay.wsUrl)
    try {
      await once(ws, 'open')
      ws.send(seederAnnounce(infoHash))
      await once(ws, 'message')
      // The classic client announces again only after its interval (600 s): the bridge
      // joins within about a second of the seeder, on its own.
      await vi.waitFor(
        async () =>
          expect((await listed(relay)).torrents).toContainEqual(
            expect.objectContaining({ infoHash: hex, reason: 'classic-announce' }),
          ),
        { timeout: 10_000, interval: 250 },
      )
    } finally {
      ws.close()
    }
    expect(relay.running()).toBe(true)
  })
})

describe('a relay without --bridge', () => {
  let relay: RelayProcess

  beforeAll(async () => {
    relay = await startRelay()
  })
  afterAll(async () => {
    await relay?.stop()
  })

  it('says it does not bridge', async () => {
    const res = await post(relay, hash(1))
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ code: 'no-bridge' })
    expect(await listed(relay)).toEqual({ enabled: false, torrents: [] })
  })
})
