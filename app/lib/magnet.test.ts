import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_NAME_CHARS } from '../../shared/limits.ts'
import {
  MAX_TRACKERS,
  TorrentInputError,
  magnetUri,
  originTracker,
  parseTorrentInput,
  refFromParams,
  shareUrl,
  torrentPath,
} from './magnet.ts'

const HASH = 'c9e15763f722f23e98a29decdfae341b98d53056'

describe('parseTorrentInput', () => {
  it('reads a bare hex info hash, in any case', () => {
    expect(parseTorrentInput(`  ${HASH.toUpperCase()}\n`)).toEqual({ infoHash: HASH, trackers: [] })
  })

  it('reads a magnet link with a name and WebSocket trackers', () => {
    const ref = parseTorrentInput(
      `magnet:?xt=urn:btih:${HASH}&dn=Big+Buck+Bunny&tr=wss%3A%2F%2Ftracker.example&tr=udp%3A%2F%2Fold.example%3A80`,
    )
    expect(ref).toEqual({
      infoHash: HASH,
      name: 'Big Buck Bunny',
      trackers: ['wss://tracker.example'],
    })
  })

  it('decodes a base32 info hash (RFC 4648)', () => {
    // 20 zero bytes, then 0xff…: base32 of known bytes.
    expect(parseTorrentInput('magnet:?xt=urn:btih:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA').infoHash).toBe(
      '0'.repeat(40),
    )
    expect(parseTorrentInput('77777777777777777777777777777777').infoHash).toBe('f'.repeat(40))
  })

  it.each([
    ['', /Paste a magnet link/],
    ['hello', /not a valid info hash/],
    [HASH.slice(1), /not a valid info hash/],
    [`${HASH}0`, /not a valid info hash/],
    ['magnet:?xt=urn:btih:nothex', /not a valid info hash/],
    ['magnet:?dn=nothing', /no BitTorrent info hash/],
    [`magnet:?xt=urn:btmh:1220${'ab'.repeat(32)}`, /v2-only/],
    [`magnet:?xt=urn:btih:${HASH}&tr=${'x'.repeat(9000)}`, /too long/],
  ])('refuses %j with a clear message', (input, message) => {
    expect(() => parseTorrentInput(input)).toThrow(TorrentInputError)
    expect(() => parseTorrentInput(input)).toThrow(message)
  })

  it('keeps a hostile name as data and caps the trackers', () => {
    const params = new URLSearchParams()
    params.set('dn', '<img src=x onerror=alert(1)>\u202e../../etc/passwd')
    for (let i = 0; i < 50; i++) params.append('tr', `ws://t${i}.example/`)
    params.append('tr', 'javascript:alert(1)')
    const ref = refFromParams(HASH, params)
    expect(ref.name).toBe('<img src=x onerror=alert(1)>\u202e../../etc/passwd')
    expect(ref.trackers).toHaveLength(MAX_TRACKERS)
    expect(ref.trackers.every((t) => t.startsWith('ws://'))).toBe(true)
  })

  it('keeps no longer a name than a listing may have (shared/limits.ts)', () => {
    const params = new URLSearchParams({ dn: 'n'.repeat(MAX_NAME_CHARS + 100) })
    expect(refFromParams(HASH, params).name).toBe('n'.repeat(MAX_NAME_CHARS))
  })
})

describe('links', () => {
  it('derives the tracker from the page origin', () => {
    expect(originTracker({ protocol: 'http:', host: 'localhost:8080' })).toBe(
      'ws://localhost:8080/',
    )
    expect(originTracker({ protocol: 'https:', host: 'relay.example' })).toBe(
      'wss://relay.example/',
    )
  })

  it('builds a share URL the router can read back', () => {
    const ref = { infoHash: HASH, name: 'a b&c.txt', trackers: ['ws://127.0.0.1:9000/'] }
    expect(shareUrl('http://127.0.0.1:9000', ref)).toBe(
      `http://127.0.0.1:9000/#/t/${HASH}?dn=a+b%26c.txt&tr=ws%3A%2F%2F127.0.0.1%3A9000%2F`,
    )
  })

  it('round-trips any name and trackers through a magnet link and a share path', () => {
    const hash = fc.stringMatching(/^[0-9a-f]{40}$/)
    const name = fc.option(
      fc.string({ minLength: 1, maxLength: 100 }).filter((s) => s.trim() === s && s.length > 0),
      { nil: undefined },
    )
    const tracker = fc.webUrl().map((u) => u.replace(/^https?:/, 'ws:'))
    const trackers = fc.uniqueArray(tracker, { maxLength: MAX_TRACKERS })
    fc.assert(
      fc.property(hash, name, trackers, (infoHash, dn, tr) => {
        const ref = {
          infoHash,
          trackers: tr.filter((t) => URL.canParse(t)),
          ...(dn && { name: dn }),
        }
        expect(parseTorrentInput(magnetUri(ref))).toEqual(ref)
        const path = torrentPath(ref)
        const [route, query = ''] = path.slice('#/t/'.length).split('?')
        expect(refFromParams(route, new URLSearchParams(query))).toEqual(ref)
      }),
    )
  })
})
