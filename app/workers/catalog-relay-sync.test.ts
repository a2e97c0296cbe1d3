// One relay's sync pass in Node: a fake relay serving really signed listings page by page,
// the catalog stored in memory (catalog-test-support.ts).

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createIdentity } from '../../shared/identity.ts'
import { createListing, type Listing } from '../../shared/listing.ts'
import { sampleDraft } from '../../relay/catalog/test-support.ts'
import type { RelaySyncProgress } from '../catalog/protocol.ts'
import { RelayError, type ListingPage } from '../catalog/relay-client.ts'
import type { SwarmFigures } from '../catalog/search-index.ts'
import { checkedListings } from '../catalog/verify.ts'
import { memoryCatalogStorage } from './catalog-test-support.ts'
import {
  DEFAULT_RETRY_AFTER_S,
  MAX_PAGE_RETRIES,
  MAX_RETRY_AFTER_S,
  READ_AHEAD_PAGES,
  fetchPatiently,
  figuresToStore,
  newRelayProgress,
  readAhead,
  syncRelay,
  type RelaySyncDeps,
} from './catalog-relay-sync.ts'

const NOW = 1_764_115_200_000
const ORIGIN = 'http://relay.example'
const author = createIdentity()
const good: Listing[] = Array.from({ length: 25 }, (_, i) =>
  createListing(sampleDraft(i), author, { seq: 1, ts: NOW / 1000 }),
)

/** A relay serving `rows` (cursor i + 1 for row i) `pageSize` at a time; `answer` replaces
 * a page (lies, failures). */
function fakeRelay(rows: unknown[], pageSize = 10) {
  const relay = {
    requests: [] as number[],
    inFlight: 0,
    maxInFlight: 0,
    answer: null as ((after: number) => unknown) | null,
    async fetchJson(url: string): Promise<unknown> {
      const after = Number(new URL(url).searchParams.get('after'))
      relay.requests.push(after)
      relay.inFlight++
      relay.maxInFlight = Math.max(relay.maxInFlight, relay.inFlight)
      try {
        for (let i = 0; i < 3; i++) await Promise.resolve()
        if (relay.answer) return relay.answer(after)
        const listings = rows.slice(after, after + pageSize)
        const next = after + listings.length
        return { listings, next, more: next < rows.length, latest: rows.length, epoch: 'e1' }
      } finally {
        relay.inFlight--
      }
    },
  }
  return relay
}

function setup(relay: ReturnType<typeof fakeRelay>, storage = memoryCatalogStorage()) {
  const seen: RelaySyncProgress[] = []
  const stored: Listing[] = []
  const waits: number[] = []
  const entry = newRelayProgress(ORIGIN)
  const deps: RelaySyncDeps = {
    storage: storage.storage,
    fetchJson: (url) => relay.fetchJson(url),
    now: () => NOW,
    put: (listings, sync) => storage.put(listings, NOW, sync),
    stored: async (fresh) => void stored.push(...fresh),
    progress: () => void seen.push({ ...entry }),
    wait: async (ms) => void waits.push(ms),
  }
  return { deps, entry, seen, stored, storage, waits, pass: () => syncRelay(deps, ORIGIN, entry) }
}

