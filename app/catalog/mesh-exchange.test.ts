// The page's CatalogExchange: two browsers' exchanges, each over a real catalog replica (in
// memory) and a real host cache, pulling each other's pages as the mesh does.

import { describe, expect, it } from 'vitest'
import { createIdentity } from '../../shared/identity.ts'
import { createListing } from '../../shared/listing.ts'
import { MAX_SUPERNODE_RECORD_AGE_SECONDS } from '../../shared/limits.ts'
import type { PageKind } from '../../shared/mesh/messages.ts'
import { createSupernodeRecord, type SupernodeRecord } from '../../shared/supernode.ts'
import { sampleDraft } from '../../relay/catalog/test-support.ts'
import { PageHostCache, type HostStore } from '../lib/bootstrap/host-cache.ts'
import type { CatalogExchange } from '../lib/mesh/types.ts'
import { memoryCatalogStorage, replicaWorker } from '../workers/catalog-test-support.ts'
import { pageCatalogExchange } from './mesh-exchange.ts'

const NOW = 1_764_115_200_000
const NOW_S = NOW / 1000

function memoryStore(): HostStore {
  const items = new Map<string, string>()
  return { getItem: (k) => items.get(k) ?? null, setItem: (k, v) => void items.set(k, v) }
}

function supernode(url: string, seq = 1, ts = NOW_S, who = createIdentity()): SupernodeRecord {
  return createSupernodeRecord(
    {
      urls: [url],
      role: 'candidate',
      capacity: { maxHashes: 1000, maxPeers: 10_000, bandwidth: 1_000_000 },
      load: { hashes: 0, peers: 0, bandwidth: 0 },
    },
    who,
    { seq, ts },
  )
}

function browser(known: SupernodeRecord[] = [], localNetwork = false) {
  const worker = replicaWorker(undefined, memoryCatalogStorage(), () => NOW)
  const hosts = new PageHostCache(memoryStore(), localNetwork)
  const view = { records: known }
  const exchange = pageCatalogExchange({
    listings: worker.listings,
    supernodes: () => view.records,
    hosts,
    now: () => NOW,
  })
  return { worker, hosts, view, exchange }
}

/** Every record of `kind` after `cursor`, page by page, as a neighbour pulls them. */
async function pullAll(exchange: CatalogExchange, kind: PageKind, cursor = 0, limit = 3) {
  const records: string[] = []
  for (let guard = 0; guard < 100; guard++) {
    const page = await exchange.page(kind, cursor, limit)
    expect(page.records.length).toBeLessThanOrEqual(limit)
    records.push(...page.records)
    cursor = page.next
    if (!page.more) return { records, cursor }
  }
  throw new Error('pages never ended')
}

describe('listings', () => {
  it('a browser that pulls a neighbour’s listing pages ends with its index, and a forged one is refused', async () => {
    const a = browser()
    const b = browser()
    const author = createIdentity()
    const listings = Array.from({ length: 8 }, (_, i) =>
      createListing(sampleDraft(i), author, { seq: 1, ts: NOW_S }),
    )
    await a.exchange.accept(
      'listings',
      listings.map((l) => JSON.stringify(l)),
    )
    const { records } = await pullAll(a.exchange, 'listings')
    const forged = JSON.stringify({ ...listings[0], seq: 2, name: 'Not what was signed' })
    expect(await b.exchange.accept('listings', [...records, forged])).toEqual({
      stored: 8,
      refused: 1,
    })
    expect(b.worker.storage.listings.size).toBe(8)
  })
})

