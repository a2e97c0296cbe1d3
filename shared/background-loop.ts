// A loop that runs in the background until stopped, sleeping between its rounds: the relay's
// catalog puller (relay/catalog/sync.ts), supernode exchange (relay/supernode/exchange.ts) and
// bootstrap (relay/bootstrap/bootstrap.ts). stop() cuts a sleep short and waits for the round
// in progress, which can watch `signal` to end early.

export class BackgroundLoop {
  readonly #stop = new AbortController()
  #running: Promise<void> | null = null
  #wake: (() => void) | null = null

  /** Aborted once stop() is called: for the loop's own requests and checks. */
  get signal(): AbortSignal {
    return this.#stop.signal
  }

  get stopped(): boolean {
    return this.#stop.signal.aborted
  }

  /** Runs `body` (once: later calls do nothing). */
  start(body: () => Promise<void>): void {
    this.#running ??= body()
  }

  /** Ends the loop: wakes its sleep, aborts `signal`, and waits for `body` to return. */
  async stop(): Promise<void> {
    this.#stop.abort()
    this.wake()
    await this.#running
  }

  /** Cuts the current sleep short (the loop goes on unless stopped). */
  wake(): void {
    this.#wake?.()
  }

  /** Waits `ms`, or less if woken or stopped. The timer does not keep a Node process alive. */
  sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        if (this.#wake === done) this.#wake = null
        resolve()
      }
      const timer = setTimeout(done, ms)
      ;(timer as { unref?: () => void }).unref?.()
      this.#wake = done
    })
  }
}
