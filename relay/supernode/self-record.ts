// This relay's own supernode record (shared/supernode.ts), as GET /v1/hello serves it:
// signed on demand with the node key, with the tracker's current load, and cached for a
// couple of seconds so a flood of hellos costs one signature per interval, not one each.

import type { NodeIdentity } from '../../shared/identity.ts'
import {
  createSupernodeRecord,
  type SupernodeCapacity,
  type SupernodeLoad,
  type SupernodeRecord,
  type SupernodeRole,
} from '../../shared/supernode.ts'

/** Seconds a signed record is served before it is signed again with fresh load figures. */
export const RESIGN_INTERVAL_SECONDS = 2

export interface SelfRecordOptions {
  identity: NodeIdentity
  /** Read at each signing: the public URL is only known once the relay listens. */
  urls: () => string[]
  role: SupernodeRole
  capacity: SupernodeCapacity
  /** Read at each signing. */
  load: () => SupernodeLoad
  /** Milliseconds since the epoch. */
  now: () => number
  resignIntervalSeconds: number
  /** Signs as `identity`: the relay passes OpenSSL's (relay/openssl-signer.ts). noble's
   * default recomputes the public key at each signature: 1.3-2.2 ms of the relay's event
   * loop idle, 5-16 ms under load (a tail in bench tracker-ws's paced latency), against
   * OpenSSL's 0.03-0.04 ms. */
  sign?: (message: Uint8Array) => Uint8Array
}

export class SelfRecord {
  readonly #opts: SelfRecordOptions
  #record: SupernodeRecord | undefined
  #signedAtMs = 0
  #role: SupernodeRole
  #roleSinceMs: number

  constructor(
    options: Omit<SelfRecordOptions, 'now' | 'resignIntervalSeconds'> & Partial<SelfRecordOptions>,
  ) {
    this.#opts = { now: Date.now, resignIntervalSeconds: RESIGN_INTERVAL_SECONDS, ...options }
    this.#role = this.#opts.role
    this.#roleSinceMs = this.#opts.now()
  }

  /** When this relay took its current role (ms since the epoch). */
  get roleSinceMs(): number {
    return this.#roleSinceMs
  }

  get role(): SupernodeRole {
    return this.#role
  }

  /** Signs the record again at once as a 'candidate' (seq goes up): a leaving supernode's
   * word that it no longer tracks hashes. */
  demote(): SupernodeRecord {
    return this.#take('candidate')
  }

  /** Signs the record again at once as a 'supernode': a candidate accepting a promotion. */
  promote(): SupernodeRecord {
    return this.#take('supernode')
  }

  #take(role: SupernodeRole): SupernodeRecord {
    const nowMs = this.#opts.now()
    if (role !== this.#role) this.#roleSinceMs = nowMs
    this.#role = role
    this.#record = this.#sign(nowMs)
    return this.#record
  }

  get id(): string {
    return this.#opts.identity.id
  }

  /** The record, signed again if the cached one is older than the interval. */
  current(): SupernodeRecord {
    const nowMs = this.#opts.now()
    const age = nowMs - this.#signedAtMs
    if (this.#record && age >= 0 && age < this.#opts.resignIntervalSeconds * 1000) {
      return this.#record
    }
    this.#record = this.#sign(nowMs)
    return this.#record
  }

  #sign(nowMs: number): SupernodeRecord {
    const ts = Math.floor(nowMs / 1000)
    // seq is the signing time, so it keeps going up across restarts; within one run it goes
    // up even if the clock steps back.
    const seq = Math.max(ts, (this.#record?.seq ?? -1) + 1)
    const record = createSupernodeRecord(
      {
        urls: this.#opts.urls(),
        role: this.#role,
        capacity: this.#opts.capacity,
        load: this.#opts.load(),
      },
      this.#opts.identity,
      { seq, ts },
      this.#opts.sign,
    )
    this.#signedAtMs = nowMs
    return record
  }
}
