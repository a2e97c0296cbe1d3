// The supernode network under load and loss, as five real relay processes on 127.0.0.1:
// A and B are supernodes, C, D and E candidates, all --peer A. Classic peers announce over
// HTTP; "lookups" are announces by fresh probe peers at every relay, which must each get the
// classic peers back whether the relay owns the hash (answers itself) or not (proxies).
//
// 1. A is overloaded (30 hashes against --max-torrents 40, high watermark 0.6): it promotes a
//    candidate, hashes move to it, and every lookup at every relay is still answered with the
//    same peers.
// 2. A supernode leaves with SIGTERM: a relay that newly owns one of its hashes holds that
//    hash's peers at once (its own /v1/lookup counts them), handed off, not re-announced.
// 3. An owner is killed with SIGKILL: every lookup is still answered with the same peers
//    through the next owner, and no listing is lost.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rendezvousOwners } from '../../shared/rendezvous.ts'
import { FastSigner } from '../catalog/test-support.ts'
import {
  allListings,
  getJson,
  listingsOf,
  logsWith,
  postJson,
  removeTempDirs,
  waitFor,
} from './catalog-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { knownSupernodes, nodeIdOf } from './supernode-helpers.ts'
import {
  announcePath,
  compactPeers,
  decodeDict,
  failureReason,
  scrapePath,
} from './tracker-wire.ts'

const HASHES = 30
const COMMON = ['--supernode-poll-interval', '1', '--peer-poll-interval', '1', '--local-network']

interface Node {
  name: string
  relay: RelayProcess
  id: string
}

const nodes: Node[] = []
const alive = () => nodes.filter((n) => n.relay.running())
const byId = (id: string) => nodes.find((n) => n.id === id)!

/** The info hash of test torrent i (20 bytes) and its hex. */
function hashOf(i: number): { bytes: Uint8Array; hex: string } {
  const bytes = new Uint8Array(20)
  bytes[0] = 0x5e
  bytes[1] = i
  bytes[19] = 0xaa
  return { bytes, hex: Buffer.from(bytes).toString('hex') }
}

function peerId(n: number): Uint8Array {
  const id = new TextEncoder().encode('-AZ2060-000000000000')
  id[12] = (n >> 16) & 0xff
  id[13] = (n >> 8) & 0xff
  id[14] = n & 0xff
  return id
}

/** The two classic peers of hash i: a seeder on port 20000+2i, a leecher on the next. */
const classicPorts = (i: number) => [20_000 + 2 * i, 20_001 + 2 * i]

async function announce(url: string, i: number, peer: number, port: number, left: number) {
  const res = await fetch(
    url +
      announcePath({ infoHash: hashOf(i).bytes, peerId: peerId(peer), port, left, numwant: 200 }),
  )
  const body = new Uint8Array(await res.arrayBuffer())
  const failure = failureReason(body)
  if (failure !== undefined) throw new Error(`${url}: ${failure}`)
  return compactPeers(decodeDict(body).peers).map((p) => p.port)
}

let probes = 0
/** A fresh leecher's announce for hash i at `url`: the ports of the peers it is given. */
function lookup(url: string, i: number): Promise<number[]> {
  probes++
  return announce(url, i, 100_000 + probes, 40_000 + (probes % 20_000), 500)
}

/** Every hash, looked up at every running relay, answers with both classic peers; its
 * figures (the catalog's /v1/stats, the tracker's scrape) are the owners' wherever asked. */
async function everyLookupAnswered(): Promise<void> {
  for (const node of alive()) {
    const query = Array.from({ length: HASHES }, (_, i) => `ih=${hashOf(i).hex}`).join('&')
    const { body } = await getJson(`${node.relay.url}/v1/stats?${query}`)
    const stats = body.stats as Record<string, { seeds: number }>
    for (let i = 0; i < HASHES; i++) {
      expect(stats[hashOf(i).hex].seeds, `seeds of hash ${i} at ${node.name}`).toBe(1)
    }
    const scrape = await fetch(node.relay.url + scrapePath([hashOf(0).bytes, hashOf(1).bytes]))
    const files = decodeDict(new Uint8Array(await scrape.arrayBuffer())).files as Record<
      string,
      { complete: number }
    >
    expect(Object.values(files).map((f) => f.complete)).toEqual([1, 1])
    const answers = await Promise.all(
      Array.from({ length: HASHES }, (_, i) => lookup(node.relay.url, i)),
    )
    answers.forEach((ports, i) => {
      expect(ports, `hash ${i} at ${node.name}`).toEqual(expect.arrayContaining(classicPorts(i)))
    })
  }
}

async function supernodeIds(n: Node): Promise<string[]> {
  return (await knownSupernodes(n.relay))
    .filter((r) => r.role === 'supernode')
    .map((r) => r.id)
    .sort()
}

/** Waits until every running relay names the same supernodes; returns them. */
async function agreedSupernodes(what: string, check: (ids: string[]) => boolean) {
  return waitFor(what, async () => {
    const views = await Promise.all(alive().map(supernodeIds))
    const first = JSON.stringify(views[0])
    return views.every((v) => JSON.stringify(v) === first) && check(views[0]) ? views[0] : null
  })
}

