// TorrentEntry against a stand-in shaped like WebTorrent's public Torrent (figures, files,
// events), and, for changing trackers, against the bundle the app ships on a loopback
// WebSocket tracker: that part reaches into WebTorrent's internals (engine/).

import { EventEmitter } from 'node:events'
import { afterAll, describe, expect, it, vi } from 'vitest'
import type { Torrent, WebTorrent } from './engine/index.ts'
import { loadBundle } from './engine/test-bundle.ts'
import { loopbackTracker } from './loopback-tracker.ts'
import type { TorrentHome } from './rehome.ts'
import { TorrentEntry } from './torrent-entry.svelte.ts'

const HASH = 'c0ffee0123456789abcdef0123456789abcdef01'
const A = 'wss://a.example/'
const B = 'wss://b.example/'
/** Real sockets and WebRTC offers: seconds, on a loaded machine more. */
const SLOW = { timeout: 20_000, interval: 25 }

interface StandInFile {
  name: string
  path: string
  length: number
  progress: number
  done: boolean
  type: string
  streamURL?: string
  blob(): Promise<Blob>
  arrayBuffer(range?: { start: number; end: number }): Promise<ArrayBuffer>
}

/** The public figures and events of a WebTorrent Torrent, set by hand. No `discovery`: its
 * trackers cannot be changed, as before a real torrent's discovery starts. */
class StandInTorrent extends EventEmitter {
  infoHash = ''
  name = ''
  ready = false
  done = false
  destroyed = false
  length = 0
  downloaded = 0
  uploaded = 0
  received = 0
  progress = 0
  downloadSpeed = 0
  uploadSpeed = 0
  numPeers = 0
  timeRemaining = Infinity
  files: StandInFile[] = []
  blobs = 0
}

function standInFile(
  name: string,
  bytes: Uint8Array<ArrayBuffer>,
  torrent: StandInTorrent,
): StandInFile {
  return {
    name,
    path: `dir/${name}`,
    length: bytes.length,
    progress: 0,
    done: false,
    type: 'application/octet-stream',
    blob: async () => {
      torrent.blobs++
      return new Blob([bytes])
    },
    // WebTorrent's range is inclusive of `end`.
    arrayBuffer: async (range) =>
      bytes.slice(range?.start ?? 0, range ? range.end + 1 : bytes.length).buffer,
  }
}

/** A download entry on a stand-in torrent. */
function download(name?: string) {
  const torrent = new StandInTorrent()
  const ref = { infoHash: HASH, trackers: [A], ...(name && { name }) }
  const entry = new TorrentEntry(torrent as unknown as Torrent, {
    ref,
    trackers: [A, B],
    local: false,
  })
  return { torrent, entry }
}

/** Records what a TorrentEntry tells its re-homing. */
function recordingHome(referrals: (message: string) => boolean = () => false) {
  const told = { answered: 0, down: [] as string[][], warnings: [] as string[], disposed: false }
  const home = {
    onAnswered: () => told.answered++,
    onDown: (down: string[]) => told.down.push(down),
    onWarning: (message: string) => {
      told.warnings.push(message)
      return referrals(message)
    },
    dispose: () => (told.disposed = true),
  }
  return { home: home as unknown as TorrentHome, told }
}

