import { describe, expect, it } from 'vitest'
import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'
import { routeAddPeer } from './add-peer.ts'
import { oneAttemptPerPeer } from './pending-peers.ts'
import { tcpBeforeUtp } from './tcp-first.ts'

/** A torrent that records the transports it was asked to dial. */
function fakeTorrent(utp: boolean) {
  const dialed: [unknown, string][] = []
  const torrent = {
    client: { utp },
    _peers: new Map(),
    removePeer() {},
    _addPeer(peer: unknown, type: string) {
      dialed.push([peer, type])
      return peer
    },
  }
  return { torrent, dialed, asTorrent: torrent as unknown as Torrent }
}

describe('tcpBeforeUtp', () => {
  it('dials IPv4 peers over TCP first and falls back to uTP', () => {
    const { torrent, dialed, asTorrent } = fakeTorrent(true)
    expect(routeAddPeer(asTorrent, [tcpBeforeUtp])).toBe(true)
    // WebTorrent asks for uTP on the first attempt and reconnects, TCP once they are used up.
    torrent._addPeer('127.0.0.1:6881', 'utp')
    torrent._addPeer('127.0.0.1:6881', 'tcp')
    expect(dialed).toEqual([
      ['127.0.0.1:6881', 'tcp'],
      ['127.0.0.1:6881', 'utp'],
    ])
  })

  it('leaves IPv6 peers, WebRTC peers and clients without uTP alone', () => {
    const { torrent, dialed, asTorrent } = fakeTorrent(true)
    routeAddPeer(asTorrent, [tcpBeforeUtp])
    const rtc = { id: 'simple-peer' }
    torrent._addPeer('[::1]:6881', 'tcp')
    torrent._addPeer(rtc, 'webrtc')
    expect(dialed).toEqual([
      ['[::1]:6881', 'tcp'],
      [rtc, 'webrtc'],
    ])

    const plain = fakeTorrent(false)
    routeAddPeer(plain.asTorrent, [tcpBeforeUtp])
    plain.torrent._addPeer('127.0.0.1:6881', 'tcp')
    expect(plain.dialed).toEqual([['127.0.0.1:6881', 'tcp']])
  })
})

describe('routeAddPeer', () => {
  it('wraps once, running every rule in one wrapper', () => {
    const { torrent, dialed, asTorrent } = fakeTorrent(true)
    expect(routeAddPeer(asTorrent, [oneAttemptPerPeer, tcpBeforeUtp])).toBe(true)
    expect(routeAddPeer(asTorrent, [tcpBeforeUtp])).toBe(false)
    torrent._addPeer('10.0.0.1:1', 'utp')
    expect(dialed).toEqual([['10.0.0.1:1', 'tcp']])
  })

  it('changes nothing where the internals are not there', () => {
    expect(routeAddPeer({} as Torrent, [tcpBeforeUtp])).toBe(false)
  })
})
