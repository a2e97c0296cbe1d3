import { describe, expect, it } from 'vitest'
import { dialTcpFirst, type PeerDialer } from './tcp-first.ts'

/** A torrent that records the transports it was asked to dial. */
function fakeTorrent(utp: boolean) {
  const dialed: [unknown, string][] = []
  const torrent: PeerDialer = {
    client: { utp },
    _addPeer(peer, type) {
      dialed.push([peer, type])
      return peer
    },
  }
  return { torrent, dialed }
}

describe('dialTcpFirst', () => {
  it('dials IPv4 peers over TCP first and falls back to uTP', () => {
    const { torrent, dialed } = fakeTorrent(true)
    dialTcpFirst(torrent)
    // WebTorrent asks for uTP on the first attempt and reconnects, TCP once they are used up.
    torrent._addPeer('127.0.0.1:6881', 'utp')
    torrent._addPeer('127.0.0.1:6881', 'tcp')
    expect(dialed).toEqual([
      ['127.0.0.1:6881', 'tcp'],
      ['127.0.0.1:6881', 'utp'],
    ])
  })

  it('leaves IPv6 peers, WebRTC peers and clients without uTP alone', () => {
    const { torrent, dialed } = fakeTorrent(true)
    dialTcpFirst(torrent)
    const rtc = { id: 'simple-peer' }
    torrent._addPeer('[::1]:6881', 'tcp')
    torrent._addPeer(rtc, 'utp')
    expect(dialed).toEqual([
      ['[::1]:6881', 'tcp'],
      [rtc, 'utp'],
    ])

    const plain = fakeTorrent(false)
    dialTcpFirst(plain.torrent)
    plain.torrent._addPeer('127.0.0.1:6881', 'tcp')
    expect(plain.dialed).toEqual([['127.0.0.1:6881', 'tcp']])
  })

  it('wraps once', () => {
    const { torrent, dialed } = fakeTorrent(true)
    dialTcpFirst(torrent)
    dialTcpFirst(torrent)
    torrent._addPeer('10.0.0.1:1', 'utp')
    expect(dialed).toEqual([['10.0.0.1:1', 'tcp']])
  })
})
