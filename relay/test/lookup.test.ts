// GET /v1/lookup/:infohash across three real relays on 127.0.0.1: once they know each
// other, every relay names the same two owners for a hash (rendezvous hashing over the same
// live set), the owners answer with the swarm's figures, the others with a referral that
// leads to them, and a bad hash is a 400.

import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rendezvousOwners } from '../../shared/rendezvous.ts'
import { getJson, removeTempDirs, waitFor } from './catalog-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { owningIds } from './supernode-helpers.ts'
import { announcePath } from './tracker-wire.ts'

const relays: RelayProcess[] = []
const ids: string[] = []
/** node id → the relay's test URL (127.0.0.1, as the test reaches it). */
const byId = new Map<string, RelayProcess>()

beforeAll(async () => {
  const args = ['--supernode-poll-interval', '1', '--local-network']
  const a = await startRelay({ args })
  relays.push(a)
  const b = await startRelay({ args: [...args, '--peer', a.url] })
  relays.push(b)
  const c = await startRelay({ args: [...args, '--peer', b.url] })
  relays.push(c)
  for (const r of relays) {
    const id = (await getJson(`${r.url}/v1/hello`)).body.id as string
    ids.push(id)
    byId.set(id, r)
  }
  ids.sort()
  for (const r of relays) {
    // Known and admitted: a joins alone (the seed), admits b and c (shared/admission.ts).
    await waitFor(`${r.url} owning with all three`, async () => {
      return JSON.stringify(await owningIds(r)) === JSON.stringify(ids)
    })
  }
})

afterAll(async () => {
  await Promise.all(relays.map((r) => r.stop()))
  removeTempDirs()
})

interface Owner {
  id: string
  urls: string[]
}
interface Lookup {
  owner: boolean
  owners: Owner[]
  swarm?: { seeds: number; leechers: number; downloads: number }
}

async function lookup(r: RelayProcess, hash: string): Promise<Lookup> {
  const { status, body } = await getJson(`${r.url}/v1/lookup/${hash}`)
  expect(status).toBe(200)
  return body as unknown as Lookup
}

describe('GET /v1/lookup/:infohash', () => {
  it('names the same two owners on every relay for 50 random hashes; owners say so', async () => {
    const owned = new Map<string, number>()
    for (let i = 0; i < 50; i++) {
      const hash = randomBytes(20).toString('hex')
      const answers = await Promise.all(relays.map((r) => lookup(r, hash)))
      const expected = rendezvousOwners(hash, ids)
      for (const [at, answer] of answers.entries()) {
        expect(answer.owners.map((o) => o.id)).toEqual(expected)
        const selfId = [...byId].find(([, r]) => r === relays[at])![0]
        expect(answer.owner).toBe(expected.includes(selfId))
        if (answer.owner) {
          expect(answer.swarm).toEqual({ seeds: 0, leechers: 0, downloads: 0 })
        } else {
          expect(answer).not.toHaveProperty('swarm')
        }
        for (const o of answer.owners) {
          expect(o.urls).toEqual([`http://localhost:${byId.get(o.id)!.port}`])
        }
      }
      // Following the referral: each owner, reached at the URL the referral names, owns it.
      for (const o of answers[0].owners) {
        const res = await fetch(`${o.urls[0]}/v1/lookup/${hash.toUpperCase()}`)
        expect(((await res.json()) as Lookup).owner).toBe(true)
        owned.set(o.id, (owned.get(o.id) ?? 0) + 1)
      }
    }
    // Three supernodes, two owners per hash: each owns about two thirds of the hashes.
    expect([...owned.keys()].sort()).toEqual(ids)
  })

  it("gives the owners' swarm counts, never peer addresses", async () => {
    const hash = randomBytes(20)
    const hex = hash.toString('hex')
    const [first] = rendezvousOwners(hex, ids)
    const owner = byId.get(first)!
    const peerId = randomBytes(20)
    const res = await fetch(`${owner.url}${announcePath({ infoHash: hash, peerId, port: 7001 })}`)
    expect(res.status).toBe(200)
    const answer = await lookup(owner, hex)
    expect(answer).toEqual({
      owner: true,
      owners: expect.any(Array),
      swarm: { seeds: 0, leechers: 1, downloads: 0 },
    })
    expect(JSON.stringify(answer)).not.toContain('7001')
  })

  it('refuses a bad info hash with 400 and a clear error', async () => {
    for (const bad of ['abc', 'g'.repeat(40), 'a'.repeat(39), 'a'.repeat(41), '%00'.repeat(20)]) {
      const { status, body } = await getJson(`${relays[0].url}/v1/lookup/${bad}`)
      expect(status).toBe(400)
      expect(body).toEqual({ error: 'info hash must be 40 hex chars', code: 'malformed' })
    }
  })
})
