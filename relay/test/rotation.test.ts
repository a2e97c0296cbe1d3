// Rotation and demotion, as real relay processes on 127.0.0.1:
// - a supernode that has served --rotation-interval seconds promotes a rested candidate and
//   steps down, handing its swarms to it;
// - an idle network with more supernodes than --min-supernodes demotes one (exactly one:
//   every relay picks the same, and the count then sits at the floor).

import { afterEach, describe, expect, it } from 'vitest'
import { getJson, logsWith, removeTempDirs, waitFor } from './catalog-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { knownSupernodes, nodeIdOf } from './supernode-helpers.ts'
import { announcePath, failureReason } from './tracker-wire.ts'

const COMMON = ['--supernode-poll-interval', '1', '--peer-poll-interval', '1', '--local-network']
const running: RelayProcess[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
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
    const args = ['--min-supernodes', '2', '--low-watermark', '0.5']
    const a = await relay(...args)
    const rest = await Promise.all([
      relay(...args, '--peer', a.url),
      relay(...args, '--peer', a.url),
    ])
    const all = [a, ...rest]
    const ids = await Promise.all(all.map(nodeIdOf))
    const count = async (r: RelayProcess) => {
      const view = await roles(r)
      return ids.filter((id) => view[id] === 'supernode').length
    }
    await waitFor('one supernode to step down, as every relay sees it', async () => {
      const counts = await Promise.all(all.map(count))
      return counts.every((n) => n === 2)
    })
    const stepped = all.filter((r) => logsWith(r.logs, 'stepped down to candidate').length > 0)
    expect(stepped).toHaveLength(1)
    expect(logsWith(stepped[0].logs, 'stepped down to candidate')[0]).toMatchObject({
      reason: 'underload',
    })
    // The floor holds: two more exchange rounds later, still two.
    await new Promise((r) => setTimeout(r, 3000))
    expect(await Promise.all(all.map(count))).toEqual([2, 2, 2])
  }, 90_000)
})