describe('syncRelay', () => {
  it('reads a relay to its end, saying how much is in and how much is left', async () => {
    const relay = fakeRelay(good)
    const s = setup(relay)
    await s.pass()
    expect(s.stored.map((l) => l.infoHash)).toEqual(good.map((l) => l.infoHash))
    expect(s.entry).toMatchObject({ state: 'idle', fetched: 25, remaining: 0, fraction: 1 })
    const during = s.seen.filter((p) => p.state === 'syncing' && p.fetched > 0)
    expect(during.map((p) => [p.fetched, p.remaining])).toEqual([
      [10, 15],
      [20, 5],
      [25, 0],
    ])
    expect(s.storage.sync.get(ORIGIN)?.cursor).toBe(25)
    // Every page asked for once.
    expect(relay.requests).toEqual([0, 10, 20])
  })

  it('never stores a listing that fails verification, and counts it against its relay', async () => {
    const forged = { ...good[1], name: 'Not what was signed' }
    const future = createListing(sampleDraft(90), author, { seq: 1, ts: NOW / 1000 + 86_400 })
    const rows = [good[0], forged, 'garbage', { ...good[2], extra: 1 }, future, good[3]]
    const s = setup(fakeRelay(rows, 4))
    await s.pass()
    expect(s.stored.map((l) => l.infoHash)).toEqual([good[0].infoHash, good[3].infoHash])
    expect([...s.storage.listings.values()].map((r) => r.listing.name)).not.toContain(
      'Not what was signed',
    )
    expect(s.entry).toMatchObject({ state: 'idle', fetched: 6, refused: 4 })
  })

  it('verifies pages with the verifier it is given (verify workers), storing only its good ones', async () => {
    const s = setup(fakeRelay(good))
    const asked: number[] = []
    s.deps.verify = async (values, nowSeconds) => {
      asked.push(nowSeconds)
      // Refuses every other value, as a verifier that found them forged would.
      const listings = values.filter((_, i) => i % 2 === 0) as Listing[]
      return { listings, invalid: values.length - listings.length }
    }
    await s.pass()
    expect(asked).toEqual([NOW / 1000, NOW / 1000, NOW / 1000])
    expect(s.stored.map((l) => l.infoHash)).toEqual(
      good.filter((_, i) => (i % 10) % 2 === 0).map((l) => l.infoHash),
    )
    expect(s.entry).toMatchObject({ state: 'idle', fetched: 25, refused: 12 })
  })

  it('reads pages as text when given fetchText, and hands the verifier that text', async () => {
    const relay = fakeRelay(good)
    const s = setup(relay)
    const texts: string[] = []
    s.deps.fetchJson = async () => {
      throw new Error('read as text, not JSON')
    }
    s.deps.fetchText = async (url) => JSON.stringify(await relay.fetchJson(url))
    s.deps.verify = async (values, nowSeconds, text) => {
      texts.push(text!)
      // The values are the text's listings, parsed from it.
      expect(values).toEqual((JSON.parse(text!) as { listings: unknown[] }).listings)
      return checkedListings(values, nowSeconds)
    }
    await s.pass()
    expect(texts).toHaveLength(3)
    expect(s.stored.map((l) => l.infoHash)).toEqual(good.map((l) => l.infoHash))
    // A page that is not JSON fails the pass as any malformed answer does.
    s.deps.fetchText = async () => '<html>'
    s.storage.sync.delete(ORIGIN)
    await s.pass()
    expect(s.entry).toMatchObject({ state: 'error' })
    expect(s.entry.error).toMatch(/did not answer with JSON/)
  })

  it('keeps counting refusals over passes, while `fetched` starts again', async () => {
    const rows: unknown[] = [good[0], 'bad']
    const s = setup(fakeRelay(rows))
    await s.pass()
    rows.push(good[1], { nope: true })
    await s.pass()
    expect(s.entry).toMatchObject({ fetched: 2, refused: 2, state: 'idle' })
  })

  it('keeps what was stored when a relay fails midway, and goes on from there next pass', async () => {
    const relay = fakeRelay(good)
    const s = setup(relay)
    const serve = relay.fetchJson.bind(relay)
    relay.fetchJson = async (url) => {
      if (new URL(url).searchParams.get('after') === '10') throw new RelayError('cannot reach')
      return serve(url)
    }
    await s.pass()
    expect(s.entry).toMatchObject({ state: 'error', error: 'cannot reach' })
    expect(s.storage.listings.size).toBe(10)
    relay.fetchJson = serve
    relay.requests.length = 0
    await s.pass()
    expect(s.entry.state).toBe('idle')
    expect(s.storage.listings.size).toBe(25)
    expect(relay.requests[0]).toBe(10)
  })

  it('ends the pass quietly when a relay says `more` without moving its cursor', async () => {
    const relay = fakeRelay(good)
    relay.answer = (after) => ({ listings: [good[0]], next: after, more: true, latest: 1e9 })
    const s = setup(relay)
    await s.pass()
    expect(s.entry.state).toBe('idle')
    expect(relay.requests.length).toBeLessThanOrEqual(1 + READ_AHEAD_PAGES + 1)
  })

  it('names an error that comes without a message (IndexedDB’s DOMExceptions)', async () => {
    const s = setup(fakeRelay(good))
    s.deps.put = async () => {
      throw new DOMException('', 'UnknownError')
    }
    await s.pass()
    expect(s.entry).toMatchObject({ state: 'error', error: 'UnknownError' })
  })

  it('shows a malformed page as the relay’s error', async () => {
    const relay = fakeRelay(good)
    relay.answer = () => ({ listings: 'nope', next: -1 })
    const s = setup(relay)
    await s.pass()
    expect(s.entry).toMatchObject({ state: 'error', error: 'the relay sent a malformed page' })
  })

  it('holds a bounded number of pages: the one stored and READ_AHEAD_PAGES + 1 ahead', async () => {
    const many = Array.from({ length: 200 }, (_, i) => good[i % good.length])
    const relay = fakeRelay(many, 5)
    const s = setup(relay)
    await s.pass()
    expect(relay.maxInFlight).toBeLessThanOrEqual(READ_AHEAD_PAGES + 1)
    expect(new Set(relay.requests).size).toBe(relay.requests.length)
    expect(relay.requests.length).toBe(40)
  })
})

