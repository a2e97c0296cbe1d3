// Paces the page's reaction to catalog changes: while a large catalog arrives the worker
// says `changed` after every page it stores (several a second), and each would make open
// views search again — at a million listings, each search after a change rebuilds an
// ordering, so the worker would spend its time re-sorting instead of importing. The first
// change is passed on at once, later ones at most once per interval, and the last is
// never lost.

export interface PacerClock {
  now(): number
  setTimeout(fire: () => void, ms: number): unknown
  clearTimeout(timer: unknown): void
}

const realClock: PacerClock = {
  now: () => Date.now(),
  setTimeout: (fire, ms) => setTimeout(fire, ms),
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
}

export class ChangePacer {
  readonly #fire: () => void
  readonly #intervalMs: number
  readonly #clock: PacerClock
  #last = -Infinity
  #timer: unknown = null

  constructor(fire: () => void, intervalMs: number, clock: PacerClock = realClock) {
    if (!(intervalMs >= 0)) throw new RangeError('intervalMs must be 0 or more')
    this.#fire = fire
    this.#intervalMs = intervalMs
    this.#clock = clock
  }

  /** Something changed: passed on now, or at the end of the current interval. */
  changed(): void {
    if (this.#timer !== null) return
    const wait = this.#last + this.#intervalMs - this.#clock.now()
    if (wait <= 0) {
      this.#run()
      return
    }
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null
      this.#run()
    }, wait)
  }

  /** Drops a change still waiting. */
  cancel(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer)
    this.#timer = null
  }

  #run(): void {
    this.#last = this.#clock.now()
    this.#fire()
  }
}
