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
//
// A turn is not held whole, though: after a pause (a GC, a burst) one poll phase may read
// hundreds of announces, and every answer corked at its start waited for all the others to
// be handled, then for hundreds of uncorks (measured at half load: a turn's first frame held
// 10-55 ms at p99, its flush 6-18 ms, while a socket was sent 1.0-1.5 frames per turn, so
// little was gained by holding it). Once the first socket has been held `maxHoldMs`, what is
// held leaves at the next hold, and a new batch starts.

/** The part of a stream this needs (net.Socket fits). */
export interface Corkable {
  cork(): void
  uncork(): void
}

export interface CoalescedWritesOptions {
  /** Runs the flush once the current turn's I/O is done. Default: setImmediate. */
  defer: (flush: () => void) => void
  /** Milliseconds, monotonic. */
  now: () => number
  /** How long a batch may hold its first socket before the next hold flushes it. */
  maxHoldMs: number
}

/** Measured with tracker-ws's paced run: see the header. A batch younger than this still
 * gathers the frames of a burst into shared writes. */
export const MAX_HOLD_MS = 1

const defaults: CoalescedWritesOptions = {
  defer: (flush) => void setImmediate(flush),
  now: () => performance.now(),
  maxHoldMs: MAX_HOLD_MS,
}

export class CoalescedWrites {
  readonly #corked = new Set<Corkable>()
  readonly #options: CoalescedWritesOptions
  /** When the batch held now took its first socket. */
  #since = 0
  /** A deferred flush is pending. */
  #scheduled = false

  constructor(options: Partial<CoalescedWritesOptions> = {}) {
    this.#options = { ...defaults, ...options }
  }

  /** Sockets corked and not yet flushed. */
  get held(): number {
    return this.#corked.size
  }

  /** Call before writing to `socket`: it stays corked until the flush. */
  hold(socket: Corkable): void {
    if (this.#corked.has(socket)) return
    if (this.#corked.size === 0) {
      this.#since = this.#options.now()
    } else if (this.#options.now() - this.#since >= this.#options.maxHoldMs) {
      this.flush()
      this.#since = this.#options.now()
    }
    socket.cork()
    this.#corked.add(socket)
    if (!this.#scheduled) {
      this.#scheduled = true
      this.#options.defer(() => {
        this.#scheduled = false
        this.flush()
      })
    }
  }

  /** Uncorks every held socket (each writes what it holds in one call). */
  flush(): void {
    // A write's callback may hold a socket again: that one waits for the next flush.
    const corked = [...this.#corked]
    this.#corked.clear()
    for (const socket of corked) socket.uncork()
  }
}
