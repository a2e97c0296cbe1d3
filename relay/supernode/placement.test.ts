import { describe, expect, it, vi } from 'vitest'
import { RendezvousSet, rendezvousOwners } from '../../shared/rendezvous.ts'
import type { SupernodeRecord } from '../../shared/supernode.ts'
import { MAX_PLACEMENT_MEMO } from '../limits.ts'
import type { SupernodeDirectory } from './directory.ts'
import { Placement } from './placement.ts'

const id = (n: number) => n.toString(16).padStart(64, '0')
const hash = (n: number) => n.toString(16).padStart(40, '0')

/** The directory's part Placement reads: an owner set that can change, and live records. */
function fakeDirectory(ids: string[]) {
  const directory = {
    selfId: ids[0],
    set: new RendezvousSet(ids),
    owners: () => directory.set,
    get: (nodeId: string) =>
      directory.set.has(nodeId)
        ? ({ id: nodeId, urls: [`http://127.0.0.1:${nodeId.length}`] } as SupernodeRecord)
        : undefined,
  }
  return directory
}

describe('Placement', () => {
  it('names the rendezvous owners of each hash, asked once per hash and owner set', () => {
    const ids = [1, 2, 3, 4].map(id)
    const directory = fakeDirectory(ids)
    const placement = new Placement(directory as unknown as SupernodeDirectory)
    const scored = vi.spyOn(directory.set, 'owners')
    for (let round = 0; round < 3; round++) {
      for (let n = 0; n < 50; n++) {
        const where = placement.of(hash(n))
        const expected = rendezvousOwners(hash(n), ids)
        expect(where.owners.map((r) => r.id)).toEqual(expected)
        expect(where.local).toBe(expected.includes(ids[0]))
      }
    }
    expect(scored).toHaveBeenCalledTimes(50)
  })

  it('scores again when the owner set changes', () => {
    const directory = fakeDirectory([1, 2, 3].map(id))
    const placement = new Placement(directory as unknown as SupernodeDirectory)
    for (let n = 0; n < 20; n++) placement.of(hash(n))
    const next = [1, 5, 6, 7, 8].map(id)
    directory.set = new RendezvousSet(next)
    for (let n = 0; n < 20; n++) {
      expect(placement.of(hash(n)).owners.map((r) => r.id)).toEqual(rendezvousOwners(hash(n), next))
    }
  })

  it(`remembers at most ${MAX_PLACEMENT_MEMO} hashes`, () => {
    const directory = fakeDirectory([1, 2, 3].map(id))
    const placement = new Placement(directory as unknown as SupernodeDirectory)
    const scored = vi.spyOn(directory.set, 'owners')
    for (let n = 0; n <= MAX_PLACEMENT_MEMO; n++) placement.of(hash(n))
    expect(scored).toHaveBeenCalledTimes(MAX_PLACEMENT_MEMO + 1)
    placement.of(hash(0))
    expect(scored).toHaveBeenCalledTimes(MAX_PLACEMENT_MEMO + 2)
  })
})
