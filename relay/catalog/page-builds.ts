// Turns at building sync pages (a query, and a compression on the thread pool): a few at
// once over every client, the rest waiting first come first served, so serving pages never
// takes every core from the tracker. One address may have only a couple waiting or running
// and only so many a minute, so it cannot take the queue from the others (relay/limits.ts
// says why each number). A turn that overruns maxTurnMs is reported and its slot freed: no
// build that never ends can stop the relay serving pages (issue 23: one did, silently).

import { RateLimiter } from '../budget/quotas.ts'
import { addressKey } from '../tracker/holdings.ts'

export interface PageBuildsOptions {
  /** Builds running at once. */
  atOnce: number
  /** Builds waiting for a turn, over every client. */
  maxWaiting: number
  /** Builds one address may have waiting or running. */
  perAddressAtOnce: number
  /** Builds one address may start per minute (burst: a minute's worth). */
  perAddressPerMinute: number
  /** Addresses whose rate is tracked (least recently seen dropped first). */
  maxAddresses: number
  /** Seconds a client is told to wait when the queue is full. */
  busyRetryAfterSeconds: number
  /** A turn running longer is given up: its caller rejected with PageBuildOverdue, its slot
   * passed on. */
  maxTurnMs: number
}

/** What PageBuilds needs of a clock: a timer, and who hears of a turn given up. */
export interface PageBuildsHooks {
  /** Runs `run` after `ms`; returns its cancel. Default: an unref'd setTimeout. */
  setTimer?: (run: () => void, ms: number) => () => void
  /** Told of a turn given up, with the address it ran for. */
  onOverdue?: (address: string, maxTurnMs: number) => void
}

/** Why a build's caller gave up on it: it held its turn past maxTurnMs. */
export class PageBuildOverdue extends Error {
  constructor(maxTurnMs: number) {
    super(`a page build ran past ${maxTurnMs} ms; its turn was given up`)
    this.name = 'PageBuildOverdue'
  }
}

/** Why a build was refused: the address is over its share, or everyone's queue is full. */
export interface BuildRefused {
  refused: 'address' | 'busy'
  retryAfterSeconds: number
}

export class PageBuilds {
  readonly options: PageBuildsOptions
  readonly #rate: RateLimiter
  /** Builds waiting or running per address; bounded by maxWaiting + atOnce in all. */
  readonly #perAddress = new Map<string, number>()
  readonly #waiting: (() => void)[] = []
  #running = 0
  readonly #setTimer: (run: () => void, ms: number) => () => void
  readonly #onOverdue: (address: string, maxTurnMs: number) => void

  constructor(options: PageBuildsOptions, hooks: PageBuildsHooks = {}) {
    this.options = options
    this.#setTimer = hooks.setTimer ?? unrefTimer
    this.#onOverdue = hooks.onOverdue ?? (() => {})
    this.#rate = new RateLimiter({
      perMinute: options.perAddressPerMinute,
      maxKeys: options.maxAddresses,
    })
  }

  /** Builds running now. */
  get running(): number {
    return this.#running
  }

  /** Builds waiting for a turn now. */
  get waiting(): number {
    return this.#waiting.length
  }

  /** Runs `build` in its turn for a client at `address`, or says why not (before any work). */
  run<T>(address: string, build: () => Promise<T> | T, nowMs: number): Promise<T> | BuildRefused {
    const key = addressKey(address)
    const held = this.#perAddress.get(key) ?? 0
    if (held >= this.options.perAddressAtOnce) {
      return { refused: 'address', retryAfterSeconds: 1 }
    }
    if (this.#running >= this.options.atOnce && this.#waiting.length >= this.options.maxWaiting) {
      return { refused: 'busy', retryAfterSeconds: this.options.busyRetryAfterSeconds }
    }
    if (!this.#rate.takeAll(key, 1, nowMs)) {
      return { refused: 'address', retryAfterSeconds: this.#rate.retryAfter(key, nowMs) }
    }
    this.#perAddress.set(key, held + 1)
    return this.#turn().then(() => this.#timed(address, key, build))
  }

  /** Runs `build` in the turn just taken; the turn ends when it does, or at maxTurnMs. */
  #timed<T>(address: string, key: string, build: () => Promise<T> | T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let ended = false
      let cancel = (): void => {}
      const end = (): boolean => {
        if (ended) return false
        ended = true
        cancel()
        this.#done(key)
        return true
      }
      const { maxTurnMs } = this.options
      cancel = this.#setTimer(() => {
        if (!end()) return
        this.#onOverdue(address, maxTurnMs)
        reject(new PageBuildOverdue(maxTurnMs))
      }, maxTurnMs)
      let built: Promise<T> | T
      try {
        built = build()
      } catch (err) {
        end()
        reject(err as Error)
        return
      }
      Promise.resolve(built).then(
        (value) => {
          if (end()) resolve(value)
        },
        (err: unknown) => {
          if (end()) reject(err)
        },
      )
    })
  }

  #turn(): Promise<void> {
    if (this.#running < this.options.atOnce) {
      this.#running++
      return Promise.resolve()
    }
    return new Promise((resolve) => this.#waiting.push(resolve))
  }

  #done(key: string): void {
    const left = (this.#perAddress.get(key) ?? 1) - 1
    if (left > 0) this.#perAddress.set(key, left)
    else this.#perAddress.delete(key)
    const next = this.#waiting.shift()
    // The turn passes straight to the next in line; #running stays the same.
    if (next) next()
    else this.#running--
  }
}

function unrefTimer(run: () => void, ms: number): () => void {
  const timer = setTimeout(run, ms)
  timer.unref()
  return () => clearTimeout(timer)
}

/** True when `result` is a refusal rather than a build under way. */
export function isRefused<T>(result: Promise<T> | BuildRefused): result is BuildRefused {
  return !(result instanceof Promise)
}
