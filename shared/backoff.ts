// Spacing of retries, for the app and the relay alike: the delay doubles with each failure
// from `minMs` up to `maxMs`, and goes back to `minMs` on reset. Jitter spreads the retries
// of many clients that failed together (one relay restarting) so they do not come back in
// step; randomness is passed in so tests can pin it.

export interface BackoffOptions {
  /** Delay after the first failure. */
  minMs: number
  /** Longest delay; it wins over `minMs` when smaller (0: retry at once). */
  maxMs: number
  /** Share of each delay that is random: 0 none, 0.5 a delay in [d/2, d). */
  jitter: number
  /** A number in [0, 1). */
  random: () => number
}

/** 2^30 times the first delay is past any useful wait; the cap keeps the figure finite. */
const MAX_DOUBLINGS = 30

/** The delay after `failures` failures in a row (1: the first), before jitter. */
export function backoffDelay(
  failures: number,
  { minMs, maxMs }: Pick<BackoffOptions, 'minMs' | 'maxMs'>,
): number {
  if (!Number.isSafeInteger(failures) || failures < 1) {
    throw new RangeError(`failures must be a whole number from 1, not ${failures}`)
  }
  return Math.min(maxMs, minMs * 2 ** Math.min(failures - 1, MAX_DOUBLINGS))
}

export class Backoff {
  readonly options: BackoffOptions
  #failures = 0
  #notBefore = 0

  constructor(options: Pick<BackoffOptions, 'minMs' | 'maxMs'> & Partial<BackoffOptions>) {
    this.options = { jitter: 0, random: Math.random, ...options }
    const { minMs, maxMs, jitter } = this.options
    if (!(minMs >= 0) || !(maxMs >= 0)) {
      throw new RangeError(`backoff delays must be at least 0, not ${minMs} and ${maxMs}`)
    }
    if (!(jitter >= 0 && jitter <= 1))
      throw new RangeError(`jitter must be in [0, 1], not ${jitter}`)
  }

  /** Failures counted since the last reset. */
  get failures(): number {
    return this.#failures
  }

  /** Counts one more failure and returns the delay before the next attempt. */
  next(): number {
    this.#failures++
    const { jitter, random } = this.options
    return backoffDelay(this.#failures, this.options) * (1 - jitter + jitter * random())
  }

  /** Counts one more failure at `now`: no attempt before now + the delay, which it returns. */
  defer(now: number): number {
    const delay = this.next()
    this.#notBefore = now + delay
    return delay
  }

  /** Milliseconds until the next attempt may start (0: now). */
  wait(now: number): number {
    return Math.max(0, this.#notBefore - now)
  }

  /** Back to the first delay (after a success). A wait already set by `defer` still holds. */
  reset(): void {
    this.#failures = 0
  }
}
