// Issue 4's acceptance, end to end: five relays on one machine, one overloaded, then one
// killed, while browsers keep looking up and downloading.
//
// A and B are supernodes, C, D and E candidates, all --peer A; A has room for 40 hashes and
// a high watermark of 0.6. Two browsers (a seeder on A's page, a leecher on B's):
//   1. share and download a first file while A and B own every hash;
//   2. A is overloaded by classic HTTP announces (27 hashes, two peers each): it promotes a
//      candidate X, every relay lists three supernodes and so does the browser's network
//      view; X holds the swarms of the hashes it now owns (handed off, not re-announced),
//      every relay answers a fresh peer's lookup of every such hash with its classic peers,
//      and a second file, owned by X, downloads;
//   3. X is killed with SIGKILL while it owns a third file the seeder announced to it; the
//      leecher still downloads it, and meanwhile every surviving relay still answers the
//      lookups with the classic peers.
// Bytes are compared by sha256; each file's bytes are picked so that its owners are the
// relays the step is about (shared/rendezvous.ts, what the relays and the app compute).

import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import type { Page, TestInfo } from '@playwright/test'
import { rendezvousOwners } from '../shared/rendezvous.ts'
import {
  announcePath,
  compactPeers,
  decodeDict,
  failureReason,
} from '../relay/test/tracker-wire.ts'
import { expect, shot, test } from './fixtures.ts'
import { freePort, relayNodeId, startRelay, supernodesListed, type RunningRelay } from './relay.ts'
import { recordTrackerTraffic } from './tracker-log.ts'
import {
  contentWithOwners,
  networkView,
  openShared,
  saveAndCompare,
  share,
  tracker,
  trackersOf,
} from './sharing.ts'

/** Relays that meet within a second or two and ask browsers to announce every two seconds,
 * so referrals and moves are seen soon. */
const FAST = ['--local-network', '--supernode-poll-interval', '1', '--ws-announce-interval', '2']
/** A's capacity and watermark: overloaded past 24 hashes. */
const A_MAX_TORRENTS = 40
const A_HIGH_WATERMARK = 0.6
/** Hashes announced to A by classic peers: 27 (plus the first file's) put A past 24. */
const CLASSIC_HASHES = 27
/** Most of those A may own once any one candidate is promoted: with the three files, A stays
 * under its watermark, so exactly one candidate is promoted. */
const A_OWNS_AFTER_PROMOTION = 19
const FILE_SIZE = 2 * 1024 * 1024

interface Node {
  name: string
  relay: RunningRelay
  id: string
  alive: boolean
}

/** A fresh random 20-byte id for a classic peer (Azureus style). */
const peerId = () => Buffer.concat([Buffer.from('-MS0001-'), randomBytes(12)])

/** A classic HTTP announce; the ports of the peers the relay answers with. */
async function announce(url: string, infoHash: string, port: number, left: number) {
  const path = announcePath({
    infoHash: Buffer.from(infoHash, 'hex'),
    peerId: peerId(),
    port,
    left,
    numwant: 200,
  })
  const body = new Uint8Array(await (await fetch(url + path)).arrayBuffer())
  const failure = failureReason(body)
  if (failure !== undefined) throw new Error(`${url}: ${failure}`)
  return compactPeers(decodeDict(body).peers).map((p) => p.port)
}

/** The classic seeder's and leecher's ports for overload hash i. */
const classicPorts = (i: number) => [20_000 + 2 * i, 20_001 + 2 * i]

/** Overload hashes A owns at most A_OWNS_AFTER_PROMOTION of, whichever candidate is promoted. */
function overloadHashes(a: string, b: string, candidates: string[]): string[] {
  for (;;) {
    const hashes = Array.from({ length: CLASSIC_HASHES }, () => randomBytes(20).toString('hex'))
    const ownedByA = (c: string) =>
      hashes.filter((h) => rendezvousOwners(h, [a, b, c]).includes(a)).length
    if (candidates.every((c) => ownedByA(c) <= A_OWNS_AFTER_PROMOTION)) return hashes
  }
}

let probePort = 40_000
/** Every overload hash looked up at every relay of `at` by a fresh leecher: the lookups that
 * did not get both classic peers back (empty when all did). */
async function missedLookups(at: Node[], hashes: string[]): Promise<string[]> {
  const missed: string[] = []
  for (const node of at) {
    const answers = await Promise.all(
      hashes.map((h) => announce(node.relay.url, h, probePort++, 500).catch((): number[] => [])),
    )
    answers.forEach((ports, i) => {
      if (!classicPorts(i).every((p) => ports.includes(p))) missed.push(`hash ${i} at ${node.name}`)
    })
  }
  return missed
}

/** A relay's supernodes (role supernode) as its GET /v1/supernodes lists them, sorted ids. */
async function supernodesAt(node: Node): Promise<string[]> {
  const body = (await (await fetch(`${node.relay.url}/v1/supernodes`)).json()) as {
    supernodes: { id: string; role: string }[]
  }
  return body.supernodes
    .filter((r) => r.role === 'supernode')
    .map((r) => r.id)
    .sort()
}

