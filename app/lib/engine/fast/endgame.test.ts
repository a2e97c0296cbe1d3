// The endgame on the very WebTorrent bundle the app ships (in Node): a real torrent, its real
// pieces and Torrent#_request, and stand-in wires that record what they are asked for and
// answer when told. The stall it replays is bench/swarm's: every block the torrent lacks is
// out on one busy wire while another peer, with every piece, sits idle.

import { afterEach, describe, expect, it } from 'vitest'
import type WebTorrent from 'webtorrent/dist/webtorrent.min.js'
import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'
import { loadBundle } from '../test-bundle.ts'
import { ENDGAME_MAX_REQUESTS, endgameStep } from './endgame.ts'
import { internals, type TorrentInternals, type WireInternals } from '../internals.ts'

const PIECE = 64 * 1024
const BLOCK = 16 * 1024
const DATA = new Uint8Array(3 * PIECE + 5000).map((_, i) => (i * 31 + (i >> 9)) % 251)
const PIECES = Math.ceil(DATA.length / PIECE)

const quiet = { tracker: false, dht: false, lsd: false, webSeeds: false, utp: false } as never
const clients: WebTorrent[] = []
const torrents: TorrentInternals[] = []

afterEach(async () => {
  // The stand-in wires are not WebTorrent's to tear down.
  for (const t of torrents.splice(0)) t.wires.length = 0
  await Promise.all(clients.splice(0).map((c) => new Promise((r) => c.destroy(r))))
})

type Answer = (err: Error | null, chunk?: Uint8Array) => void
interface Asked {
  piece: number
  offset: number
  length: number
  callback: Answer
}

/** A peer with every piece, as Torrent#_request and the endgame see one. */
function standInWire(name: string) {
  const requests: Asked[] = []
  const wire = {
    name,
    type: 'webrtc',
    destroyed: false,
    peerChoking: false,
    amInterested: true,
    downloaded: 0,
    requests,
    peerPieces: { get: (i: number) => i >= 0 && i < PIECES },
    peerExtendedHandshake: {},
    downloadSpeed: () => 4 * 1024 * 1024,
    have() {},
    uninterested() {},
    interested() {},
    request(piece: number, offset: number, length: number, callback: Answer) {
      requests.push({ piece, offset, length, callback })
    },
    /** Answers every request out, in order (or `err`), as bittorrent-protocol would. */
    answerAll(err: Error | null = null) {
      for (const r of requests.splice(0)) {
        const start = r.piece * PIECE + r.offset
        r.callback(err, err ? undefined : DATA.slice(start, start + r.length))
      }
    },
  }
  return wire
}
type StandIn = ReturnType<typeof standInWire>

/** A leecher of DATA that knows the torrent (ready) and has no real peers. */
async function readyLeecher() {
  const WebTorrent = await loadBundle()
  const seederClient = new WebTorrent(quiet)
  const leecherClient = new WebTorrent(quiet)
  clients.push(seederClient, leecherClient)
  const file = Object.assign(DATA.slice(), { name: 'endgame.bin' })
  const seeded = await new Promise<Torrent>((resolve) =>
    seederClient.seed(file as never, { announce: [], pieceLength: PIECE }, resolve),
  )
  const torrent = leecherClient.add(seeded.torrentFile as never, { announce: [] })
  await new Promise((r) => (torrent.ready ? r(null) : once(torrent, 'ready', () => r(null))))
  const t = internals(torrent)
  torrents.push(t)
  // The request loop is WebTorrent's own business; here only what the endgame asks for.
  t._update = () => {}
  return { torrent, t }
}

const wiresOf = (t: TorrentInternals) => t.wires as unknown as StandIn[]
const addWire = (t: TorrentInternals, w: StandIn) => wiresOf(t).push(w)
const asWire = (w: StandIn) => w as unknown as WireInternals

/** Asks `wire` for every block of every piece, through WebTorrent's own _request. */
function reserveAll(t: TorrentInternals, wire: StandIn) {
  for (let i = 0; i < PIECES; i++) while (t._request(asWire(wire), i, false));
}

