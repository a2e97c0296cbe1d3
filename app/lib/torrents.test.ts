// TorrentClient outside a page: the real WebTorrent bundle the app ships (engine/) on loopback
// WebSocket trackers, with the page's parts injected (its location, the supernodes' relays, the
// kept torrents, the ICE servers).

import { EventEmitter } from 'node:events'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { identityFromSecret } from '../../shared/identity.ts'
import { createSupernodeRecord, type SupernodeRecord } from '../../shared/supernode.ts'
import { canChangeTrackers, type WebTorrent } from './engine/index.ts'
import { monsoonClient } from './engine/monsoon-client.ts'
import { loadBundle } from './engine/test-bundle.ts'
import { loopbackTracker } from './loopback-tracker.ts'
import { TorrentLibrary } from './persist-library.ts'
import type { TorrentRecord } from './persist.ts'
import type { TorrentClient, TorrentClientDeps } from './torrents.svelte.ts'

const NOW_S = 1_800_000_000
const HASH = '0123456789abcdef0123456789abcdef01234567'
const OTHER = 'fedcba9876543210fedcba9876543210fedcba98'
/** Real sockets and timers: seconds, on a loaded machine more. */
const SLOW = { timeout: 20_000, interval: 25 }

/** Kept torrents in memory, recording what the client asks of them. */
class KeptInMemory extends TorrentLibrary {
  forgotten: string[] = []
  constructor(readonly stored: TorrentRecord[] = []) {
    super()
  }
  override load(): Promise<TorrentRecord[]> {
    return Promise.resolve(this.stored)
  }
  override forget(infoHash: string): Promise<void> {
    this.forgotten.push(infoHash)
    return Promise.resolve()
  }
}

function keptRecord(infoHash: string, source: TorrentRecord['source']): TorrentRecord {
  return {
    infoHash,
    name: `kept ${source}`,
    source,
    torrentFile: new Uint8Array(),
    files: [{ path: 'a.bin', length: 10 }],
    length: 10,
    pieceLength: 16_384,
    bitfield: new Uint8Array(1),
    trackers: ['ws://127.0.0.1:9/'],
    addedAt: 0,
  }
}

let Bundle: typeof WebTorrent
let Client: typeof TorrentClient
const origin = await loopbackTracker()
const owner = await loopbackTracker()
const made: WebTorrent[] = []
const open: TorrentClient[] = []

beforeAll(async () => {
  Bundle = await loadBundle()
  // After loadBundle: the module loads the bundle, which takes the globals it finds. Its
  // page-wide client finds no IndexedDB here, and says so.
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
  Client = (await import('./torrents.svelte.ts')).TorrentClient
  warn.mockRestore()
})

afterEach(async () => {
  for (const client of open.splice(0)) {
    for (const entry of client.entries) await client.remove(entry)
  }
  await Promise.all(made.splice(0).map((c) => new Promise((r) => c.destroy(() => r(null)))))
})

afterAll(async () => {
  await origin.close()
  await owner.close()
})

/** A TorrentClient served from `origin`, on the real bundle, recording what it tells the
 * page; its supernode reads fail unless `deps` says otherwise. */
function pageClient(deps: Partial<TorrentClientDeps> = {}) {
  const online = new EventEmitter()
  const told = { iceRelays: [] as string[][], reads: 0, watched: 0, iceStarts: 0 }
  const client = new Client({
    createClient: (peerConnections) => {
      const c = monsoonClient(Bundle, { dht: false, lsd: false } as never, { peerConnections })
      made.push(c)
      return c
    },
    library: new KeptInMemory(),
    fetchJson: () => {
      told.reads++
      return Promise.reject(new Error('origin down'))
    },
    now: () => NOW_S * 1000,
    page: {
      location: { origin: origin.relay, protocol: 'http:', host: origin.host },
      addEventListener: (type, listener) => online.on(type, listener),
    },
    ice: () => ({
      start: () => {
        told.iceStarts++
        return Promise.resolve()
      },
      setRelays: (trackerRelays) => told.iceRelays.push([...trackerRelays]),
    }),
    bridges: { watch: () => told.watched++ },
    ...deps,
  })
  open.push(client)
  return { client, told, online }
}

