import { describe, expect, it } from 'vitest'
import { NO_PEERS_MS, NoPeersWatch, type WatchedTorrent } from './bridge.ts'

const download = (over: Partial<WatchedTorrent> = {}): WatchedTorrent => ({
  infoHash: 'ab'.repeat(20),
  local: false,
  numPeers: 0,
  progress: 0,
  ...over,
})

describe('NoPeersWatch', () => {
  it('asks once a download has had no peer for NO_PEERS_MS, and only once', () => {
    const watch = new NoPeersWatch()
    expect(watch.due(download(), 0)).toBe(false)
    expect(watch.due(download(), NO_PEERS_MS - 1)).toBe(false)
    expect(watch.due(download(), NO_PEERS_MS)).toBe(true)
    expect(watch.due(download(), 10 * NO_PEERS_MS)).toBe(false)
  })

  it('starts counting again when a peer shows up', () => {
    const watch = new NoPeersWatch()
    watch.due(download(), 0)
    expect(watch.due(download({ numPeers: 1 }), NO_PEERS_MS / 2)).toBe(false)
    expect(watch.due(download(), NO_PEERS_MS)).toBe(false)
    expect(watch.due(download(), 2 * NO_PEERS_MS)).toBe(true)
  })

  it('never asks for a seed, a finished download, a hash not known yet, or one asked by hand', () => {
    const watch = new NoPeersWatch()
    const cases = [download({ local: true }), download({ progress: 1 }), download({ infoHash: '' })]
    for (const t of cases) {
      watch.due(t, 0)
      expect(watch.due(t, NO_PEERS_MS)).toBe(false)
    }
    watch.asked(download().infoHash)
    watch.due(download(), 0)
    expect(watch.due(download(), NO_PEERS_MS)).toBe(false)
  })
})
