// The mesh's BEP 10 extension between two bittorrent-protocol wires (the library WebTorrent's
// bundle runs), piped to each other in memory: named and versioned in the extended handshake,
// messages both ways, and a neighbour that sends what the codec refuses is reported and its
// wire closed. (The same extension between browsers over WebRTC: e2e/mesh.spec.ts.)

import Wire from 'bittorrent-protocol'
import { describe, expect, it, vi } from 'vitest'
import { MESH_EXTENSION, type MeshMessage } from '../../../shared/mesh/messages.ts'
import type { Neighbour } from '../mesh/types.ts'
import { meshExtension, type MeshHandlers } from './mesh-extension.ts'

const INFO_HASH = 'ab'.repeat(20)
const ID_A = '0a'.repeat(20)
const ID_B = '0b'.repeat(20)
const OTHER = 'cd'.repeat(20)

/** Handlers that record what they hear. */
function recorder() {
  const opened: Neighbour[] = []
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

interface TestWire {
  use(ext: unknown): void
  handshake(infoHash: string, peerId: string, extensions?: object): void
  pipe<T>(to: T): T
  extended(ext: string, payload: Uint8Array): void
  destroy(): void
  destroyed: boolean
}

/** Two wires in one swarm, each side's extension (if any) in place before the handshakes. */
function wirePair(a: MeshHandlers | null, b: MeshHandlers | null) {
  const Make = Wire as unknown as new () => TestWire
  const wa = new Make()
  const wb = new Make()
  if (a) wa.use(meshExtension(a, INFO_HASH))
  if (b) wb.use(meshExtension(b, INFO_HASH))
  wa.pipe(wb).pipe(wa)
  wa.handshake(INFO_HASH, ID_A)
  wb.handshake(INFO_HASH, ID_B)
  return { wa, wb }
}

describe('the mesh extension on a wire', () => {
  it('opens between two Monsoon peers with their peer ids, swarm and version', async () => {
    const a = recorder()
    const b = recorder()
    wirePair(a.handlers, b.handlers)
    await vi.waitFor(() => {
      expect(a.opened).toHaveLength(1)
      expect(b.opened).toHaveLength(1)
    })
    expect(a.opened[0]).toMatchObject({ peerId: ID_B, infoHash: INFO_HASH, version: 1 })
    expect(b.opened[0]).toMatchObject({ peerId: ID_A, infoHash: INFO_HASH, version: 1 })
  })

  it('carries messages both ways', async () => {
    const a = recorder()
    const b = recorder()
    wirePair(a.handlers, b.handlers)
    await vi.waitFor(() => expect(a.opened.length + b.opened.length).toBe(2))
    const pex: MeshMessage = { t: 'pex', added: [OTHER], dropped: [] }
    const who: MeshMessage = { t: 'who', query: 9, infoHash: INFO_HASH }
    expect(a.opened[0]!.send(pex)).toBe(true)
    expect(b.opened[0]!.send(who)).toBe(true)
    await vi.waitFor(() => {
      expect(b.messages).toEqual([pex])
      expect(a.messages).toEqual([who])
    })
  })

  it('never opens with a peer that does not name the mesh', async () => {
    const a = recorder()
    const { wa } = wirePair(a.handlers, null)
    await vi.waitFor(() =>
      expect((wa as unknown as { peerExtendedHandshake: object }).peerExtendedHandshake).toEqual(
        expect.objectContaining({ m: expect.any(Object) }),
      ),
    )
    expect(a.opened).toEqual([])
  })

  it('refuses junk under its name and closes the sender’s wire', async () => {
    const a = recorder()
    const b = recorder()
    const { wa, wb } = wirePair(a.handlers, b.handlers)
    await vi.waitFor(() => expect(a.opened.length + b.opened.length).toBe(2))
    wa.extended(MESH_EXTENSION, new TextEncoder().encode('d1:t4:junke'))
    await vi.waitFor(() => {
      expect(b.refused).toEqual([`${ID_A}: no message type junk`])
      expect(b.closed).toEqual([ID_A])
    })
    expect(wb.destroyed).toBe(true)
    expect(b.messages).toEqual([])
  })

  it('refuses to write a message the codec refuses, and reports a closed wire', async () => {
    const a = recorder()
    const b = recorder()
    wirePair(a.handlers, b.handlers)
    await vi.waitFor(() => expect(a.opened).toHaveLength(1))
    const bad = { t: 'pex', added: ['not hex'], dropped: [] } as MeshMessage
    expect(() => a.opened[0]!.send(bad)).toThrow(/40 lowercase hex/)
    a.opened[0]!.close()
    expect(a.opened[0]!.send({ t: 'pex', added: [], dropped: [] })).toBe(false)
  })
})
