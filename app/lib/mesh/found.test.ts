import { describe, expect, it } from 'vitest'
import { FOUND_WIRE_WITHIN_MS, MAX_MESH_FOUND } from '../../../shared/mesh/limits.ts'
import { FoundMarks } from './found.ts'
import type { Neighbour } from './types.ts'

const H = '1'.repeat(40)
const P = 'c'.repeat(40)

function wire(peerId = P, infoHash = H): Neighbour {
  return { peerId, infoHash, version: 1, send: () => true, close: () => {} }
}

describe('FoundMarks', () => {
  it('marks the wire the mesh connected, and forgets it when that wire closes', () => {
    const found = new FoundMarks()
    found.connecting(H, P, 0)
    expect(found.has(H, P)).toBe(false) // no wire yet
    const meshWire = wire()
    found.opened(meshWire, 1_000)
    expect(found.has(H, P)).toBe(true)
    expect(found.has('2'.repeat(40), P)).toBe(false)
    found.closed(meshWire)
    expect(found.has(H, P)).toBe(false)
    // The peer comes back through a relay tracker: not the mesh's.
    found.opened(wire(), 2_000)
    expect(found.has(H, P)).toBe(false)
  })

  it('keeps the mark when another wire of the peer closes, and drops it for a wire opening later', () => {
    const found = new FoundMarks()
    found.connecting(H, P, 0)
    const meshWire = wire()
    found.opened(meshWire, 0)
    found.closed(wire())
    expect(found.has(H, P)).toBe(true)
    // A second wire of the same peer and swarm: which one is connected is not ours to know.
    found.opened(wire(), 0)
    expect(found.has(H, P)).toBe(false)
  })

  it('gives a wire that opens after FOUND_WIRE_WITHIN_MS, or after the attempt was given up, no mark', () => {
    const found = new FoundMarks()
    found.connecting(H, P, 0)
    found.opened(wire(), FOUND_WIRE_WITHIN_MS)
    expect(found.has(H, P)).toBe(false)
    expect(found.size).toBe(0)
    found.connecting(H, P, 0)
    found.abandoned(H, P)
    found.opened(wire(), 1)
    expect(found.has(H, P)).toBe(false)
    // Giving up an attempt leaves a connected wire's mark alone.
    found.connecting(H, P, 0)
    found.opened(wire(), 1)
    found.abandoned(H, P)
    expect(found.has(H, P)).toBe(true)
  })

  it('holds at most MAX_MESH_FOUND marks', () => {
    const found = new FoundMarks()
    for (let i = 0; i < MAX_MESH_FOUND + 10; i++) {
      found.connecting(H, i.toString(16).padStart(40, '0'), 0)
    }
    expect(found.size).toBe(MAX_MESH_FOUND)
  })
})
