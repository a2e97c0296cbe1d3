// Supernodes leaving, as real processes on 127.0.0.1 (A; B and C --peer A): a supernode
// killed with SIGKILL stops answering pulls and, after MAX_MISSED_CONTACTS misses, its
// hashes fall to the next owners on every relay, with no listing lost; one stopped with
// SIGTERM pushes its own signed demotion ('candidate', higher seq) before exiting.

import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { Listing } from '../../shared/listing.ts'
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
import { knownSupernodes, nodeIdOf, owningIds } from './supernode-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'

const running: RelayProcess[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
})
afterAll(removeTempDirs)

async function relay(...args: string[]): Promise<RelayProcess> {
  const r = await startRelay({
    args: [
      '--supernode-poll-interval',
      '1',
      '--peer-poll-interval',
      '1',
      '--local-network',
      ...args,
    ],
  })
  running.push(r)
  return r
}

async function ownersAt(r: RelayProcess, hash: string): Promise<string[]> {
  const { status, body } = await getJson(`${r.url}/v1/lookup/${hash}`)
  expect(status).toBe(200)
  return (body.owners as { id: string }[]).map((o) => o.id)
}

/** A, B --peer A, C --peer A, once each knows all three supernodes as owners (admitted). */
async function network() {
  const a = await relay()
  const [b, c] = await Promise.all([relay('--peer', a.url), relay('--peer', a.url)])
  const [idA, idB, idC] = await Promise.all([a, b, c].map(nodeIdOf))
  const all = [idA, idB, idC].sort()
  for (const r of [a, b, c]) {
    await waitFor(`${r.url} owning with all three`, async () => {
      return JSON.stringify(await owningIds(r)) === JSON.stringify(all)
    })
  }
  return { a, b, c, idA, idB, idC }
}

function sigs(listings: Listing[]): string[] {
  return listings.map((l) => l.sig).sort()
}

describe('failover', () => {
  it("a SIGKILLed supernode's hashes fall to the next owners; no listing is lost", async () => {
    const { a, b, c, idA, idB, idC } = await network()
    const listings = listingsOf(new FastSigner(), 0, 30)
    expect((await postJson(a.url, { listings })).status).toBe(200)
    await waitFor('C to have every listing', async () =>
      (await allListings(c.url)).length === listings.length ? true : undefined,
    )
    // The hashes B owns, as every relay names them before the kill.
    const ofB = listings
      .map((l) => l.infoHash)
      .filter((h) => rendezvousOwners(h, [idA, idB, idC]).includes(idB))
    expect(ofB.length).toBeGreaterThan(0)
    for (const h of ofB) expect(await ownersAt(c, h)).toContain(idB)

    b.child.kill('SIGKILL')
    for (const r of [a, c]) {
      await waitFor(`${r.url} leaving B out of the owners`, async () => {
        for (const h of ofB) if ((await ownersAt(r, h)).includes(idB)) return false
        return true
      })
    }
    for (const r of [a, c]) {
      for (const h of ofB) {
        const owners = await ownersAt(r, h)
        expect(owners).toEqual(rendezvousOwners(h, [idA, idC]))
        // Each next owner, asked directly, says it owns the hash.
        for (const [id, owner] of [
          [idA, a],
          [idC, c],
        ] as const) {
          if (!owners.includes(id)) continue
          expect((await getJson(`${owner.url}/v1/lookup/${h}`)).body.owner).toBe(true)
        }
      }
      expect((await knownSupernodes(r)).map((x) => x.id)).not.toContain(idB)
    }
    expect(logsWith(a.logs, 'supernode unreachable, left out of the owner set')).toEqual([
      expect.objectContaining({ id: idB }),
    ])
    for (const r of [a, c]) expect(sigs(await allListings(r.url))).toEqual(sigs(listings))
  })
})

describe('graceful leave', () => {
  it('SIGTERM: the leaving supernode pushes its own signed demotion to every supernode', async () => {
    const { a, b, c, idB } = await network()
    const before = (await getJson(`${b.url}/v1/hello`)).body.seq as number
    const hash = Array.from({ length: 40 }, () => 'f').join('')
    expect(await b.stop()).toBe(0)
    running.splice(running.indexOf(b), 1)
    expect(logsWith(b.logs, 'supernode left')).toEqual([
      expect.objectContaining({ id: idB, told: 2 }),
    ])
    for (const r of [a, c]) {
      // Verified with B's key: the role change is B's own word, not a guess of A's or C's.
      const record = (await knownSupernodes(r)).find((x) => x.id === idB)
      expect(record).toMatchObject({ role: 'candidate' })
      expect(record!.seq).toBeGreaterThan(before)
      expect(await ownersAt(r, hash)).not.toContain(idB)
    }
  })
})
