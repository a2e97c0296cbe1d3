// Lets at most `perTurn` waiters through per turn of the event loop (issue 23): a thousand
// browsers waiting on one page build all resume in the same microtask flush, and writing a
// thousand answers there held the loop for seconds (every announce waited behind them).
// Passing them a few at a time, each batch after the loop has polled for I/O (setImmediate
// runs after the poll phase), lets announces in between.

export class Turnstile {
  readonly perTurn: number
  readonly #waiting: (() => void)[] = []
  #passedThisTurn = 0
  #scheduled = false
  readonly #defer: (run: () => void) => void

  constructor(perTurn: number, defer: (run: () => void) => void = (run) => setImmediate(run)) {
    if (!Number.isInteger(perTurn) || perTurn < 1) {
      throw new RangeError('perTurn must be a positive integer')
    }
    this.perTurn = perTurn
    this.#defer = defer
  }

  /** Waiters not yet let through. */
  get waiting(): number {
    return this.#waiting.length
  }

  /** Resolves when it is this caller's turn: at once while this turn has room. */
  pass(): Promise<void> {
    this.#schedule()
    if (this.#waiting.length === 0 && this.#passedThisTurn < this.perTurn) {
      this.#passedThisTurn++
      return Promise.resolve()
    }
    return new Promise((resolve) => this.#waiting.push(resolve))
  }

  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    this.#defer(() => {
      this.#scheduled = false
      this.#passedThisTurn = 0
      const batch = this.#waiting.splice(0, this.perTurn)
      this.#passedThisTurn = batch.length
      for (const resolve of batch) resolve()
      if (this.#waiting.length > 0 || batch.length > 0) this.#schedule()
    })
  }
}
