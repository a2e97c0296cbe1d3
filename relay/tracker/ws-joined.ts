// The (info hash, peer id) pairs one tracker WebSocket announced: what it leaves when it
// closes, and what it may answer offers as. The stock client shares one socket between every
// torrent client of a process, so a hash may have several ids, but almost always it has one.
//
// Keyed by hash with the one id as a plain string (a Set only when a second id comes), not by
// the two ids joined: that key was a new 80-char string on every announce, flattened to be
// hashed, and kept (with an entry object) for every swarm joined, some 150-250 bytes that
// each young-generation collection had to copy or drop.

export class JoinedSwarms {
  readonly #byHash = new Map<string, string | Set<string>>()
  #size = 0

  /** Pairs held. */
  get size(): number {
    return this.#size
  }

  has(infoHash: string, peerId: string): boolean {
    const ids = this.#byHash.get(infoHash)
    return ids === peerId || (typeof ids === 'object' && ids.has(peerId))
  }

  add(infoHash: string, peerId: string): void {
    const ids = this.#byHash.get(infoHash)
    if (ids === undefined) {
      this.#byHash.set(infoHash, peerId)
    } else if (typeof ids === 'string') {
      if (ids === peerId) return
      this.#byHash.set(infoHash, new Set([ids, peerId]))
    } else {
      if (ids.has(peerId)) return
      ids.add(peerId)
    }
    this.#size++
  }

  delete(infoHash: string, peerId: string): void {
    const ids = this.#byHash.get(infoHash)
    if (ids === peerId) {
      this.#byHash.delete(infoHash)
    } else if (typeof ids === 'object' && ids.delete(peerId)) {
      if (ids.size === 1) this.#byHash.set(infoHash, ids.values().next().value!)
    } else {
      return
    }
    this.#size--
  }

  /** Every pair, in the order their hashes were first joined. */
  *pairs(): IterableIterator<[infoHash: string, peerId: string]> {
    for (const [infoHash, ids] of this.#byHash) {
      if (typeof ids === 'string') yield [infoHash, ids]
      else for (const id of ids) yield [infoHash, id]
    }
  }

  clear(): void {
    this.#byHash.clear()
    this.#size = 0
  }
}