describe('TorrentClient', () => {
  it("announces a new torrent to the origin's tracker, then the catalog's relays", () => {
    const { client } = pageClient()
    expect(client.tracker).toBe(origin.tracker)
    expect(client.trackers).toEqual([origin.tracker])
    client.relays = [owner.relay]
    expect(client.trackers).toEqual([origin.tracker, owner.tracker])
  })

  it('opens a download once, finds it, and removes it with its kept record', async () => {
    const { client, told } = pageClient()
    const fromLink = 'ws://127.0.0.1:9/'
    const entry = client.open({ infoHash: HASH, trackers: [fromLink], name: 'x' })
    expect(entry.trackers).toEqual([origin.tracker, fromLink])
    expect(client.find(HASH)).toBe(entry)
    expect(client.find(OTHER)).toBeUndefined()
    expect(client.open({ infoHash: HASH, trackers: [] })).toBe(entry)
    expect(client.entries).toEqual([entry])
    expect(told.reads).toBe(1)

    // The page's timer copies figures and shows each download to the bridge watch.
    await vi.waitFor(() => {
      expect(told.watched).toBeGreaterThan(0)
      // The relays behind the torrents' trackers, whose TURN servers the page may use.
      expect(told.iceRelays.at(-1)).toEqual([origin.relay, 'http://127.0.0.1:9'])
    }, SLOW)

    const library = client.library as KeptInMemory
    await client.remove(entry)
    expect(client.entries).toEqual([])
    expect(client.find(HASH)).toBeUndefined()
    expect(entry.torrent.destroyed).toBe(true)
    expect(library.forgotten).toEqual([HASH])
  })

  it('opens a failed torrent afresh', () => {
    const { client } = pageClient()
    const failed = client.open({ infoHash: HASH, trackers: [] })
    failed.fail('broken')
    const again = client.open({ infoHash: HASH, trackers: [] })
    expect(again).not.toBe(failed)
    expect(client.entries).toEqual([again])
  })

  it('shows a hash WebTorrent refuses as the torrent failing, the client still up', async () => {
    const { client } = pageClient()
    const entry = client.open({ infoHash: 'not-a-hash', trackers: [] })
    await vi.waitFor(() => expect(entry.phase).toBe('failed'), SLOW)
    expect(entry.error).toMatch(/invalid torrent identifier/i)
    expect(client.error).toBeNull()
    expect(client.open({ infoHash: HASH, trackers: [] }).phase).toBe('metadata')
  })

  it("applies the user's limits to the client, before and after it starts", () => {
    const throttles: number[] = []
    let webtorrent: WebTorrent | null = null
    const { client } = pageClient({
      createClient: (peerConnections) => {
        const c = monsoonClient(Bundle, { dht: false, lsd: false } as never, { peerConnections })
        made.push(c)
        webtorrent = c
        vi.spyOn(c, 'throttleDownload').mockImplementation((rate) => void throttles.push(rate))
        vi.spyOn(c, 'throttleUpload').mockImplementation((rate) => void throttles.push(rate))
        return c
      },
    })
    client.setLimits({ downloadLimit: 1000, uploadLimit: null, maxConns: 7 })
    client.open({ infoHash: HASH, trackers: [] })
    expect(throttles).toEqual([1000, -1])
    expect(webtorrent!.maxConns).toBe(7)
    client.setLimits({ downloadLimit: null, uploadLimit: 50, maxConns: 3 })
    expect(throttles).toEqual([1000, -1, -1, 50])
    expect(webtorrent!.maxConns).toBe(3)
  })

  it("shows the client's own error", () => {
    const { client } = pageClient()
    client.open({ infoHash: HASH, trackers: [] })
    ;(made[0] as unknown as EventEmitter).emit('error', 'WebRTC is not supported')
    expect(client.error).toBe('WebRTC is not supported')
  })

  it('resumes kept downloads and keeps kept shares waiting for their files', async () => {
    const download = keptRecord(HASH, 'download')
    const share = keptRecord(OTHER, 'share')
    const library = new KeptInMemory([download, share])
    const { client, told } = pageClient({ library })
    await client.restore()
    expect(told.iceStarts).toBe(1)
    expect(client.waiting).toEqual([share])
    expect(client.entries.map((e) => [e.infoHash, e.name, e.trackers])).toEqual([
      [HASH, 'kept download', [origin.tracker, ...download.trackers]],
    ])

    await client.forget(share)
    expect(client.waiting).toEqual([])
    expect(library.forgotten).toEqual([OTHER])
  })

  it('refuses to share again from files that are not the ones shared', () => {
    vi.stubGlobal('isSecureContext', true)
    vi.stubGlobal('location', { host: origin.host })
    try {
      const share = keptRecord(OTHER, 'share')
      const { client } = pageClient({ library: new KeptInMemory([share]) })
      client.waiting = [share]
      expect(() => client.reshare(share, [new File([new Uint8Array(9)], 'a.bin')])).toThrow(
        /Pick the same file that were shared \(a\.bin\)/,
      )
      expect(client.waiting).toEqual([share])
      expect(client.entries).toEqual([])
    } finally {
      vi.unstubAllGlobals()
    }
  })

  it('moves open torrents to their owners once the supernodes are known', async () => {
    const records = [origin, owner].map((relay, n) => supernode(n + 1, relay.relay))
    let answer: (body: unknown) => void = () => {}
    const { client, told } = pageClient({
      fetchJson: (url) => {
        told.reads++
        expect(url).toBe(`${origin.relay}/v1/supernodes`)
        return new Promise((resolve) => (answer = resolve))
      },
    })
    const entry = client.open({ infoHash: HASH, trackers: [] })
    expect(entry.trackers).toEqual([origin.tracker])
    // The move needs the torrent's discovery running (engine/discovery-trackers.ts).
    await vi.waitFor(() => expect(canChangeTrackers(entry.torrent)).toBe(true), SLOW)
    answer({ supernodes: records, roots: records.map((r) => r.id), maxPerPrefix: 8 })

    await vi.waitFor(() => expect(entry.moves).toBe(1), SLOW)
    expect(entry.movedBecause).toBe('news')
    expect([...entry.trackers].sort()).toEqual([origin.tracker, owner.tracker].sort())
    expect(client.ownersFrom).toEqual({ relay: origin.relay, supernodes: 2, at: NOW_S * 1000 })
    // One read for the page: a second torrent plans from the answer without asking again.
    const second = client.open({ infoHash: OTHER, trackers: [] })
    expect(told.reads).toBe(1)
    expect(second.trackers).toContain(owner.tracker)
  })

  it('reconnects a torrent whose relay answers again, without waiting for the tracker client', async () => {
    const gone = await loopbackTracker()
    let clock = NOW_S * 1000
    const probed: string[] = []
    const { client } = pageClient({
      now: () => clock,
      fetch: (url) => {
        probed.push(url)
        return Promise.resolve(new Response(JSON.stringify({ id: 'ab'.repeat(32) })))
      },
    })
    const entry = client.open({ infoHash: HASH, trackers: [gone.tracker] })
    await vi.waitFor(() => expect(gone.announces).toBeGreaterThan(0), SLOW)
    const reconnect = vi.spyOn(entry, 'reconnect')
    await gone.close()
    await vi.waitFor(() => {
      clock += 10_000
      expect(reconnect).toHaveBeenCalled()
    }, SLOW)
    expect(probed).toContain(`${gone.relay}/v1/hello`)
    expect(probed.every((url) => url === `${gone.relay}/v1/hello`)).toBe(true)
  })

  it('reconnects trackers when the browser is back online', () => {
    const { client, online } = pageClient()
    const entry = client.open({ infoHash: HASH, trackers: [] })
    const reconnect = vi.spyOn(entry, 'reconnect')
    online.emit('online')
    expect(reconnect).toHaveBeenCalledOnce()
  })
})

function supernode(n: number, url: string): SupernodeRecord {
  return createSupernodeRecord(
    {
      urls: [url],
      role: 'supernode',
      capacity: { maxHashes: 100, maxPeers: 1000, bandwidth: 10_000 },
      load: { hashes: 0, peers: 0, bandwidth: 0 },
    },
    identityFromSecret(new Uint8Array(32).fill(n)),
    { seq: NOW_S, ts: NOW_S },
  )
}
