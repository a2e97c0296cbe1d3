// Runs the very bundle the app loads (webtorrent/dist/webtorrent.min.js) in Node against two
// WebSocket trackers, so that a WebTorrent update that changes the internals
// discovery-trackers.ts reaches into fails here rather than in a user's tab.

import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { WebSocketServer, type WebSocket } from 'ws'
import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'
import {
  announceNow,
  canChangeTrackers,
  currentTrackers,
  downTrackers,
  replaceTrackers,
} from './discovery-trackers.ts'
import { loadBundle } from './test-bundle.ts'

const HASH = '0123456789abcdef0123456789abcdef01234567'

interface Announce {
  event?: string
}

/** A WebSocket tracker that records each announce and answers it with empty swarm figures. */
class RecordingTracker {
  readonly announces: Announce[] = []
  /** WebSocket connections accepted so far. */
  connections = 0
  readonly #server: WebSocketServer
  readonly #sockets = new Set<WebSocket>()

  constructor() {
    this.#server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    this.#server.on('connection', (socket) => {
      this.connections++
      this.#sockets.add(socket)
      socket.on('message', (data) => {
        const msg = JSON.parse(String(data)) as Announce & { action: string; info_hash: string }
        if (msg.action !== 'announce') return
        this.announces.push({ event: msg.event })
        socket.send(
          JSON.stringify({
            action: 'announce',
            info_hash: msg.info_hash,
            interval: 120,
            complete: 0,
            incomplete: 1,
          }),
        )
      })
    })
  }

  /** The tracker's URL, as the stock client spells it (no trailing slash). */
  url = ''

  async listening(): Promise<void> {
    if (!this.#server.address()) await once(this.#server, 'listening')
    this.url = `ws://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
  }

  events(): (string | undefined)[] {
    return this.announces.map((a) => a.event)
  }

  /** Drops every socket but keeps listening: a relay that restarted. */
  drop(): void {
    for (const s of this.#sockets) s.terminate()
    this.#sockets.clear()
  }

  /** Closes every socket and stops listening: a relay gone. */
  async close(): Promise<void> {
    for (const s of this.#sockets) s.terminate()
    await new Promise((resolve) => this.#server.close(resolve))
  }
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('discovery-trackers on webtorrent/dist/webtorrent.min.js', () => {
  let client: { add(id: string, opts: object): Torrent; destroy(): void }
  let version: string
  const a = new RecordingTracker()
  const b = new RecordingTracker()
  const c = new RecordingTracker()
  const d = new RecordingTracker()
  const e = new RecordingTracker()
  const f = new RecordingTracker()
  const g = new RecordingTracker()

  beforeAll(async () => {
    const WebTorrent = (await loadBundle()) as unknown as (new (opts: object) => typeof client) & {
      VERSION: string
    }
    version = WebTorrent.VERSION
    client = new WebTorrent({
      dht: false,
      lsd: false,
      tracker: { rtcConfig: { iceServers: [], bindAddress: '127.0.0.1' } },
    })
    await Promise.all([a, b, c, d, e, f, g].map((t) => t.listening()))
  })

  afterAll(async () => {
    client?.destroy()
    await Promise.all([a, b, c, d, e, f, g].map((t) => t.close()))
  })

  it('is the version this wrapper was checked against', () => {
    expect(version).toBe('3.0.21')
  })

  it('moves a running torrent from one tracker to another, and sees a tracker die', async () => {
    const torrent = client.add(HASH, { announce: [`${a.url}/`] })
    await until(() => a.events().includes('started'), "A's started announce")
    expect(canChangeTrackers(torrent)).toBe(true)
    expect(currentTrackers(torrent)).toEqual([a.url])
    expect(downTrackers(torrent)).toEqual([])

    const announced = once(torrent as unknown as NodeJS.EventEmitter, 'trackerAnnounce')
    expect(replaceTrackers(torrent, [`${b.url}/`])).toBe(true)
    await until(() => a.events().includes('stopped'), "A's stopped announce")
    await until(() => b.events().includes('started'), "B's started announce")
    // The new client's answers reach the torrent: its events are wired as the old one's were.
    await announced
    expect(currentTrackers(torrent)).toEqual([b.url])
    expect(torrent.destroyed).toBe(false)

    await b.close()
    await until(() => downTrackers(torrent).length > 0, 'B to be seen down')
    expect(downTrackers(torrent)).toEqual([b.url])
  })

  it('leaves no tracker behind that reconnects on its own after a re-home', async () => {
    // bittorrent-tracker waits 10 s plus a random part before reconnecting: no random part.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0)
    try {
      const torrent = client.add(HASH.replace('0', 'f'), { announce: [`${c.url}/`] })
      await until(() => c.events().includes('started'), "C's started announce")
      c.drop()
      await until(() => downTrackers(torrent).length > 0, 'C to be seen down')
      // Re-homed while C's tracker waits to reconnect, as rehome.ts does for a tracker down.
      expect(replaceTrackers(torrent, [`${d.url}/`])).toBe(true)
      await until(() => d.events().includes('started'), "D's started announce")
      const before = c.connections
      // Past the reconnect: without disarmReconnects the old tracker would connect to C
      // again here and announce for a client nobody listens to.
      await new Promise((r) => setTimeout(r, 11_000))
      expect(c.connections).toBe(before)
      expect(currentTrackers(torrent)).toEqual([d.url])
    } finally {
      random.mockRestore()
    }
  }, 30_000)

  it('leaves a tracker that stays alone: no stopped, no second started, the same socket', async () => {
    // What a referral does (rehome.ts): a torrent on E learns its owners are E and F, later F
    // alone. E's tracker must carry on as it was: an answer to an offer it has out is then
    // still read (a new tracker would not know the offer, and the peer that answered it
    // would wait on a connection nobody makes).
    const torrent = client.add(HASH.replace('0', 'e'), { announce: [`${e.url}/`] })
    await until(() => e.events().includes('started'), "E's started announce")
    const connections = e.connections
    expect(replaceTrackers(torrent, [`${e.url}/`, `${f.url}/`])).toBe(true)
    await until(() => f.events().includes('started'), "F's started announce")
    expect(currentTrackers(torrent)).toEqual([e.url, f.url])
    expect(e.events()).toEqual(['started'])
    expect(e.connections).toBe(connections)

    expect(replaceTrackers(torrent, [`${f.url}/`])).toBe(true)
    await until(() => e.events().includes('stopped'), "E's stopped announce")
    expect(currentTrackers(torrent)).toEqual([f.url])
    expect(f.events().filter((x) => x === 'started')).toHaveLength(1)
    expect(f.events()).not.toContain('stopped')
    expect(torrent.destroyed).toBe(false)
  })

  it('makes a tracker that is down afresh when asked for the same trackers (reconnect)', async () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(0)
    try {
      const started = () => f.events().filter((x) => x === 'started').length
      const before = started()
      const torrent = client.add(HASH.replace('0', 'd'), { announce: [`${f.url}/`] })
      await until(() => started() > before, "F's started announce")
      const connections = f.connections
      f.drop()
      await until(() => downTrackers(torrent).length > 0, 'F to be seen down')
      expect(replaceTrackers(torrent, [`${f.url}/`])).toBe(true)
      await until(() => f.connections > connections, 'a new socket to F')
      expect(downTrackers(torrent)).toEqual([])
      expect(currentTrackers(torrent)).toEqual([f.url])
    } finally {
      random.mockRestore()
    }
  })

  it('announces again at once when asked (announceNow), no event', async () => {
    const torrent = client.add(HASH.replace('1', 'a'), { announce: [`${g.url}/`] })
    await until(() => g.events().includes('started'), "G's started announce")
    const before = g.announces.length
    expect(announceNow(torrent)).toBe(true)
    await until(() => g.announces.length > before, 'a second announce to G')
    expect(g.events().slice(before)).toEqual([undefined])
  })

  it('changes nothing on a torrent whose discovery has not started', () => {
    const fake = { destroyed: false } as unknown as Torrent
    expect(announceNow(fake)).toBe(false)
    expect(canChangeTrackers(fake)).toBe(false)
    expect(currentTrackers(fake)).toBeNull()
    expect(downTrackers(fake)).toEqual([])
    expect(replaceTrackers(fake, ['ws://x/'])).toBe(false)
  })
})
