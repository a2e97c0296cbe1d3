// The mesh's BEP 10 extension between two Monsoon clients on the real bundle: named and
// versioned in the extended handshake, messages both ways, and a neighbour that sends what
// the codec refuses is reported and its wire closed.

import { afterEach, describe, expect, it, vi } from 'vitest'
import { MESH_EXTENSION, type MeshMessage } from '../../../shared/mesh/messages.ts'
import type { MeshHandlers, MeshNeighbour } from './mesh-extension.ts'
import { peerIdOf, testPair, type Pair } from './test-pair.ts'

const pairs: Pair[] = []
afterEach(async () => {
  await Promise.all(pairs.splice(0).map((p) => p.destroy()))
})

/** Handlers that record what they hear. */
function recorder() {
  const opened: MeshNeighbour[] = []
  const messages: MeshMessage[] = []
  const refused: string[] = []
  const closed: string[] = []
  const handlers: MeshHandlers = {
    open: (n) => opened.push(n),
    message: (_, m) => messages.push(m),
    refused: (n, err) => refused.push(`${n.peerId}: ${err.message}`),
    close: (n) => closed.push(n.peerId),
  }
  return { handlers, opened, messages, refused, closed }
}

const ID = 'cd'.repeat(20)

describe('the mesh extension on the bundle the app ships', () => {
  it('opens between two Monsoon peers, carries messages, and drops a neighbour that sends junk', async () => {
    const seederSide = recorder()
    const leecherSide = recorder()
    const pair = await testPair(64 * 1024, {
      seeder: seederSide.handlers,
      leecher: leecherSide.handlers,
    })
    pairs.push(pair)
    await pair.connect()
    await vi.waitFor(() => {
      expect(seederSide.opened).toHaveLength(1)
      expect(leecherSide.opened).toHaveLength(1)
    }, 20_000)
    expect(seederSide.opened[0]!.peerId).toBe(peerIdOf(pair.leecherClient))
    expect(leecherSide.opened[0]!.peerId).toBe(peerIdOf(pair.seederClient))
    expect(seederSide.opened[0]!.version).toBe(1)

    const pex: MeshMessage = { t: 'pex', added: [ID], dropped: [] }
    expect(leecherSide.opened[0]!.send(pex)).toBe(true)
    const who: MeshMessage = { t: 'who', query: 9, infoHash: pair.seeder.infoHash }
    expect(seederSide.opened[0]!.send(who)).toBe(true)
    await vi.waitFor(() => {
      expect(seederSide.messages).toEqual([pex])
      expect(leecherSide.messages).toEqual([who])
    }, 10_000)

    // Junk under the mesh's name: refused by the codec, the wire closed.
    const wire = pair.leecher.wires[0] as unknown as {
      extended(ext: string, b: Uint8Array): void
    }
    wire.extended(MESH_EXTENSION, new TextEncoder().encode('d1:t4:junke'))
    await vi.waitFor(() => {
      expect(seederSide.refused).toEqual([`${peerIdOf(pair.leecherClient)}: no message type junk`])
      expect(seederSide.closed).toEqual([peerIdOf(pair.leecherClient)])
    }, 10_000)
  }, 60_000)
})
