// Which connected peers the mesh found (the torrent view's "found" column, issue 22): true of
// the wire that is connected now, not of the peer. A connection the mesh makes is marked when
// made; the mark passes to the first wire of that peer in that swarm that opens the mesh within
// FOUND_WIRE_WITHIN_MS, and is forgotten when that wire closes, or when the attempt is given up.
// So a peer that reconnects later through a relay tracker shows as found by the tracker. (Within
// that time the first wire is taken for the mesh's: the peer connection layer names no wire
// of the connections it makes, so the two cannot be told apart sooner.)

import { BoundedMap } from '../../../shared/bounded-map.ts'
import { FOUND_WIRE_WITHIN_MS, MAX_MESH_FOUND } from '../../../shared/mesh/limits.ts'
import type { Neighbour } from './types.ts'

interface Mark {
  /** When the mesh made the connection. */
  at: number
  /** Its wire, once open; null while connecting. */
  wire: Neighbour | null
}

export class FoundMarks {
  readonly #marks = new BoundedMap<string, Mark>({ maxSize: MAX_MESH_FOUND, order: 'oldest' })

  get size(): number {
    return this.#marks.size
  }

  /** The mesh is connecting to `peerId` in `infoHash`'s swarm. */
  connecting(infoHash: string, peerId: string, now: number): void {
    this.#marks.set(key(infoHash, peerId), { at: now, wire: null })
  }

  /** The attempt was given up before its wire opened. */
  abandoned(infoHash: string, peerId: string): void {
    const k = key(infoHash, peerId)
    if (this.#marks.get(k)?.wire === null) this.#marks.delete(k)
  }

  /** A wire opened the mesh: ours if we were connecting to that peer lately, else not. */
  opened(neighbour: Neighbour, now: number): void {
    const k = key(neighbour.infoHash, neighbour.peerId)
    const mark = this.#marks.get(k)
    if (!mark) return
    if (mark.wire === null && now - mark.at < FOUND_WIRE_WITHIN_MS) mark.wire = neighbour
    else if (mark.wire !== neighbour) this.#marks.delete(k)
  }

  closed(neighbour: Neighbour): void {
    const k = key(neighbour.infoHash, neighbour.peerId)
    if (this.#marks.get(k)?.wire === neighbour) this.#marks.delete(k)
  }

  /** True when the wire connected now to `peerId` in `infoHash`'s swarm is one the mesh made. */
  has(infoHash: string, peerId: string): boolean {
    return (this.#marks.get(key(infoHash, peerId))?.wire ?? null) !== null
  }
}

function key(infoHash: string, peerId: string): string {
  return `${infoHash}:${peerId}`
}