beforeAll(async () => {
  const a = await startRelay({
    args: [...COMMON, '--max-torrents', '40', '--high-watermark', '0.6'],
  })
  const others = await Promise.all([
    startRelay({ args: [...COMMON, '--peer', a.url] }),
    ...[0, 1, 2].map(() =>
      startRelay({ args: [...COMMON, '--peer', a.url, '--role', 'candidate'] }),
    ),
  ])
  const all = [a, ...others]
  const ids = await Promise.all(all.map(nodeIdOf))
  all.forEach((relay, i) => nodes.push({ name: 'ABCDE'[i], relay, id: ids[i] }))
  for (const n of nodes) {
    await waitFor(`${n.name} knowing all five relays`, async () => {
      return (await knownSupernodes(n.relay)).length === 5
    })
  }
}, 120_000)

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.relay.stop()))
  removeTempDirs()
})

describe('supernode election, handoff and failover (5 relays)', () => {
  it('promotes a candidate when a supernode is overloaded; every lookup keeps its peers', async () => {
    const [a] = nodes
    expect(await supernodeIds(a)).toEqual([nodes[0].id, nodes[1].id].sort())
    for (let i = 0; i < HASHES; i++) {
      const [seed, leech] = classicPorts(i)
      await announce(a.relay.url, i, 2 * i, seed, 0)
      await announce(a.relay.url, i, 2 * i + 1, leech, 1000)
    }
    const supernodes = await agreedSupernodes(
      'a candidate promoted everywhere',
      (ids) => ids.length >= 3,
    )
    const promoted = supernodes.filter((id) => id !== nodes[0].id && id !== nodes[1].id)
    expect(promoted.length).toBeGreaterThan(0)
    const newcomer = byId(promoted[0])
    expect(logsWith(a.relay.logs, 'candidate promoted').length).toBeGreaterThan(0)
    expect(logsWith(newcomer.relay.logs, 'promoted to supernode')).toHaveLength(1)
    // Hashes moved: A tracks fewer, and the newcomer holds those it now owns.
    const owned = Array.from({ length: HASHES }, (_, i) => i).filter((i) =>
      rendezvousOwners(hashOf(i).hex, supernodes).includes(newcomer.id),
    )
    expect(owned.length).toBeGreaterThan(0)
    await waitFor('the newcomer holding its hashes', async () => {
      const counts = await Promise.all(owned.map((i) => swarmAt(newcomer, i)))
      return counts.every((c) => c !== null && c.seeds + c.leechers >= 2)
    })
    await everyLookupAnswered()
  }, 120_000)

  it('hands off its swarms when a supernode leaves gracefully (SIGTERM)', async () => {
    const before = await agreedSupernodes('agreement', () => true)
    // Leave: a supernode other than A (A stays as the peers' entry point).
    const leaving = byId(before.find((id) => id !== nodes[0].id)!)
    const after = before.filter((id) => id !== leaving.id)
    // A hash the leaver owned whose owners now include a relay that did not hold it.
    const moved = Array.from({ length: HASHES }, (_, i) => i).flatMap((i) => {
      const was = rendezvousOwners(hashOf(i).hex, before)
      const now = rendezvousOwners(hashOf(i).hex, after)
      const fresh = now.filter((id) => !was.includes(id))
      return was.includes(leaving.id) && fresh.length ? [{ i, to: byId(fresh[0]) }] : []
    })
    expect(moved.length).toBeGreaterThan(0)
    expect(await leaving.relay.stop()).toBe(0)
    const [left] = logsWith(leaving.relay.logs, 'supernode left')
    expect(left.handoffs).toBeGreaterThan(0)
    for (const { i, to } of moved) {
      await waitFor(`${to.name} holding hash ${i} after the leave`, async () => {
        const swarm = await swarmAt(to, i)
        return swarm !== null && swarm.seeds >= 1 && swarm.leechers >= 1
      })
    }
    await everyLookupAnswered()
  }, 120_000)

  it('answers every lookup through the next owner when an owner is SIGKILLed; no listing is lost', async () => {
    const [a] = nodes
    const listings = listingsOf(new FastSigner(), 0, 20)
    expect((await postJson(a.relay.url, { listings })).status).toBe(200)
    for (const n of alive()) {
      await waitFor(`${n.name} to have every listing`, async () =>
        (await allListings(n.relay.url)).length === listings.length ? true : undefined,
      )
    }
    const supernodes = await agreedSupernodes('agreement', () => true)
    // The first owner of hash 0, unless that is A (the entry point the test keeps).
    const victim = byId(
      rendezvousOwners(hashOf(0).hex, supernodes).find((id) => id !== nodes[0].id)!,
    )
    victim.relay.child.kill('SIGKILL')
    await waitFor('the victim to be gone', async () => !victim.relay.running())
    await everyLookupAnswered()
    for (const n of alive()) {
      expect((await allListings(n.relay.url)).map((l) => l.sig).sort()).toEqual(
        listings.map((l) => l.sig).sort(),
      )
    }
  }, 120_000)
})

/** The swarm counts a relay gives for hash i from its own tracker, or null if it does not
 * own the hash (as it sees the network). */
async function swarmAt(n: Node, i: number) {
  const { body } = await getJson(`${n.relay.url}/v1/lookup/${hashOf(i).hex}`)
  if (body.owner !== true) return null
  return body.swarm as { seeds: number; leechers: number }
}