describe('TorrentEntry phases and figures', () => {
  it('waits for metadata with what the link said, then copies the figures once ready', () => {
    const { torrent, entry } = download('from the link')
    expect(entry.phase).toBe('metadata')
    expect(entry.infoHash).toBe(HASH)
    expect(entry.name).toBe('from the link')
    expect(entry.fromLink).toEqual([A])
    expect(entry.trackers).toEqual([A, B])

    Object.assign(torrent, { name: 'real name', ready: true, length: 100, downloaded: 40 })
    Object.assign(torrent, { progress: 0.4, uploaded: 7, received: 30, numPeers: 2 })
    Object.assign(torrent, { downloadSpeed: 1000, uploadSpeed: 10, timeRemaining: 60_000 })
    torrent.files = [standInFile('a.bin', new Uint8Array(100), torrent)]
    torrent.files[0]!.progress = 0.4
    torrent.emit('ready')

    expect(entry.phase).toBe('downloading')
    expect(entry.name).toBe('real name')
    expect(entry.resumedFrom).toBe(40)
    expect({ ...entry, files: undefined }).toMatchObject({
      length: 100,
      downloaded: 40,
      progress: 0.4,
      uploaded: 7,
      received: 30,
      numPeers: 2,
      downloadSpeed: 1000,
      uploadSpeed: 10,
      timeRemaining: 60_000,
    })
    expect(entry.files).toEqual([
      { index: 0, name: 'a.bin', path: 'dir/a.bin', length: 100, progress: 0.4 },
    ])

    Object.assign(torrent, { done: true, progress: 1, downloaded: 100 })
    torrent.emit('done')
    expect(entry.phase).toBe('seeding')
    expect(entry.downloaded).toBe(100)
    // Kept from the visit before: only what was stored when it became ready.
    expect(entry.resumedFrom).toBe(40)
  })

  it('shows a finished file as complete even where WebTorrent undercounts it', () => {
    const { torrent, entry } = download()
    torrent.ready = true
    torrent.files = [0, 1, 2].map((i) => standInFile(`${i}`, new Uint8Array(4), torrent))
    torrent.files[0]!.progress = 0.75 // a file ending on a piece boundary, done
    torrent.files[0]!.done = true
    torrent.files[1]!.progress = 1.5 // rounding past the end
    torrent.files[2]!.progress = 0.5
    entry.refresh()
    expect(entry.files.map((f) => f.progress)).toEqual([1, 1, 0.5])
  })

  it('hashes a local share until it is seeded, keeping the name it was given', () => {
    const torrent = new StandInTorrent()
    const entry = new TorrentEntry(torrent as unknown as Torrent, { trackers: [A], local: true })
    expect(entry.phase).toBe('hashing')
    expect(entry.ref).toEqual({ infoHash: '', trackers: [A] })
    entry.onHashProgress(5, 10)
    expect([entry.hashed, entry.hashTotal]).toEqual([5, 10])

    Object.assign(torrent, { infoHash: HASH, name: 'share', ready: true, done: true })
    torrent.emit('infoHash')
    expect(entry.phase).toBe('hashing')
    expect(entry.infoHash).toBe(HASH)

    torrent.emit('ready')
    // A share's stored bytes are not "resumed".
    expect(entry.resumedFrom).toBe(0)
    entry.onSeeded()
    expect(entry.phase).toBe('seeding')
    expect(entry.ref).toEqual({ infoHash: HASH, trackers: [A], name: 'share' })
  })
})

describe('TorrentEntry errors', () => {
  it('fails on a torrent error and stops copying figures', () => {
    const { torrent, entry } = download()
    torrent.emit('error', new Error('Malformed torrent data'))
    expect(entry.phase).toBe('failed')
    expect(entry.error).toBe('Malformed torrent data')
    expect(entry.storageFull).toBe(false)
    Object.assign(torrent, { ready: true, numPeers: 3 })
    torrent.emit('ready')
    expect(entry.phase).toBe('failed')
    expect(entry.numPeers).toBe(0)
  })

  it('says storage is full, naming the torrent, on a quota error', () => {
    const { entry } = download('big.iso')
    entry.fail(Object.assign(new Error('quota'), { name: 'QuotaExceededError' }))
    expect(entry.storageFull).toBe(true)
    expect(entry.error).toContain('Storage is full')
    expect(entry.error).toContain('“big.iso”')
    entry.fail('The torrent does not list the files in the order they were given.')
    expect(entry.storageFull).toBe(false)
    expect(entry.error).toBe('The torrent does not list the files in the order they were given.')
  })

  it('keeps a hostile name as text in the error', () => {
    const { entry } = download('<img src=x onerror=alert(1)>')
    entry.fail(Object.assign(new Error('quota'), { name: 'QuotaExceededError' }))
    expect(entry.error).toContain('“<img src=x onerror=alert(1)>”')
  })
})

