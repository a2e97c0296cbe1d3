import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  MAX_ANSWER_BYTES,
  MAX_LISTED_RELAYS,
  MAX_PAGE_FIGURES,
  RelayError,
  fetchRelayJson,
  fetchRelayText,
  parseFigures,
  parseListingPage,
  parseRelayList,
  relayJson,
  relayOrigin,
} from './relay-client.ts'
import { figuresToStore } from '../workers/catalog-relay-sync.ts'

const HASH = 'ab'.repeat(20)

describe('relay answers', () => {
  it('keeps only plain http(s) origins as relays', () => {
    expect(relayOrigin('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080')
    expect(relayOrigin('https://relay.example/')).toBe('https://relay.example')
    expect(relayOrigin('https://relay.example/path')).toBeNull()
    expect(relayOrigin('https://u:p@relay.example')).toBeNull()
    expect(relayOrigin('javascript:alert(1)')).toBeNull()
    expect(relayOrigin('ws://relay.example')).toBeNull()
    expect(relayOrigin(42)).toBeNull()
    expect(relayOrigin(`https://${'a'.repeat(400)}.example`)).toBeNull()
  })

  it('reads a relay list, dropping junk and repeats, capped', () => {
    expect(
      parseRelayList({
        self: 'http://a:1',
        relays: ['http://b:2', 'http://b:2/', 'file:///etc/passwd', null, 'http://c:3'],
      }),
    ).toEqual(['http://b:2', 'http://c:3'])
    expect(parseRelayList({ relays: 'http://b:2' })).toEqual([])
    expect(parseRelayList(null)).toEqual([])
    const many = Array.from({ length: 1000 }, (_, i) => `http://r${i}:1`)
    expect(parseRelayList({ relays: many })).toHaveLength(MAX_LISTED_RELAYS)
  })

  it('checks a sync page and its figures', () => {
    const page = parseListingPage({
      listings: [{}],
      next: 7,
      more: true,
      latest: 100,
      stats: {
        [HASH]: { seeds: 1, leechers: 2, downloads: 3 },
        ['cd'.repeat(20)]: { seeds: -1, leechers: 0, downloads: 0 },
        nothex: { seeds: 1, leechers: 1, downloads: 1 },
      },
    })
    expect(page.next).toBe(7)
    expect(page.latest).toBe(100)
    expect([...page.figures]).toEqual([[HASH, { seeds: 1, leechers: 2, downloads: 3 }]])
    expect(() => parseListingPage({ listings: [], next: -1, more: false })).toThrow(RelayError)
    expect(() => parseListingPage({ listings: {}, next: 1, more: false })).toThrow(RelayError)
    expect(() => parseListingPage('[]')).toThrow(RelayError)
    expect(parseListingPage({ listings: [], next: 0, more: false, latest: 'x' }).latest).toBe(null)
  })

  // Issue 23: a relay leaves the hashes with no swarm out of a page's stats and says so.
  describe('figures of a page that leaves out the hashes with no swarm', () => {
    const SEEDED = 'cd'.repeat(20)
    const FELL = 'ef'.repeat(20)
    const known = new Map([[FELL, { seeds: 4, leechers: 1, downloads: 7 }]])
    const page = (flag: boolean) => ({
      listings: [{ infoHash: SEEDED }, { infoHash: FELL }, { infoHash: 'NOTHEX' }, null, 7],
      next: 5,
      more: false,
      stats: { [SEEDED]: { seeds: 2, leechers: 0, downloads: 1 } },
      ...(flag && { statsAbsentIsZero: true }),
    })

    it('reads a missing hash as zeros when the page says so: a count that fell is not kept', () => {
      const figures = parseListingPage(page(true)).figures
      expect([...figures]).toEqual([
        [SEEDED, { seeds: 2, leechers: 0, downloads: 1 }],
        [FELL, { seeds: 0, leechers: 0, downloads: 0 }],
      ])
      expect(figuresToStore(figures, known).get(FELL)).toEqual({
        seeds: 0,
        leechers: 0,
        downloads: 0,
      })
    })

    it("reads an older relay's page as before: a missing hash is unknown, what is shown stays", () => {
      const figures = parseListingPage(page(false)).figures
      expect([...figures.keys()]).toEqual([SEEDED])
      expect(figuresToStore(figures, known).has(FELL)).toBe(false)
    })

    it('is a page an older reader takes as it is (it read `stats` alone, as parseFigures)', () => {
      expect([...parseFigures(page(true).stats)]).toEqual([
        [SEEDED, { seeds: 2, leechers: 0, downloads: 1 }],
      ])
    })

    it('adds no more than the cap of zeros however many listings a page holds', () => {
      const listings = Array.from({ length: 20_000 }, (_, i) => ({
        infoHash: i.toString(16).padStart(40, '0'),
      }))
      const many = { listings, next: 1, more: false, stats: {}, statsAbsentIsZero: true }
      expect(parseListingPage(many).figures.size).toBe(MAX_PAGE_FIGURES)
      // Only `true` says it: anything else is an older meaning.
      expect(parseListingPage({ ...many, statsAbsentIsZero: 'yes' }).figures.size).toBe(0)
    })
  })

  it('caps the figures read from one answer', () => {
    const stats = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [
        i.toString(16).padStart(40, '0'),
        { seeds: i, leechers: 0, downloads: 0 },
      ]),
    )
    expect(parseFigures(stats, 10).size).toBe(10)
  })
})

describe('fetchRelayText', () => {
  const answer = (body: string, init: ResponseInit = {}) =>
    vi.fn(async () => new Response(body, init))
  afterEach(() => vi.unstubAllGlobals())

  it('hands a good answer back as the text that came, which relayJson parses', async () => {
    const text = '{"listings":[],"next":0,"more":false}'
    vi.stubGlobal('fetch', answer(text))
    const got = await fetchRelayText('https://relay.example/v1/listings')
    expect(got).toBe(text)
    expect(relayJson(got, 'https://relay.example/')).toEqual(JSON.parse(text))
    vi.stubGlobal('fetch', answer(text))
    expect(await fetchRelayJson('https://relay.example/v1/listings')).toEqual(JSON.parse(text))
  })

  it("throws a busy relay's error with its status and Retry-After", async () => {
    vi.stubGlobal(
      'fetch',
      answer('{"error":"busy building pages"}', { status: 503, headers: { 'retry-after': '7' } }),
    )
    const err = await fetchRelayText('https://relay.example/v1/listings').catch((e) => e)
    expect(err).toBeInstanceOf(RelayError)
    expect(err).toMatchObject({ message: 'busy building pages', status: 503, retryAfter: 7 })
    vi.stubGlobal('fetch', answer('<html>', { status: 500 }))
    await expect(fetchRelayText('https://relay.example/x')).rejects.toThrow('HTTP 500')
  })

  it('refuses an answer too large to read, unread', async () => {
    vi.stubGlobal('fetch', answer('x'.repeat(MAX_ANSWER_BYTES + 1)))
    await expect(fetchRelayText('https://relay.example/x')).rejects.toThrow('too large')
  })

  it('takes nothing but JSON as JSON', () => {
    for (const text of ['', 'null', '<html>', '{"a":']) {
      expect(() => relayJson(text, 'https://relay.example/')).toThrow(RelayError)
    }
    expect(() => relayJson('nope', 'https://relay.example/')).toThrow('relay.example did not')
  })
})
