// The browser mesh's BEP 10 extension on a wire (issue 22), through bittorrent-protocol's
// public extension API (`wire.use(Extension)`, the way ut_metadata and ut_pex plug in): named
// MESH_EXTENSION in our extended handshake's `m`, its version under MESH_VERSION_KEY. Messages
// are shared/mesh/messages.ts's; what they mean is the mesh's business (app/lib/mesh/mesh.ts).
// A neighbour that sends bytes the codec refuses is reported and its wire closed: the peer that
// sent them is not worth keeping.

import {
  decodeMeshMessage,
  encodeMeshMessage,
  MESH_EXTENSION,
  MESH_VERSION,
  MeshMessageError,
  type MeshMessage,
} from '../../../shared/mesh/messages.ts'
import type { Neighbour } from '../mesh/types.ts'

/** The extended-handshake key that carries the mesh's version (BEP 10 allows extra keys). */
export const MESH_VERSION_KEY = 'monsoon_mesh_v'

/** Where a wire's mesh events go (the page's Mesh). */
export interface MeshHandlers {
  /** A neighbour's extended handshake named the mesh. */
  open(neighbour: Neighbour): void
  message(neighbour: Neighbour, message: MeshMessage): void
  /** The neighbour sent what the codec refuses; its wire is being closed. */
  refused(neighbour: Neighbour, error: MeshMessageError): void
  close(neighbour: Neighbour): void
}

/** The part of bittorrent-protocol's Wire the extension uses (its public API). */
interface ExtensionWire {
  peerId?: string
  destroyed: boolean
  extendedHandshake: Record<string, unknown>
  extended(ext: string, payload: Uint8Array): void
  destroy(): void
  once(event: 'close', listener: () => void): unknown
}

/** An extension class for `wire.use()` on the wires of swarm `infoHash`, its messages going
 * to `handlers`. */
export function meshExtension(
  handlers: MeshHandlers,
  infoHash: string,
): new (wire: unknown) => object {
  class MeshExtension {
    readonly #wire: ExtensionWire
    #neighbour: Neighbour | null = null

    constructor(wire: unknown) {
      this.#wire = wire as ExtensionWire
      this.#wire.extendedHandshake[MESH_VERSION_KEY] = MESH_VERSION
    }

    onExtendedHandshake(handshake: Record<string, unknown>): void {
      if (this.#neighbour) return // BEP 10: a handshake sent again changes nothing here
      const wire = this.#wire
      if (typeof wire.peerId !== 'string' || !/^[0-9a-f]{40}$/.test(wire.peerId)) return
      const version = handshake[MESH_VERSION_KEY]
      // streamx marks a wire destroyed only once its close has run: ours is known at once.
      let gone = false
      const neighbour: Neighbour = {
        peerId: wire.peerId,
        infoHash,
        version: typeof version === 'number' && Number.isSafeInteger(version) ? version : 0,
        send: (message) => {
          const bytes = encodeMeshMessage(message)
          if (gone || wire.destroyed) return false
          wire.extended(MESH_EXTENSION, bytes)
          return true
        },
        close: () => {
          gone = true
          wire.destroy()
        },
      }
      this.#neighbour = neighbour
      wire.once('close', () => {
        gone = true
        handlers.close(neighbour)
      })
      handlers.open(neighbour)
    }

    onMessage(bytes: Uint8Array): void {
      const neighbour = this.#neighbour
      if (!neighbour) return // a message before the handshake named us: not ours to read
      let message: MeshMessage
      try {
        message = decodeMeshMessage(bytes)
      } catch (err) {
        if (!(err instanceof MeshMessageError)) throw err
        handlers.refused(neighbour, err)
        neighbour.close()
        return
      }
      handlers.message(neighbour, message)
    }
  }
  Object.defineProperty(MeshExtension.prototype, 'name', { value: MESH_EXTENSION })
  return MeshExtension
}
