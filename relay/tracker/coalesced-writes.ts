// Writes to one socket made during one turn of the event loop leave in one system call.
//
// A WebSocket tracker answers each announce with one frame to the announcer and one per
// offer to other sockets, each its own write (ws corks only header and payload of one frame):
// some 40 % of its CPU went into those sends, most of it the syscalls (loopback TCP does the
// receiver's work in the sender's call too). Under load one turn reads many announces, so a
// socket is often sent several frames in it; corking it on the first and uncorking every
// corked socket once the turn's I/O is done (setImmediate runs right after the poll phase)
// sends them together. The frames stay whole WebSocket messages, written by ws in order;
// only their bytes share a write. What a corked socket holds counts in its writable length
// (ws's bufferedAmount), so the tracker's bound on buffered bytes still applies.

/** The part of a stream this needs (net.Socket fits). */
export interface Corkable {
  cork(): void
  uncork(): void
}

export class CoalescedWrites {
  readonly #corked = new Set<Corkable>()
  readonly #defer: (flush: () => void) => void

  /** `defer` runs the flush once the current turn's I/O is done (tests pass their own). */
  constructor(defer: (flush: () => void) => void = (flush) => void setImmediate(flush)) {
    this.#defer = defer
  }

  /** Sockets corked and not yet flushed. */
  get held(): number {
    return this.#corked.size
  }

  /** Call before writing to `socket`: it stays corked until the flush. */
  hold(socket: Corkable): void {
    if (this.#corked.has(socket)) return
    socket.cork()
    this.#corked.add(socket)
    if (this.#corked.size === 1) this.#defer(() => this.flush())
  }

  /** Uncorks every held socket (each writes what it holds in one call). */
  flush(): void {
    // A write's callback may hold a socket again: that one waits for the next flush.
    const corked = [...this.#corked]
    this.#corked.clear()
    for (const socket of corked) socket.uncork()
  }
}
