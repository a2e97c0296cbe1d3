import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  MAX_REFERRED_RELAYS_PER_TORRENT,
  MAX_REFERRED_TORRENTS,
  REFERRED_RELAYS_WINDOW_MS,
} from '../../../shared/mesh/limits.ts'
import { ReferredRelays, referredTracker } from './referred-relays.ts'

const H = '1'.repeat(40)

describe('referredTracker', () => {
  it('names the WebSocket tracker of a relay URL', () => {
    expect(referredTracker('http://127.0.0.1:8000')).toBe('ws://127.0.0.1:8000/')
    expect(referredTracker('https://relay.monsoon.net/')).toBe('wss://relay.monsoon.net/')
    expect(referredTracker('wss://relay.monsoon.net')).toBe('wss://relay.monsoon.net/')
    expect(referredTracker('ws://127.0.0.1:8000/')).toBe('ws://127.0.0.1:8000/')
  })

  it('refuses anything else a hostile neighbour may write', () => {
    for (const bogus of [
      '',
      'relay',
      'javascript:alert(1)',
      'data:text/html,<img src=x onerror=alert(1)>',
      'ftp://relay.monsoon.net/',
      'file:///etc/passwd',
      'http://user:pw@relay.monsoon.net/',
      'https://relay.monsoon.net/announce',
      'wss://relay.monsoon.net/?x=1',
      'ws://relay.monsoon.net/#x',
      'ws://relay.mon\tsoon.net/',
      'http://relay.monsoon.net:0/',
      ' http://relay.monsoon.net/',
      'http://relay\u202emonsoon.net/',
      'ws://',
    ]) {
      expect(referredTracker(bogus), bogus).toBeNull()
    }
  })

  it('gives a bare ws(s) origin or null for any text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'grapheme' }),
          fc.webUrl(),
          fc.webUrl({ withQueryParameters: true, withFragments: true }),
        ),
        (text) => {
          const tracker = referredTracker(text)
          if (tracker !== null) expect(tracker).toMatch(/^wss?:\/\/[^/?#@\s]+\/$/)
        },
      ),
    )
  })
})

describe('ReferredRelays', () => {
  it('hands a torrent at most MAX_REFERRED_RELAYS_PER_TORRENT relays a window, each once', () => {
    const relays = new ReferredRelays()
    const handed: string[] = []
    const take = (t: string, now = 0, infoHash = H) =>
      relays.take(infoHash, t, now, () => handed.push(t) > 0)
    expect(take('ws://a/')).toBe(true)
    expect(take('ws://a/')).toBe(false)
    for (let i = 0; i < 5; i++) take(`ws://r${i}/`)
    expect(handed).toHaveLength(MAX_REFERRED_RELAYS_PER_TORRENT)
    expect(take('ws://b/', 0, '2'.repeat(40))).toBe(true) // another torrent's own slots
    expect(take('ws://a/', REFERRED_RELAYS_WINDOW_MS)).toBe(true)
  })

  it('gives no slot to a relay the page refuses', () => {
    const relays = new ReferredRelays()
    for (let i = 0; i < 5; i++) expect(relays.take(H, `ws://r${i}/`, 0, () => false)).toBe(false)
    expect(relays.take(H, 'ws://good/', 0, () => true)).toBe(true)
  })

  it('remembers at most MAX_REFERRED_TORRENTS torrents', () => {
    const relays = new ReferredRelays()
    for (let i = 0; i < MAX_REFERRED_TORRENTS + 10; i++) {
      relays.take(i.toString(16).padStart(40, '0'), 'ws://a/', 0, () => true)
    }
    expect(relays.size).toBe(MAX_REFERRED_TORRENTS)
  })
})
