// Rotation and demotion, as real relay processes on 127.0.0.1:
// - a supernode that has served --rotation-interval seconds promotes a rested candidate and
//   steps down, handing its swarms to it;
// - an idle network with more supernodes than --min-supernodes demotes one (exactly one:
//   every relay picks the same, and the count then sits at the floor).

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadNodeIdentity } from '../identity.ts'
import { getJson, logsWith, removeTempDirs, waitFor } from './catalog-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { knownSupernodes, nodeIdOf, owningIds } from './supernode-helpers.ts'
import { announcePath, failureReason } from './tracker-wire.ts'

const COMMON = ['--supernode-poll-interval', '1', '--peer-poll-interval', '1', '--local-network']
const running: RelayProcess[] = []
/** Data directories made here (node keys chosen up front). */
const dirs: string[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  removeTempDirs()
})

async function relay(...args: string[]): Promise<RelayProcess> {
  const r = await startRelay({ args: [...COMMON, ...args] })
  running.push(r)
  return r
}

async function roles(r: RelayProcess): Promise<Record<string, string>> {
  return Object.fromEntries((await knownSupernodes(r)).map((x) => [x.id, x.role]))
}

describe('rotation and demotion', () => {
  it('rotates a long-serving supernode out for a rested candidate, handing off its swarms', async () => {
    const a = await relay('--rotation-interval', '4')
    const b = await relay('--peer', a.url, '--role', 'candidate')
    const [idA, idB] = await Promise.all([nodeIdOf(a), nodeIdOf(b)])
    const infoHash = new Uint8Array(20).fill(0x42)
    const peerId = new TextEncoder().encode('-AZ2060-rotation0001')
    const res = await fetch(a.url + announcePath({ infoHash, peerId, port: 6881, left: 0 }))
    expect(failureReason(new Uint8Array(await res.arrayBuffer()))).toBeUndefined()

    await waitFor('A and B to swap roles', async () => {
      const [atA, atB] = await Promise.all([roles(a), roles(b)])
      return [atA, atB].every((r) => r[idA] === 'candidate' && r[idB] === 'supernode')
    })
    expect(logsWith(a.logs, 'candidate promoted')[0]).toMatchObject({ id: idB, reason: 'rotation' })
    expect(logsWith(a.logs, 'stepped down to candidate')[0]).toMatchObject({ reason: 'rotation' })
    const hex = Buffer.from(infoHash).toString('hex')
    await waitFor('B holding the swarm A tracked', async () => {
      const { body } = await getJson(`${b.url}/v1/lookup/${hex}`)
      return body.owner === true && (body.swarm as { seeds: number }).seeds === 1
    })
  }, 90_000)

  it('demotes exactly one supernode of an idle network above --min-supernodes', async () => {
    // Admission (shared/admission.ts) fills a network only up to --min-supernodes, so this
    // network gets above the floor the one way it can: A, the seed, admits volunteers up to
    // three, while B and C keep a floor of two. Every relay picks the least loaded supernode,
    // ties to the lowest id, to step down; A is given the highest id so that one is B or C.
    const keyDirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'monsoon-key-')))
    dirs.push(...keyDirs)
    const ids = keyDirs.map((dir) => loadNodeIdentity(dir).identity.id)
    const [highest, ...others] = keyDirs
      .map((dir, i) => ({ dir, id: ids[i] }))
      .sort((x, y) => (x.id < y.id ? 1 : -1))
    const down = ['--low-watermark', '0.5']
    const a = await relay(...down, '--min-supernodes', '3', '--data-dir', highest.dir)
    const rest = await Promise.all(
      others.map((o) =>
        relay(...down, '--min-supernodes', '2', '--peer', a.url, '--data-dir', o.dir),
      ),
    )
    const all = [a, ...rest]
    const steppedDown = () =>
      all.filter((r) => logsWith(r.logs, 'stepped down to candidate').length > 0)
    // All three admitted first (A admits up to three), then one steps down.
    await waitFor('a supernode to step down', async () => steppedDown().length > 0)
    await waitFor('two owners, as every relay sees it', async () => {
      const owning = await Promise.all(all.map(owningIds))
      return owning.every((o) => o.length === 2 && JSON.stringify(o) === JSON.stringify(owning[0]))
    })
    const stepped = steppedDown()
    expect(stepped).toHaveLength(1)
    expect(await nodeIdOf(stepped[0])).toBe(others.map((o) => o.id).sort()[0])
    expect(logsWith(stepped[0].logs, 'stepped down to candidate')[0]).toMatchObject({
      reason: 'underload',
    })
    // The floor holds: two more exchange rounds later, still two, and A admitted no one new.
    await new Promise((r) => setTimeout(r, 3000))
    expect((await Promise.all(all.map(owningIds))).map((o) => o.length)).toEqual([2, 2, 2])
  }, 90_000)
})
