// The browser mesh's BEP 10 extension on a wire (issue 22), through bittorrent-protocol's
// public extension API (`wire.use(Extension)`, the way ut_metadata and ut_pex plug in): named
// MESH_EXTENSION in our extended handshake's `m`, its version under MESH_VERSION_KEY. Messages
// are shared/mesh/messages.ts's; what they mean is the mesh's business (the handlers). A
// neighbour that sends a message the codec refuses is reported and its wire closed: the peer
// that sent it is not worth keeping.

import {
  decodeMeshMessage,
  encodeMeshMessage,
  MESH_EXTENSION,
  MESH_VERSION,
  MeshMessageError,
  type MeshMessage,
} from '../../../shared/mesh/messages.ts'

/** The extended-handshake key that carries the mesh's version (BEP 10 allows extra keys). */
export const MESH_VERSION_KEY = 'monsoon_mesh_v'

/** A neighbour that speaks the mesh. */
export interface MeshNeighbour {
  /** The remote peer id (hex), from the BitTorrent handshake. */
  readonly peerId: string
  readonly version: number
  /** Sends one message; false when the wire is gone. Throws MeshMessageError for a message
   * the codec refuses to write. */
  send(message: MeshMessage): boolean
}

export interface MeshHandlers {
  /** A neighbour's extended handshake named the mesh. */
  open(neighbour: MeshNeighbour): void
  message(neighbour: MeshNeighbour, message: MeshMessage): void
  /** The neighbour sent what the codec refuses; its wire is being closed. */
  refused(neighbour: MeshNeighbour, error: MeshMessageError): void
  close(neighbour: MeshNeighbour): void
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

/** An extension class for `wire.use()`, its messages going to `handlers`. */
export function meshExtension(handlers: MeshHandlers): new (wire: unknown) => object {
  class MeshExtension {
    readonly #wire: ExtensionWire
    #neighbour: MeshNeighbour | null = null

    constructor(wire: unknown) {
      this.#wire = wire as ExtensionWire
      this.#wire.extendedHandshake[MESH_VERSION_KEY] = MESH_VERSION
    }

    onExtendedHandshake(handshake: Record<string, unknown>): void {
      if (this.#neighbour) return // BEP 10: a handshake sent again changes nothing here
      const wire = this.#wire
      const version = handshake[MESH_VERSION_KEY]
      const neighbour: MeshNeighbour = {
        peerId: wire.peerId ?? '',
        version: typeof version === 'number' && Number.isSafeInteger(version) ? version : 0,
        send: (message) => {
          const bytes = encodeMeshMessage(message)
          if (wire.destroyed) return false
          wire.extended(MESH_EXTENSION, bytes)
          return true
        },
      }
      this.#neighbour = neighbour
      wire.once('close', () => handlers.close(neighbour))
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
        this.#wire.destroy()
        return
      }
      handlers.message(neighbour, message)
    }
  }
  Object.defineProperty(MeshExtension.prototype, 'name', { value: MESH_EXTENSION })
  return MeshExtension
}
