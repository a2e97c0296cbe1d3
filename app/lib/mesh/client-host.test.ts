// The page's client as the mesh sees it, on the bundle the app ships: its torrents by hash,
// their WebRTC peers, whether it wants peers (relay trackers first), and connect()'s checks.

import type { AddressInfo } from 'node:net'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { WebSocketServer } from 'ws'
import type WebTorrent from 'webtorrent/dist/webtorrent.min.js'
import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'
import { monsoonClient } from '../engine/monsoon-client.ts'
import { PeerConnections } from '../engine/peer-connections.ts'
import { loadBundle } from '../engine/test-bundle.ts'
import { PageHostCache } from '../bootstrap/host-cache.ts'
import type { Referral } from '../referral.ts'
import { clientMeshHost, RELAY_FIRST_MS, type ClientHostDeps } from './client-host.ts'

let Bundle: typeof WebTorrent
beforeAll(async () => {
  Bundle = await loadBundle()
})

const clients: WebTorrent[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => new Promise((r) => c.destroy(() => r(null)))))
})

const quiet = { dht: false, lsd: false, webSeeds: false, utp: false } as never

/** A client seeding one small file announced to `announce`, and its mesh host. */
async function seeding(
  announce: string[],
  now: () => number,
  deps: Partial<Pick<ClientHostDeps, 'checkRelay' | 'rehome'>> = {},
) {
  const peerConnections = new PeerConnections()
  const client = monsoonClient(Bundle, quiet, { peerConnections })
  clients.push(client)
  const file = Object.assign(new Uint8Array(40_000).fill(7), { name: 'host.bin' })
  const torrent = await new Promise<Torrent>((resolve) =>
    client.seed(file as never, { announce }, resolve),
  )
  const host = clientMeshHost({
    client,
    peerConnections,
    now,
    catalog: null,
    referralRelay: () => null,
    checkRelay: (url) => url,
    rehome: () => true,
    ...deps,
  })
  return { client, torrent, host }
}

describe('the client as the mesh sees it', () => {
  it('finds torrents by hash and names its own peer id', async () => {
    const { client, torrent, host } = await seeding([], () => 0)
    expect(host.peerId).toBe((client as unknown as { peerId: string }).peerId)
    expect(host.torrent(torrent.infoHash)?.infoHash).toBe(torrent.infoHash)
    expect(host.torrent('00'.repeat(20))).toBeNull()
    expect(host.torrents().map((t) => t.infoHash)).toEqual([torrent.infoHash])
    const view = host.torrent(torrent.infoHash)!
    expect(view.webrtcPeers()).toEqual([])
    expect(view.has('0b'.repeat(20))).toBe(false)
  })

  it('wants peers at once with no relay tracker up, else after the relay had its chance', async () => {
    let now = 1_000
    const alone = await seeding([], () => now)
    expect(alone.host.torrent(alone.torrent.infoHash)!.wantsPeers()).toBe(true)

    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await new Promise((r) => server.once('listening', r))
    const { port } = server.address() as AddressInfo
    const tracked = await seeding([`ws://127.0.0.1:${port}/announce`], () => now)
    const view = tracked.host.torrent(tracked.torrent.infoHash)!
    expect(view.wantsPeers()).toBe(false)
    now += RELAY_FIRST_MS
    expect(view.wantsPeers()).toBe(true)

    // The relay goes: the mesh is wanted at once, whatever the time.
    now -= RELAY_FIRST_MS
    for (const socket of server.clients) socket.terminate()
    server.close()
    await vi.waitFor(() => expect(view.wantsPeers()).toBe(true), 10_000)
  })

  it('refuses a connection for a torrent it does not have or with a malformed peer id', async () => {
    const { torrent, host } = await seeding([], () => 0)
    const send = () => {}
    await expect(
      host.connect('00'.repeat(20), { peerId: '0b'.repeat(20), initiator: true, send }),
    ).rejects.toThrow(/no torrent/)
    await expect(
      host.connect(torrent.infoHash, { peerId: 'not hex', initiator: true, send }),
    ).rejects.toThrow(/40 lowercase hex/)
  })

  it('hands a referred relay to the torrent’s re-homing only if the host cache would take it', async () => {
    const handed: { infoHash: string; referral: Referral }[] = []
    // A page served from a public address: loopback and private relays are refused.
    const cache = new PageHostCache({ getItem: () => null, setItem: () => {} }, false)
    const { torrent, host } = await seeding([], () => 0, {
      checkRelay: (url) => cache.check(url),
      rehome: (infoHash, referral) => handed.push({ infoHash, referral }) > 0,
    })
    expect(host.referredRelay(torrent.infoHash, 'wss://relay.monsoon.net/')).toBe(true)
    expect(host.referredRelay('00'.repeat(20), 'wss://relay.monsoon.net/')).toBe(false)
    expect(host.referredRelay(torrent.infoHash, 'ws://127.0.0.1:9000/')).toBe(false)
    expect(host.referredRelay(torrent.infoHash, 'ws://192.168.1.2/')).toBe(false)
    expect(host.referredRelay(torrent.infoHash, 'not a tracker')).toBe(false)
    expect(handed).toEqual([
      {
        infoHash: torrent.infoHash,
        referral: { kind: 'refer', trackers: ['wss://relay.monsoon.net/'] },
      },
    ])
  })
})