const blocksOf = (w: StandIn) =>
  w.requests.map((r) => `${r.piece}@${r.offset}`).sort((a, b) => a.localeCompare(b))

const allBlocks = () => {
  const out: string[] = []
  for (let at = 0; at < DATA.length; at += BLOCK) {
    out.push(`${Math.floor(at / PIECE)}@${at % PIECE}`)
  }
  return out.sort((a, b) => a.localeCompare(b))
}

const once = (torrent: Torrent, event: string, listener: () => void) =>
  (torrent as unknown as { once(e: string, l: () => void): void }).once(event, listener)

const doneOf = (torrent: Torrent) =>
  new Promise<void>((r) => (torrent.done ? r() : once(torrent, 'done', r)))

describe('endgame', () => {
  it('asks an idle peer for the blocks out on a busy one, and the torrent completes from it', async () => {
    const { torrent, t } = await readyLeecher()
    const busy = standInWire('busy')
    addWire(t, busy)
    reserveAll(t, busy)
    expect(blocksOf(busy)).toEqual(allBlocks())
    // Stock WebTorrent leaves it there: nothing is left to reserve for another wire.
    const idle = standInWire('idle')
    addWire(t, idle)
    expect(t._request(asWire(idle), 0, false)).toBe(false)

    expect(endgameStep(t)).toBe(allBlocks().length)
    expect(blocksOf(idle)).toEqual(allBlocks())
    // Asked once: the next round adds nothing.
    expect(endgameStep(t)).toBe(0)

    const done = doneOf(torrent)
    idle.answerAll()
    await done
    expect(new Uint8Array(await torrent.files[0]!.arrayBuffer())).toEqual(DATA)
    // The busy peer's answers, arriving late, change nothing.
    busy.answerAll()
    expect(torrent.done).toBe(true)
    expect(new Uint8Array(await torrent.files[0]!.arrayBuffer())).toEqual(DATA)
  })

  it('does nothing while some block was asked of nobody', async () => {
    const { t } = await readyLeecher()
    const busy = standInWire('busy')
    addWire(t, busy)
    for (let i = 0; i < PIECES - 1; i++) while (t._request(asWire(busy), i, false));
    addWire(t, standInWire('idle'))
    expect(endgameStep(t)).toBe(0)
  })

  it('asks no block of more than two peers, and keeps each within its request cap', async () => {
    const { t } = await readyLeecher()
    const busy = standInWire('busy')
    addWire(t, busy)
    reserveAll(t, busy)
    const others = [standInWire('a'), standInWire('b'), standInWire('c')]
    for (const w of others) addWire(t, w)
    endgameStep(t)
    const asked = new Map<string, number>()
    for (const w of wiresOf(t)) {
      expect(w.requests.length).toBeLessThanOrEqual(ENDGAME_MAX_REQUESTS)
      for (const b of blocksOf(w)) asked.set(b, (asked.get(b) ?? 0) + 1)
    }
    expect([...asked.values()].every((n) => n === 2)).toBe(true)
    expect(others[0]!.requests.length).toBe(allBlocks().length)
    expect(others[1]!.requests.length + others[2]!.requests.length).toBe(0)
  })

  it('leaves choked peers alone, and a block a duplicate failed to get can be asked again', async () => {
    const { torrent, t } = await readyLeecher()
    const busy = standInWire('busy')
    addWire(t, busy)
    reserveAll(t, busy)
    const choked = standInWire('choked')
    choked.peerChoking = true
    const idle = standInWire('idle')
    addWire(t, choked)
    addWire(t, idle)
    endgameStep(t)
    expect(choked.requests.length).toBe(0)
    // The duplicates are refused (a reject, a choke): WebTorrent hands those blocks back out.
    idle.answerAll(new Error('request was rejected'))
    expect(t._request(asWire(idle), 0, false)).toBe(true)
    idle.requests.splice(0).forEach((r) => r.callback(new Error('again')))
    // The busy peer still answers everything.
    const done = doneOf(torrent)
    busy.answerAll()
    await done
    expect(new Uint8Array(await torrent.files[0]!.arrayBuffer())).toEqual(DATA)
  })
})