describe('TorrentEntry tracker status', () => {
  it('is unreachable only once every tracker failed, and connected on an answer', () => {
    const { torrent, entry } = download()
    torrent.emit('warning', new Error('Connection error: ICE failed'))
    torrent.emit('warning', new Error('Error connecting to wss://a.example'))
    expect(entry.tracker).toEqual({ state: 'connecting' })
    torrent.emit('warning', 'Error connecting to wss://b.example')
    expect(entry.tracker).toEqual({
      state: 'unreachable',
      message: 'Error connecting to wss://b.example',
    })

    torrent.emit('trackerAnnounce')
    expect(entry.tracker).toEqual({ state: 'connected' })
    // Once one answered, a later failure of any is no news.
    torrent.emit('warning', 'websocket error')
    expect(entry.tracker).toEqual({ state: 'connected' })
  })

  it('counts a tracker failure that names no tracker against all of them', () => {
    const { torrent, entry } = download()
    torrent.emit('warning', 'tracker request timed out')
    expect(entry.tracker.state).toBe('unreachable')
  })

  it('ignores warnings that are not about trackers', () => {
    const { torrent, entry } = download()
    torrent.emit('warning', new Error('Invalid piece hash'))
    expect(entry.tracker).toEqual({ state: 'connecting' })
  })

  it('passes referrals and answers to its re-homing, quietly', () => {
    const { torrent, entry } = download()
    const { home, told } = recordingHome((m) => m.includes('not tracked here'))
    entry.home = home
    expect(entry.home).toBe(home)
    torrent.emit('warning', 'wss://a.example: not tracked here')
    torrent.emit('warning', 'wss://b.example: not tracked here')
    expect(told.warnings).toHaveLength(2)
    expect(entry.tracker).toEqual({ state: 'connecting' })
    torrent.emit('trackerAnnounce')
    expect(told.answered).toBe(1)
  })

  it('cannot change trackers before the torrent announces', () => {
    const { entry } = download()
    const { home, told } = recordingHome()
    entry.home = home
    expect(entry.retarget([B], { kind: 'news' })).toBe(false)
    expect(entry.trackers).toEqual([A, B])
    expect(entry.moves).toBe(0)
    expect(entry.reconnect()).toBe(false)
    entry.checkTrackers()
    expect(told.down).toEqual([])
  })
})

describe('TorrentEntry files', () => {
  function withFiles() {
    const { torrent, entry } = download()
    const head = new Uint8Array([1, 2, 3, 4, 5, 6])
    torrent.files = [
      standInFile('a', head, torrent),
      standInFile('empty', new Uint8Array(), torrent),
    ]
    return { torrent, entry }
  }

  it('makes one Blob URL per file and revokes them when disposed', async () => {
    const { torrent, entry } = withFiles()
    const { home, told } = recordingHome()
    entry.home = home
    const url = await entry.fileUrl(0)
    expect(url).toMatch(/^blob:/)
    expect(await entry.fileUrl(0)).toBe(url)
    expect(torrent.blobs).toBe(1)
    expect(await (await fetch(url)).arrayBuffer()).toEqual(
      new Uint8Array([1, 2, 3, 4, 5, 6]).buffer,
    )
    entry.dispose()
    expect(told.disposed).toBe(true)
    await expect(fetch(url)).rejects.toThrow()
  })

  it('reads the head of a file, clipped to its length', async () => {
    const { entry } = withFiles()
    expect(await entry.fileHead(0, 2)).toEqual(new Uint8Array([1, 2]))
    expect(await entry.fileHead(0, 1_000)).toEqual(new Uint8Array([1, 2, 3, 4, 5, 6]))
    expect(await entry.fileHead(1, 10)).toEqual(new Uint8Array(0))
  })

  it('refuses a file the torrent does not have', async () => {
    const { entry } = withFiles()
    await expect(entry.fileUrl(2)).rejects.toThrow(RangeError)
    await expect(entry.fileHead(-1, 10)).rejects.toThrow(RangeError)
  })

  it('has no stream URL without a streaming server', () => {
    const { torrent, entry } = withFiles()
    Object.defineProperty(torrent.files[0], 'streamURL', {
      get: () => {
        throw new Error('No server created')
      },
    })
    torrent.files[1]!.streamURL = 'http://localhost/stream/1'
    expect(entry.streamUrl(0)).toBeNull()
    expect(entry.streamUrl(1)).toBe('http://localhost/stream/1')
    expect(entry.streamUrl(5)).toBeNull()
  })
})