/** Waits until every relay of `at` lists the same supernodes, `count` of them; returns them. */
async function agreedSupernodes(at: Node[], count: number): Promise<string[]> {
  let agreed: string[] = []
  await expect
    .poll(
      async () => {
        const views = await Promise.all(at.map(supernodesAt))
        const same = views.every((v) => JSON.stringify(v) === JSON.stringify(views[0]))
        agreed = views[0]
        return same ? agreed.length : -1
      },
      { message: `every relay listing the same ${count} supernodes`, timeout: 60_000 },
    )
    .toBe(count)
  return agreed
}

/** The network view's supernode rows of the given role. */
const rowsWithRole = (page: Page, role: string) =>
  page.locator(`[data-testid="supernode"][data-role="${role}"]`)

async function writeSample(testInfo: TestInfo, name: string, data: Buffer): Promise<string> {
  const path = testInfo.outputPath(name)
  await writeFile(path, data)
  return path
}

async function startNetwork(): Promise<Node[]> {
  const ports = await Promise.all([0, 1, 2, 3, 4].map(() => freePort()))
  const aUrl = `http://127.0.0.1:${ports[0]}`
  const started = await Promise.allSettled(
    ports.map((port, i) =>
      startRelay({
        port,
        peers: i === 0 ? [] : [aUrl],
        args: [
          ...FAST,
          ...(i === 0
            ? [
                '--max-torrents',
                String(A_MAX_TORRENTS),
                '--high-watermark',
                String(A_HIGH_WATERMARK),
              ]
            : []),
          ...(i >= 2 ? ['--role', 'candidate'] : []),
        ],
      }),
    ),
  )
  const relays = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
  const failed = started.find((s) => s.status === 'rejected')
  if (failed) {
    await Promise.all(relays.map((r) => r.stop()))
    throw failed.reason
  }
  const ids = await Promise.all(relays.map((r) => relayNodeId(r.url)))
  return relays.map((relay, i) => ({ name: 'ABCDE'[i], relay, id: ids[i], alive: true }))
}

// The stall this test used to hit after the promotion, in about 1 of 7 runs on a loaded
// machine (second download never connecting, both browsers announcing to the new owners),
// was WebTorrent keeping a dead WebRTC attempt and refusing every fresh one from the same
// peer: the seeder had answered an offer the leecher dropped when it re-homed. Fixed in
// app/lib/engine/pending-peers.ts (replayed on the real bundle in its unit test); 12 runs under
// the same load passed since. One retry stays until full CI runs have shown it gone; on
// failure this test writes both pages' tracker traffic and what every relay holds.
test.describe.configure({ retries: 1 })

