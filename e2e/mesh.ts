// Browser steps of the browser mesh's end-to-end tests (e2e/mesh.spec.ts), through the page's
// console hooks (`globalThis.monsoon`, app/lib/torrents.svelte.ts): the torrents and wires of
// a page, its mesh figures, and raw mesh messages sent on a wire as a hostile page would.
// Messages are encoded in Node (shared/mesh/messages.ts) and passed in as byte arrays.

import type { Page } from '@playwright/test'
import { encodeMeshMessage, type MeshMessage } from '../shared/mesh/messages.ts'
import type { FoundVia, MeshStats } from '../app/lib/mesh/types.ts'
import { percentEncode, scrapeFiles } from '../relay/test/tracker-wire.ts'

/** What the page's hooks give, as seen from a page.evaluate (the page's own objects). */
export interface PageWire {
  peerId?: string
  destroyed?: boolean
  extended(ext: string, bytes: Uint8Array): void
  on(event: 'extended', listener: (ext: string | number, bytes: unknown) => void): void
}
export interface PageTorrent {
  infoHash: string
  done: boolean
  wires: PageWire[]
  on(event: 'wire', listener: (wire: PageWire) => void): void
}
export interface PageHooks {
  torrents: {
    find(infoHash: string): { torrent: PageTorrent } | undefined
    open(ref: { infoHash: string; name?: string; trackers: string[] }): unknown
    foundVia(torrent: PageTorrent, wire: PageWire): FoundVia
    meshStats: MeshStats
  }
  webtorrent(): {
    peerId: string
    tracker: false | { getAnnounceOpts?: () => Record<string, unknown> }
    torrents: PageTorrent[]
  } | null
}

/** Waits for the app's hooks (set when its torrents module has loaded). */
export async function hooksReady(page: Page): Promise<void> {
  await page.waitForFunction(() => 'monsoon' in globalThis)
}

/**
 * Opens a torrent in the page and shows its view, as a share link would. With `numwant`, every
 * announce of the page's client asks the relay tracker for that many peers (BEP 3 `numwant`;
 * a WebTorrent client makes one WebRTC offer per peer wanted, at most 5): set before the
 * torrent's first announce, so a test can have the relay introduce each newcomer to only one
 * browser and leave the rest of the swarm to the mesh.
 */
export async function openTorrent(
  page: Page,
  ref: { infoHash: string; name: string; trackers: string[] },
  numwant?: number,
): Promise<void> {
  await hooksReady(page)
  await page.evaluate(
    ({ ref, numwant }) => {
      const monsoon = (globalThis as unknown as { monsoon: PageHooks }).monsoon
      monsoon.torrents.open(ref)
      // Same task as the add: WebTorrent announces only after parsing the link, later.
      const tracker = monsoon.webtorrent()?.tracker
      if (numwant !== undefined && tracker) tracker.getAnnounceOpts = () => ({ numwant })
      location.hash = `#/t/${ref.infoHash}?dn=${encodeURIComponent(ref.name)}`
    },
    { ref, numwant },
  )
}

/** Every later announce of the page's client asks for `numwant` peers (see openTorrent). */
export async function limitTrackerPeers(page: Page, numwant: number): Promise<void> {
  await page.evaluate((numwant) => {
    const tracker = (globalThis as unknown as { monsoon: PageHooks }).monsoon.webtorrent()?.tracker
    if (tracker) tracker.getAnnounceOpts = () => ({ numwant })
  }, numwant)
}

/** The page's peer id (40 hex), once its client is made. */
export function peerIdOf(page: Page): Promise<string> {
  return page.evaluate(() => {
    const client = (globalThis as unknown as { monsoon: PageHooks }).monsoon.webtorrent()
    if (!client) throw new Error('the page has no client yet')
    return client.peerId
  })
}

/** Peer ids of the torrent's open wires in the page (none while the torrent is not there). */
export function connectedPeers(page: Page, infoHash: string): Promise<string[]> {
  return page.evaluate((infoHash) => {
    const monsoon = (globalThis as unknown as { monsoon?: PageHooks }).monsoon
    const torrent = monsoon?.torrents.find(infoHash)?.torrent
    return (torrent?.wires ?? []).flatMap((w) => (w.destroyed || !w.peerId ? [] : [w.peerId]))
  }, infoHash)
}

/** Peer ids of the open wires of each of the page's torrents, by info hash (a peer connected
 * twice in a swarm appears twice). */
export function peerIdsByTorrent(page: Page): Promise<Record<string, string[]>> {
  return page.evaluate(() => {
    const client = (globalThis as unknown as { monsoon: PageHooks }).monsoon.webtorrent()
    const out: Record<string, string[]> = {}
    for (const torrent of client?.torrents ?? []) {
      out[torrent.infoHash] = torrent.wires.flatMap((w) =>
        w.destroyed || !w.peerId ? [] : [w.peerId],
      )
    }
    return out
  })
}