describe('TorrentEntry on the bundle the app ships', () => {
  const closers: (() => Promise<void> | void)[] = []
  afterAll(async () => {
    for (const close of closers.reverse()) await close()
  })

  it('announces again within seconds while a download has no peer, not at the interval', async () => {
    const Bundle = await loadBundle()
    const client: WebTorrent = new Bundle({ dht: false, lsd: false, tracker: {} } as never)
    closers.push(() => new Promise((r) => client.destroy(() => r())))
    const tracker = await loopbackTracker()
    closers.push(tracker.close)
    const trackers = [tracker.tracker]
    const torrent = client.add(HASH, { announce: trackers })
    const entry = new TorrentEntry(torrent, {
      ref: { infoHash: HASH, trackers },
      trackers,
      local: false,
    })
    await vi.waitFor(() => expect(entry.tracker).toEqual({ state: 'connected' }), SLOW)
    const first = tracker.announces
    // Checked each second, as TorrentClient does; the clock is the test's.
    for (let now = 0; now < 1000; now += 1000) entry.checkTrackers(now)
    expect(tracker.announces).toBe(first)
    for (let now = 1000; now <= 3000; now += 1000) entry.checkTrackers(now)
    await vi.waitFor(() => expect(tracker.announces).toBe(first + 1), SLOW)
    entry.dispose()
  })

  it('is connected once its tracker answers, moves to new trackers, and reports one down', async () => {
    const Bundle = await loadBundle()
    const client: WebTorrent = new Bundle({ dht: false, lsd: false, tracker: {} } as never)
    closers.push(() => new Promise((r) => client.destroy(() => r())))
    const first = await loopbackTracker()
    const second = await loopbackTracker()
    closers.push(first.close, second.close)

    const trackers = [first.tracker]
    const torrent = client.add(HASH, { announce: trackers })
    const entry = new TorrentEntry(torrent, {
      ref: { infoHash: HASH, trackers },
      trackers,
      local: false,
    })
    const { home, told } = recordingHome()
    entry.home = home
    await vi.waitFor(() => expect(entry.tracker).toEqual({ state: 'connected' }), SLOW)
    expect(told.answered).toBeGreaterThan(0)
    expect(entry.reconnect()).toBe(false)

    expect(entry.retarget([second.tracker], { kind: 'down', trackers })).toBe(true)
    expect(entry.trackers).toEqual([second.tracker])
    expect(entry.moves).toBe(1)
    expect(entry.movedBecause).toBe('down')
    await vi.waitFor(() => expect(second.started).toBeGreaterThan(0), SLOW)

    entry.checkTrackers()
    expect(told.down.at(-1)).toEqual([])
    await second.close()
    // The stock client names a tracker without its trailing slash.
    await vi.waitFor(() => {
      entry.checkTrackers()
      expect(told.down.at(-1)).toEqual([second.tracker.replace(/\/$/, '')])
    }, SLOW)
    entry.dispose()
  })
})