test('five relays: one overloaded promotes a candidate, one killed, and the browsers keep downloading', async ({
  browser,
}, testInfo) => {
  const nodes = await startNetwork()
  const contexts = []
  // On failure: every tracker frame of both pages, and what each relay holds for each file.
  const traffic: string[] = []
  const files: string[] = []
  try {
    const [a, b, ...candidates] = nodes
    const alive = () => nodes.filter((n) => n.alive)
    const byId = (id: string) => nodes.find((n) => n.id === id)!
    // Every relay knows all five records (two supernodes, three candidates) first.
    for (const n of nodes) {
      await expect
        .poll(() => supernodesListed(n.relay.url), {
          message: `${n.name} knowing all five relays`,
          timeout: 60_000,
        })
        .toBe(5)
    }
    expect(await agreedSupernodes(nodes, 2)).toEqual([a.id, b.id].sort())

    const seeder = await browser.newContext({ baseURL: a.relay.url })
    const leecher = await browser.newContext({ baseURL: b.relay.url })
    contexts.push(seeder, leecher)
    const s = await seeder.newPage()
    const l = await leecher.newPage()
    const t0 = Date.now()
    recordTrackerTraffic(s, 'seeder', traffic, t0)
    recordTrackerTraffic(l, 'leecher', traffic, t0)
    await Promise.all([s.goto('/'), l.goto('/')])

    await test.step('1. a file shared while A and B own every hash downloads', async () => {
      const name = 'first.bin'
      const first = contentWithOwners(name, FILE_SIZE, [a.id, b.id], () => true)
      files.push(first.infoHash)
      const shareUrl = await share(s, await writeSample(testInfo, name, first.data), first.infoHash)
      await openShared(l, shareUrl, name)
      await saveAndCompare(l, name, first.data)
      await shot(l, testInfo, 'supernodes-1-first-download')
    })

    const hashes = overloadHashes(
      a.id,
      b.id,
      candidates.map((c) => c.id),
    )
    let promoted!: Node
    let supernodes: string[] = []

    await test.step('2. A overloaded: a candidate is promoted everywhere, and a file it owns downloads', async () => {
      for (const [i, hash] of hashes.entries()) {
        const [seedPort, leechPort] = classicPorts(i)
        await announce(a.relay.url, hash, seedPort, 0)
        await announce(a.relay.url, hash, leechPort, 1000)
      }
      supernodes = await agreedSupernodes(nodes, 3)
      const newcomers = supernodes.filter((id) => id !== a.id && id !== b.id)
      expect(newcomers).toHaveLength(1)
      promoted = byId(newcomers[0])
      expect(candidates).toContain(promoted)

      // The browser checks the records itself: three supernodes, the promoted one among them.
      await networkView(s)
      await expect(rowsWithRole(s, 'supernode')).toHaveCount(3, { timeout: 30_000 })
      await expect(rowsWithRole(s, 'candidate')).toHaveCount(2)
      await expect(
        s.locator(`[data-testid="supernode"][data-id="${promoted.id}"]`),
      ).toHaveAttribute('data-role', 'supernode')
      await shot(s, testInfo, 'supernodes-2-promoted-network')

      // The promoted relay holds the classic peers of the hashes it now owns without their
      // announcing again: the old owners handed the swarms off.
      const moved = hashes.filter((h) => rendezvousOwners(h, supernodes).includes(promoted.id))
      expect(moved.length).toBeGreaterThan(0)
      await expect
        .poll(
          async () => {
            let held = 0
            for (const h of moved) {
              const body = (await (await fetch(`${promoted.relay.url}/v1/lookup/${h}`)).json()) as {
                owner: boolean
                swarm?: { seeds: number; leechers: number }
              }
              if (body.owner && body.swarm && body.swarm.seeds + body.swarm.leechers >= 2) held++
            }
            return held
          },
          { message: `${promoted.name} holding the swarms it now owns`, timeout: 30_000 },
        )
        .toBe(moved.length)
      expect(await missedLookups(alive(), hashes)).toEqual([])

      const name = 'second.bin'
      const second = contentWithOwners(
        name,
        FILE_SIZE,
        supernodes,
        (owners) => owners.includes(promoted.id) && !owners.includes(a.id),
      )
      files.push(second.infoHash)
      const shareUrl = await share(
        s,
        await writeSample(testInfo, name, second.data),
        second.infoHash,
      )
      await openShared(l, shareUrl, name)
      await saveAndCompare(l, name, second.data)
      await networkView(l)
      await expect(trackersOf(l, second.infoHash)).toHaveText(
        second.owners.map((id) => new RegExp(tracker(byId(id).relay))),
        { timeout: 30_000 },
      )
      await shot(l, testInfo, 'supernodes-2-second-download-network')
    })

    await test.step('3. an owner killed: the third file still downloads, lookups still answered', async () => {
      const name = 'third.bin'
      const third = contentWithOwners(
        name,
        FILE_SIZE,
        supernodes,
        (owners) => owners.includes(promoted.id) && !owners.includes(a.id),
      )
      files.push(third.infoHash)
      const shareUrl = await share(s, await writeSample(testInfo, name, third.data), third.infoHash)
      // The seeder announces to both owners, the doomed one among them, before it dies.
      await networkView(s)
      await expect(trackersOf(s, third.infoHash)).toHaveText(
        third.owners.map((id) => new RegExp(tracker(byId(id).relay))),
        { timeout: 30_000 },
      )

      await promoted.relay.stop('SIGKILL')
      promoted.alive = false
      const survivors = alive()

      // The leecher comes after the death; meanwhile fresh peers look the classic hashes up at
      // every surviving relay, until one round at every relay gets every hash's peers.
      let rounds = 0
      const lookups = expect
        .poll(
          async () => {
            rounds++
            return missedLookups(survivors, hashes)
          },
          { message: 'every lookup at every survivor answered', timeout: 60_000 },
        )
        .toEqual([])
      await Promise.all([
        lookups,
        openShared(l, shareUrl, name).then(() => saveAndCompare(l, name, third.data)),
      ])
      testInfo.annotations.push({
        type: 'lookup rounds after the kill',
        description: `${rounds} (each: ${hashes.length} hashes at ${survivors.length} relays)`,
      })
      await shot(l, testInfo, 'supernodes-3-third-download')

      // Both browsers move the torrent off the dead relay.
      for (const page of [s, l]) {
        await networkView(page)
        await expect(trackersOf(page, third.infoHash)).not.toContainText(
          [tracker(promoted.relay)],
          { timeout: 30_000 },
        )
      }
      await shot(l, testInfo, 'supernodes-3-after-kill-network')
    })
  } catch (err) {
    const held: string[] = []
    for (const n of nodes.filter((x) => x.alive)) {
      for (const h of files) {
        const body = await fetch(`${n.relay.url}/v1/lookup/${h}`).then(
          (r) => r.text(),
          (e: unknown) => String(e),
        )
        held.push(`${n.name} (${n.relay.port}, ${n.id.slice(0, 8)}) ${h.slice(0, 8)}: ${body}`)
      }
    }
    // A file beside the test's other output (a body-only attachment reaches only some
    // reporters), attached too.
    const path = testInfo.outputPath('tracker-traffic.txt')
    await writeFile(path, [...held, '', ...traffic].join('\n'))
    await testInfo.attach('tracker-traffic.txt', { path, contentType: 'text/plain' })
    throw err
  } finally {
    await Promise.all(contexts.map((c) => c.close()))
    await Promise.all(nodes.map((n) => n.relay.stop()))
  }
})