/** Peers (seeders and leechers) a relay's tracker holds in a swarm now: its HTTP scrape (BEP
 * 48), which counts the WebSocket tracker's browsers too. */
export async function swarmSizeAt(relay: { url: string }, infoHash: string): Promise<number> {
  const bytes = Uint8Array.from(Buffer.from(infoHash, 'hex'))
  const res = await fetch(`${relay.url}/scrape?info_hash=${percentEncode(bytes)}`)
  const counts = scrapeFiles(new Uint8Array(await res.arrayBuffer())).get(infoHash)
  return (counts?.complete ?? 0) + (counts?.incomplete ?? 0)
}

/** True once the page holds every piece of the torrent. */
export function completed(page: Page, infoHash: string): Promise<boolean> {
  return page.evaluate(
    (infoHash) =>
      (globalThis as unknown as { monsoon: PageHooks }).monsoon.torrents.find(infoHash)?.torrent
        .done === true,
    infoHash,
  )
}

/** How the page found each connected peer of the torrent, counted by FoundVia. */
export function foundCounts(page: Page, infoHash: string): Promise<Record<string, number>> {
  return page.evaluate((infoHash) => {
    const { torrents } = (globalThis as unknown as { monsoon: PageHooks }).monsoon
    const torrent = torrents.find(infoHash)?.torrent
    const counts: Record<string, number> = {}
    for (const wire of torrent?.wires ?? []) {
      if (wire.destroyed) continue
      const via = torrents.foundVia(torrent!, wire)
      counts[via] = (counts[via] ?? 0) + 1
    }
    return counts
  }, infoHash)
}

/** The page's mesh figures as of its last refresh (every half second). */
export function meshStatsOf(page: Page): Promise<MeshStats> {
  return page.evaluate(
    () => (globalThis as unknown as { monsoon: PageHooks }).monsoon.torrents.meshStats,
  )
}

/** Sends raw bytes as mesh messages on the page's wire to `peerId` in `infoHash`'s swarm, as
 * given, one after the other; false when there is no such wire. */
export function sendRaw(
  page: Page,
  infoHash: string,
  peerId: string,
  messages: Uint8Array[],
): Promise<boolean> {
  return page.evaluate(
    ({ infoHash, peerId, messages }) => {
      const monsoon = (globalThis as unknown as { monsoon: PageHooks }).monsoon
      const wire = monsoon.torrents
        .find(infoHash)
        ?.torrent.wires.find((w) => w.peerId === peerId && !w.destroyed)
      if (!wire) return false
      for (const bytes of messages) wire.extended('monsoon_mesh', new Uint8Array(bytes))
      return true
    },
    { infoHash, peerId, messages: messages.map((m) => [...m]) },
  )
}

/** A message's bytes as the codec writes them. */
export const meshBytes = (message: MeshMessage): Uint8Array => encodeMeshMessage(message)

/**
 * Makes the page a hostile catalog source: on each of its wires (now and later) of the torrent,
 * its own mesh's catalog pages are held back, and each `pull` of listings a neighbour sends is
 * answered with `forged(query)` (bytes made in Node: exposed to the page as a function).
 * Pages and pulls are told apart by their last key (bencode sorts keys: `t` comes last).
 */
export async function answerPullsWith(
  page: Page,
  infoHash: string,
  forged: (query: number) => Uint8Array,
): Promise<void> {
  await page.exposeFunction('meshForgedPage', (query: number) => [...forged(query)])
  await page.evaluate((infoHash) => {
    const monsoon = (globalThis as unknown as { monsoon: PageHooks }).monsoon
    const forge = (globalThis as unknown as { meshForgedPage(q: number): Promise<number[]> })
      .meshForgedPage
    const tail = (bytes: Uint8Array) => String.fromCharCode(...bytes.subarray(-48))
    const hostile = (wire: PageWire) => {
      const send = wire.extended.bind(wire)
      wire.extended = (ext, bytes) => {
        if (ext === 'monsoon_mesh' && tail(bytes).endsWith('1:t4:pagee')) return
        send(ext, bytes)
      }
      wire.on('extended', (ext, bytes) => {
        // 'handshake' comes here too, with the decoded dictionary.
        if (ext !== 'monsoon_mesh' || !(bytes instanceof Uint8Array)) return
        const pull = /1:k8:listings1:qi(\d+)e1:t4:pulle$/.exec(tail(bytes))
        if (!pull) return
        void forge(Number(pull[1])).then((page) => send('monsoon_mesh', new Uint8Array(page)))
      })
    }
    const torrent = monsoon.torrents.find(infoHash)?.torrent
    if (!torrent) throw new Error(`no torrent ${infoHash} in the page`)
    torrent.wires.forEach(hostile)
    torrent.on('wire', hostile)
  }, infoHash)
}