describe('supernodes', () => {
  it('serves the records this page knows, in the order learned, and a cursor moves on', async () => {
    const known = [
      supernode('https://one.monsoon.network'),
      supernode('https://two.monsoon.network'),
    ]
    const a = browser(known)
    const first = await pullAll(a.exchange, 'supernodes')
    expect(first.records.map((r) => JSON.parse(r))).toEqual(known)
    // Nothing new: an empty page at the same cursor.
    expect(await a.exchange.page('supernodes', first.cursor, 10)).toEqual({
      records: [],
      next: first.cursor,
      more: false,
    })
    // The relay's list gains a newer record of one node: only that one is new.
    const newer = supernode('https://one.monsoon.network', 2, NOW_S, undefined)
    a.view.records = [...known, newer]
    expect((await pullAll(a.exchange, 'supernodes', first.cursor)).records).toEqual([
      JSON.stringify(newer),
    ])
  })

  it('accepts verified records, puts their relays in the host cache, and refuses forged ones', async () => {
    const who = createIdentity()
    const good = supernode('https://relay.monsoon.network', 5, NOW_S, who)
    const older = supernode('https://relay.monsoon.network', 4, NOW_S, who)
    const tampered = {
      ...supernode('https://evil.monsoon.network'),
      urls: ['https://x.monsoon.network'],
    }
    const wrongKey = { ...supernode('https://a.monsoon.network'), id: who.id }
    const expired = supernode(
      'https://old.monsoon.network',
      1,
      NOW_S - MAX_SUPERNODE_RECORD_AGE_SECONDS - 1,
    )
    const future = supernode('https://later.monsoon.network', 1, NOW_S + 86_400)
    const lan = supernode('http://192.168.1.9:8080')
    const b = browser()
    const result = await b.exchange.accept('supernodes', [
      JSON.stringify(good),
      JSON.stringify(older),
      JSON.stringify(tampered),
      JSON.stringify(wrongKey),
      JSON.stringify(expired),
      JSON.stringify(future),
      JSON.stringify(lan),
      '{"v":1}',
      'not json',
      'x'.repeat(9000),
    ])
    expect(result).toEqual({ stored: 2, refused: 7 })
    // The LAN relay's record is genuine and passed on, but this public page will not contact it.
    expect(b.hosts.urls()).toEqual(['https://relay.monsoon.network'])
    const passed = (await pullAll(b.exchange, 'supernodes')).records.map((r) => JSON.parse(r))
    expect(passed).toEqual([good, lan])
  })

  it('stops passing on a record once a node would no longer take it', async () => {
    const old = supernode(
      'https://one.monsoon.network',
      1,
      NOW_S - MAX_SUPERNODE_RECORD_AGE_SECONDS + 10,
    )
    const a = browser([old])
    expect((await pullAll(a.exchange, 'supernodes')).records).toHaveLength(1)
    const later = pageCatalogExchange({
      listings: a.worker.listings,
      supernodes: () => [old],
      hosts: a.hosts,
      now: () => NOW + 60_000,
    })
    expect((await pullAll(later, 'supernodes')).records).toEqual([])
  })
})

describe('hosts', () => {
  it('a neighbour’s host cache reaches this one; refused rows are counted', async () => {
    const a = browser()
    a.hosts.saveFound(['https://one.monsoon.network', 'https://two.monsoon.network'])
    const page = await pullAll(a.exchange, 'hosts')
    expect(page.records.map((r) => JSON.parse(r))).toEqual([
      { url: 'https://one.monsoon.network' },
      { url: 'https://two.monsoon.network' },
    ])
    const b = browser()
    const result = await b.exchange.accept('hosts', [
      ...page.records,
      JSON.stringify({ url: 'http://127.0.0.1:8080' }),
      JSON.stringify({ url: 'file:///etc/passwd' }),
      JSON.stringify({ href: 'https://three.monsoon.network' }),
      JSON.stringify('https://three.monsoon.network'),
      '[',
    ])
    expect(result).toEqual({ stored: 2, refused: 5 })
    expect(b.hosts.urls()).toEqual(['https://one.monsoon.network', 'https://two.monsoon.network'])
  })

  it('on a local network (a page from loopback) takes loopback relays', async () => {
    const b = browser([], true)
    expect(
      await b.exchange.accept('hosts', [JSON.stringify({ url: 'http://127.0.0.1:8080' })]),
    ).toEqual({ stored: 1, refused: 0 })
  })

  it('serves each host once, and a thousand hosts in bounded pages', async () => {
    const a = browser()
    a.hosts.saveFound(Array.from({ length: 1000 }, (_, i) => `https://r${i}.monsoon.network`))
    const all = await pullAll(a.exchange, 'hosts', 0, 64)
    expect(new Set(all.records).size).toBe(all.records.length)
    expect(all.records.length).toBeLessThanOrEqual(128)
  })
})
