// The budget of new sealed sessions (issue 20): each costs an X25519 (~0.1-0.2 ms), for
// POST /v1/sealed from a sender not seen lately (tunnel.ts) and for every sealed tracker
// socket's opening frame (tracker/ws-sealed.ts). One budget per relay serves both.
//
// It was one relay-wide bucket, so one address sending junk envelopes from fresh keys got 31
// of 39 real browsers' sessions refused. Now each address has its own bucket, taken first
// (NEW_SEALED_SESSIONS_PER_ADDRESS_PER_SECOND), and the relay-wide bucket stays as a cap on
// CPU well above one address's share. An envelope that then fails to open costs its sender
// a second token: junk uses up the sender's budget, not everyone's.

import { SealedError } from '../../shared/sealed/envelope.ts'
import { RateLimiter } from '../budget/quotas.ts'
import {
  MAX_SEALED_SESSION_BUCKETS,
  NEW_SEALED_SESSIONS_PER_ADDRESS_BURST,
  NEW_SEALED_SESSIONS_PER_ADDRESS_PER_SECOND,
  NEW_SEALED_SESSIONS_PER_SECOND,
} from '../limits.ts'
import { quietRefusals, type Refusals } from '../refusals.ts'

export interface SealedSessionBudgetOptions {
  /** New sessions per second for the whole relay (a burst of as many). */
  perSecond: number
  /** New sessions per second for one address, and its burst. */
  perAddressPerSecond: number
  perAddressBurst: number
  /** Addresses with a bucket kept at once (least recently used dropped first). */
  maxAddresses: number
}

export class SealedSessionBudget {
  readonly options: SealedSessionBudgetOptions
  readonly #refusals: Refusals
  readonly #perAddress: RateLimiter
  readonly #all: RateLimiter

  constructor(
    refusals: Refusals = quietRefusals(),
    options: Partial<SealedSessionBudgetOptions> = {},
  ) {
    this.#refusals = refusals
    this.options = {
      perSecond: NEW_SEALED_SESSIONS_PER_SECOND,
      perAddressPerSecond: NEW_SEALED_SESSIONS_PER_ADDRESS_PER_SECOND,
      perAddressBurst: NEW_SEALED_SESSIONS_PER_ADDRESS_BURST,
      maxAddresses: MAX_SEALED_SESSION_BUCKETS,
      ...options,
    }
    const { perSecond, perAddressPerSecond, perAddressBurst, maxAddresses } = this.options
    this.#perAddress = new RateLimiter({
      perMinute: perAddressPerSecond * 60,
      burst: perAddressBurst,
      maxKeys: maxAddresses,
    })
    this.#all = new RateLimiter({ perMinute: perSecond * 60, burst: perSecond, maxKeys: 1 })
  }

  /** Takes one new session for `address`; throws SealedError 'busy' when its own budget or
   * the relay's is spent (counted in /metrics, said once a minute per address). */
  take(address: string, nowMs = Date.now()): void {
    if (!this.#perAddress.takeAll(address, 1, nowMs)) {
      this.#refusals.refuse('sealed-sessions-per-address', address)
      throw new SealedError('busy', 'too many new sealed sessions from this address; retry soon')
    }
    if (!this.#all.takeAll('', 1, nowMs)) {
      this.#refusals.refuse('sealed-sessions-full', address)
      throw new SealedError('busy', 'too many new sealed sessions; retry in a second')
    }
  }

  /** A new session's envelope did not open: its sender pays a second token. */
  junk(address: string, nowMs = Date.now()): void {
    this.#perAddress.takeAll(address, 1, nowMs)
  }
}
