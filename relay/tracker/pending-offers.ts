// The offers forwarded to one WebSocket and not yet answered: offer id → the connection it
// came from, the only one an answer with that id may go to. At most `capacity` are held; a
// new one past that takes the place of the oldest, as BoundedMap's 'oldest' order would.
//
// Kept in a ring rather than a Map: every announce forwards offers to other sockets whose
// offers mostly go unanswered, so each socket's holding stays full and every forward evicted
// one Map entry and inserted another (delete, insert, an iterator for the eldest, rehashes as
// the holes piled up), some 5 % of the tracker's CPU. A ring slot is written in place; an
// answer, far rarer than an offer, scans at most `capacity` ids, and the latest offer with a
// reused id wins as it would in a Map. Unlike a Map's, the bound counts offers forwarded, not
// ids still unanswered: an offer is forgotten once `capacity` newer ones came, answered or not.

export class PendingOffers<T> {
  readonly capacity: number
  readonly #ids: (string | undefined)[] = []
  readonly #from: (T | undefined)[] = []
  /** The slot the next offer goes to. */
  #next = 0

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError('capacity must be a positive integer')
    }
    this.capacity = capacity
  }

  /** Remembers that the offer `id` came from `from`; the oldest goes past the capacity. */
  add(id: string, from: T): void {
    const i = this.#next
    if (i === this.#ids.length) {
      // Grown one slot at a time, so a socket sent few offers holds little.
      this.#ids.push(id)
      this.#from.push(from)
    } else {
      this.#ids[i] = id
      this.#from[i] = from
    }
    this.#next = i + 1 === this.capacity ? 0 : i + 1
  }

  /** Who the latest offer `id` still held came from, or undefined. */
  latest(id: string): T | undefined {
    const ids = this.#ids
    const n = ids.length
    for (let k = 1; k <= n; k++) {
      const i = (this.#next - k + n) % n
      if (ids[i] === id) return this.#from[i]
    }
    return undefined
  }

  /** Forgets every offer `id` held (it was answered). */
  forget(id: string): void {
    const ids = this.#ids
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] !== id) continue
      ids[i] = undefined
      this.#from[i] = undefined
    }
  }

  clear(): void {
    this.#ids.length = 0
    this.#from.length = 0
    this.#next = 0
  }
}