describe('fetchPatiently', () => {
  const busy = (status: number, retryAfter: number | null) =>
    new RelayError('too many catalog pages asked for at once; try again', status, retryAfter)

  it('waits as long as a busy relay asks, then asks again', async () => {
    const answers: (Error | string)[] = [busy(503, 3), busy(429, null), 'page']
    const waits: number[] = []
    const page = await fetchPatiently(
      async () => {
        const next = answers.shift()!
        if (next instanceof Error) throw next
        return next
      },
      async (ms) => void waits.push(ms),
    )
    expect(page).toBe('page')
    expect(waits).toEqual([3000, DEFAULT_RETRY_AFTER_S * 1000])
  })

  it('gives up after MAX_PAGE_RETRIES, and at once on a long Retry-After or another error', async () => {
    let asked = 0
    const waits: number[] = []
    const always = (err: Error) => () => {
      asked++
      return Promise.reject(err)
    }
    const wait = async (ms: number) => void waits.push(ms)
    await expect(fetchPatiently(always(busy(503, 1)), wait)).rejects.toThrow('try again')
    expect(asked).toBe(MAX_PAGE_RETRIES + 1)
    asked = 0
    await expect(fetchPatiently(always(busy(429, MAX_RETRY_AFTER_S + 1)), wait)).rejects.toThrow()
    await expect(fetchPatiently(always(new RelayError('gone', 404)), wait)).rejects.toThrow('gone')
    await expect(fetchPatiently(always(new RelayError('cannot reach')), wait)).rejects.toThrow()
    expect(asked).toBe(3)
  })

  it('a pass waits out a busy relay instead of stopping', async () => {
    const relay = fakeRelay(good)
    const serve = relay.fetchJson.bind(relay)
    let refusals = 2
    relay.fetchJson = async (url) => {
      if (new URL(url).searchParams.get('after') === '10' && refusals-- > 0) {
        throw busy(503, 2)
      }
      return serve(url)
    }
    const s = setup(relay)
    await s.pass()
    expect(s.entry).toMatchObject({ state: 'idle', fetched: 25, error: null })
    expect(s.waits).toEqual([2000, 2000])
  })
})

