// Owner figures asked of other relays (owner-scrapes.ts): batched per owner, coalesced
// across asks, cached, capped per ask, per address and in total, with failover to the next
// owner. The owners here are a fake fetch that counts requests and answers as an owner's
// GET /v1/stats?owned=1 would.

import { describe, expect, it } from 'vitest'
import type { SupernodeRecord } from '../../shared/supernode.ts'
import type { PeerRequest } from '../peering/peer-fetch.ts'
import type { ScrapeEntry } from '../tracker/tracker.ts'
import { OwnerScrapes, type OwnedHash, type OwnerScrapeLimits } from './owner-scrapes.ts'

const SELF = 'a'.repeat(64)
const owner = (n: number) =>
  ({ id: String(n).repeat(64), urls: [`http://127.0.0.${n}:1`] }) as unknown as SupernodeRecord
const B = owner(2)
const C = owner(3)
const hash = (i: number) => i.toString(16).padStart(40, '0')
const local = (infoHash: string): ScrapeEntry => ({
  infoHash,
  complete: 0,
  incomplete: 0,
  downloaded: 0,
})

/** Owners that answer seeds = the hash's number; `down` owners fail; `not` hashes are not
 * owned by anyone asked (left out of the answer). Requests wait for `release`. */
function fakeOwners(opts: { down?: string[]; not?: Set<string> } = {}) {
  const calls: { origin: string; hashes: string[] }[] = []
  const gates: (() => void)[] = []
  let held = false
  const fetchJson = async (url: string, _req: PeerRequest): Promise<unknown> => {
    const u = new URL(url)
    expect(u.pathname).toBe('/v1/stats')
    expect(u.searchParams.get('owned')).toBe('1')
    const hashes = u.searchParams.getAll('ih')
    calls.push({ origin: u.origin, hashes })
    if (held) await new Promise<void>((resolve) => gates.push(resolve))
    if (opts.down?.includes(u.origin)) throw new Error('refused')
    const stats: Record<string, unknown> = {}
    for (const h of hashes) {
      if (opts.not?.has(h)) continue
      stats[h] = { seeds: parseInt(h, 16), leechers: 1, downloads: 2 }
    }
    return { stats }
  }
  return {
    calls,
    fetchJson,
    hold: () => (held = true),
    release: () => {
      held = false
      gates.splice(0).forEach((g) => g())
    },
  }
}

function scrapes(fetchJson: ReturnType<typeof fakeOwners>['fetchJson'], limits = {}) {
  let nowMs = 1_000_000
  const s = new OwnerScrapes({
    selfId: () => SELF,
    fetchJson,
    now: () => nowMs,
    limits: limits as Partial<OwnerScrapeLimits>,
  })
  return { s, tick: (ms: number) => (nowMs += ms) }
}

/** Hashes 1..n: odd ones owned by B then C, even ones by C then B. */
function elsewhere(n: number): OwnedHash[] {
  return Array.from({ length: n }, (_, i) => ({
    infoHash: hash(i + 1),
    placement: { local: false, owners: (i + 1) % 2 ? [B, C] : [C, B] },
  }))
}

const seedsOf = (entries: ScrapeEntry[]) => entries.map((e) => e.complete)

