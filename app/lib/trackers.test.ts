import { describe, expect, it } from 'vitest'
import { MAX_TRACKERS } from './magnet.ts'
import { MAX_RELAY_TRACKERS, announceList, relayTracker } from './trackers.ts'

describe('relayTracker', () => {
  it('maps a relay URL to its WebSocket tracker', () => {
    expect(relayTracker('http://127.0.0.1:8080')).toBe('ws://127.0.0.1:8080/')
    expect(relayTracker('https://relay.example')).toBe('wss://relay.example/')
    expect(relayTracker('https://relay.example:8443/')).toBe('wss://relay.example:8443/')
    expect(relayTracker('ftp://relay.example')).toBeNull()
    expect(relayTracker('not a url')).toBeNull()
  })
})

describe('announceList', () => {
  const origin = 'ws://a:1/'

  it('puts the origin first, then other relays, then the link, without repeats', () => {
    expect(
      announceList(origin, ['http://a:1', 'http://b:2'], ['ws://b:2/', 'wss://c/'], false),
    ).toEqual(['ws://a:1/', 'ws://b:2/', 'wss://c/'])
  })

  it('caps relays and the whole list', () => {
    const relays = Array.from({ length: 20 }, (_, i) => `http://r${i}:1`)
    const links = Array.from({ length: 20 }, (_, i) => `wss://t${i}/`)
    expect(announceList(origin, relays, [], false)).toHaveLength(1 + MAX_RELAY_TRACKERS)
    const all = announceList(origin, relays, links, false)
    expect(all).toHaveLength(MAX_TRACKERS)
    expect(all.slice(0, 1 + MAX_RELAY_TRACKERS)).toEqual([
      origin,
      ...relays.slice(0, MAX_RELAY_TRACKERS).map((r) => `ws${r.slice(4)}/`),
    ])
  })

  it('leaves plain ws: trackers out of a page served over HTTPS', () => {
    expect(
      announceList('wss://a/', ['http://b:2', 'https://c'], ['ws://d/', 'wss://e/'], true),
    ).toEqual(['wss://a/', 'wss://c/', 'wss://e/'])
  })
})