describe('readAhead', () => {
  const pageOf = (after: number, size: number, total: number): ListingPage => {
    const next = Math.min(total, after + size)
    return {
      listings: Array(next - after).fill(null),
      next,
      more: next < total,
      latest: total,
      epoch: null,
      figures: new Map(),
    }
  }

  it('fetches each page once, in order, however the pages are sized and asked for', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 9 }),
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 20 }),
        async (total, size, delays) => {
          const asked: number[] = []
          let held = 0
          let maxHeld = 0
          const fetch = readAhead(async (after) => {
            asked.push(after)
            held++
            maxHeld = Math.max(maxHeld, held)
            for (let i = 0; i < delays[asked.length % delays.length]; i++) await Promise.resolve()
            held--
            return pageOf(after, size, total)
          })
          // As the puller asks: a page, then the next one while this one is "stored".
          let after = 0
          let ahead: Promise<ListingPage> | null = null
          for (;;) {
            const page: ListingPage = await (ahead ?? fetch(after))
            ahead = page.more ? fetch(page.next) : null
            for (let i = 0; i < delays[after % delays.length]; i++) await Promise.resolve()
            if (!page.more) break
            after = page.next
          }
          const pages = Math.max(1, Math.ceil(total / size))
          expect(asked).toEqual(Array.from({ length: pages }, (_, i) => i * size))
          expect(maxHeld).toBeLessThanOrEqual(READ_AHEAD_PAGES + 1)
        },
      ),
    )
  })

  it('drops what it read ahead when asked for another page (a relay restarted)', async () => {
    const asked: number[] = []
    const fetch = readAhead(async (after) => {
      asked.push(after)
      return pageOf(after, 10, 100)
    }, 1)
    await fetch(0)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(asked).toEqual([0, 10])
    await fetch(0)
    await new Promise((resolve) => setTimeout(resolve, 0))
    // Page 0 fetched afresh, and page 10 read ahead again rather than the old one reused.
    expect(asked).toEqual([0, 10, 0, 10])
  })

  it('a failed read-ahead is no unhandled rejection, and fails when its turn comes', async () => {
    const fetch = readAhead(async (after) => {
      if (after === 10) throw new RelayError('gone')
      return pageOf(after, 10, 100)
    })
    await fetch(0)
    await expect(fetch(10)).rejects.toThrow('gone')
  })
})

describe('figuresToStore', () => {
  const f = (seeds: number, leechers = 0, downloads = 0): SwarmFigures => ({
    seeds,
    leechers,
    downloads,
  })

  it('drops zeros for hashes with no figures, keeps every real change', () => {
    const known = new Map([
      ['a', f(3)],
      ['b', f(1, 1, 1)],
    ])
    const page = new Map([
      ['a', f(0)],
      ['b', f(1, 1, 1)],
      ['c', f(0)],
      ['d', f(0, 0, 2)],
    ])
    expect([...figuresToStore(page, known)]).toEqual([
      ['a', f(0)],
      ['d', f(0, 0, 2)],
    ])
  })

  it('whatever the figures: exactly those that differ from what is known (unknown = 0)', () => {
    const figures = fc.record({
      seeds: fc.nat(3),
      leechers: fc.nat(3),
      downloads: fc.nat(3),
    })
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), figures),
        fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), figures),
        (pageFigures, knownFigures) => {
          const page = new Map(Object.entries(pageFigures))
          const known = new Map(Object.entries(knownFigures))
          const out = figuresToStore(page, known)
          for (const [hash, value] of page) {
            const old = known.get(hash) ?? f(0)
            const same = JSON.stringify(old) === JSON.stringify(value)
            expect(out.has(hash)).toBe(!same)
          }
          for (const hash of out.keys()) expect(page.has(hash)).toBe(true)
        },
      ),
    )
  })
})