describe('OwnerScrapes', () => {
  it('asks each owner once for all its hashes, and answers with their figures', async () => {
    const owners = fakeOwners()
    const { s } = scrapes(owners.fetchJson)
    const mine = { infoHash: hash(999), placement: { local: true, owners: [] } }
    const got = await s.scrape([...elsewhere(100), mine], local, { source: '10.0.0.1' })
    expect(owners.calls.map((c) => [c.origin, c.hashes.length]).sort()).toEqual([
      ['http://127.0.0.2:1', 50],
      ['http://127.0.0.3:1', 50],
    ])
    expect(seedsOf(got)).toEqual([...Array.from({ length: 100 }, (_, i) => i + 1), 0])
  })

  it('shares one request among 200 asks at once, then answers from the cache', async () => {
    const owners = fakeOwners()
    const { s, tick } = scrapes(owners.fetchJson)
    owners.hold()
    const asks = Array.from({ length: 200 }, (_, i) =>
      s.scrape(elsewhere(100), local, { source: `10.0.0.${i % 50}` }),
    )
    await new Promise((resolve) => setImmediate(resolve))
    owners.release()
    for (const got of await Promise.all(asks)) expect(got).toHaveLength(100)
    expect(owners.calls).toHaveLength(2)
    expect(s.stats.coalesced).toBe(199 * 100)
    await s.scrape(elsewhere(100), local, { source: '10.0.0.1' })
    expect(owners.calls).toHaveLength(2)
    tick(s.limits.cacheMs)
    await s.scrape(elsewhere(100), local, { source: '10.0.0.1' })
    expect(owners.calls).toHaveLength(4)
  })

  it('leaves figures unknown beyond the caps and says how many', async () => {
    const owners = fakeOwners()
    const { s } = scrapes(owners.fetchJson, { perSource: 2, total: 3 })
    owners.hold()
    const busy: number[] = []
    const ask = (source: string, from: number) =>
      s.scrape(
        elsewhere(4).map((h, i) => ({ ...h, infoHash: hash(from + i) })),
        local,
        { source, onBusy: (n) => busy.push(n) },
      )
    const first = ask('10.0.0.1', 100)
    // The same address again: its two requests are in flight, so nothing is asked.
    const second = ask('10.0.0.1', 200)
    // Another address: one request left in all.
    const third = ask('10.0.0.2', 300)
    await new Promise((resolve) => setImmediate(resolve))
    expect(owners.calls).toHaveLength(3)
    owners.release()
    expect(await first).toHaveLength(4)
    expect(await second).toHaveLength(0)
    expect(await third).toHaveLength(2)
    expect(busy.sort()).toEqual([2, 4])
    expect(s.inFlight).toBe(0)
    // Once the requests are done the address may ask again.
    expect(await ask('10.0.0.1', 200)).toHaveLength(4)
  })

  it('caps the requests one ask starts', async () => {
    const owners = fakeOwners()
    const { s } = scrapes(owners.fetchJson, { perAsk: 1 })
    const busy: number[] = []
    const got = await s.scrape(elsewhere(10), local, { source: 'x', onBusy: (n) => busy.push(n) })
    expect(owners.calls).toHaveLength(1)
    expect(got).toHaveLength(5)
    expect(busy).toEqual([5])
  })

  it('asks the next owner when one fails or does not own a hash, then counts it here', async () => {
    const owners = fakeOwners({ down: ['http://127.0.0.2:1'], not: new Set([hash(2)]) })
    const { s } = scrapes(owners.fetchJson)
    const got = await s.scrape(elsewhere(4), local, { source: 'x' })
    // 1 and 3: B is down, C answers. 2: C does not own it, and B, down, is not asked again
    // by this ask: counted here (0). 4: C answers.
    expect(seedsOf(got)).toEqual([1, 0, 3, 4])
    expect(owners.calls).toHaveLength(3)
    expect(s.stats.failed).toBe(1)
  })

  it('never asks itself, and keeps only the hashes it asked for', async () => {
    const calls: string[] = []
    const s = new OwnerScrapes({
      selfId: () => SELF,
      fetchJson: async (url) => {
        calls.push(url)
        return { stats: { [hash(1)]: { seeds: 7 }, [hash(50)]: { seeds: 9 } } }
      },
    })
    const self = { ...owner(1), id: SELF } as SupernodeRecord
    const got = await s.scrape(
      [{ infoHash: hash(1), placement: { local: false, owners: [self, B] } }],
      local,
      {
        source: 'x',
      },
    )
    expect(calls).toEqual([`http://127.0.0.2:1/v1/stats?owned=1&ih=${hash(1)}`])
    expect(got).toEqual([{ infoHash: hash(1), complete: 7, incomplete: 0, downloaded: 0 }])
  })

  it('bounds its cache', async () => {
    const owners = fakeOwners()
    const { s } = scrapes(owners.fetchJson, { maxCached: 10 })
    await s.scrape(elsewhere(40), local, { source: 'x' })
    await s.scrape(elsewhere(40), local, { source: 'x' })
    // Only the last 10 answered were kept: the second ask asked again for 30.
    expect(owners.calls.slice(2).reduce((n, c) => n + c.hashes.length, 0)).toBe(30)
  })
})
