// The supernodes this relay knows (ARCHITECTURE.md, "Supernodes, lookups and load"): verified
// supernode records keyed by node id, the highest seq winning (shared/supernode.ts), records
// older than MAX_SUPERNODE_RECORD_AGE_SECONDS dropped. This relay's own record is always in
// it. The live set's supernode ids (role 'supernode'; candidates only volunteer) feed the
// RendezvousSet that decides which nodes own an info hash, so every relay that knows the
// same records computes the same owners.
//
// Bounds (relay/limits.ts): at most `maxRecords` records, and at most `maxPerSource` of them
// brought in by one source (an address that pushed them, or a relay we pulled them from).
// When full, new ids are refused rather than old ones evicted: an attacker minting keys
// must not be able to push real supernodes out.
//
// Liveness (failover): the exchange reports every contact with a known supernode. After
// `maxMissedContacts` failures in a row the id is unreachable: its record stays stored (so
// the exchange keeps trying it) but it leaves the live set and so the owner set, and its
// hashes fall to the next-ranked owners. One answer brings it back.

import { RendezvousSet } from '../../shared/rendezvous.ts'
import type { SignatureVerifier } from '../../shared/identity.ts'
import { MAX_SUPERNODE_RECORD_AGE_SECONDS } from '../../shared/limits.ts'
import {
  SupernodeRecordError,
  supersedes,
  verifySupernodeRecord,
  type SupernodeRecord,
  type SupernodeRecordErrorCode,
} from '../../shared/supernode.ts'
import { MAX_KNOWN_SUPERNODES, MAX_MISSED_CONTACTS, MAX_SUPERNODES_PER_SOURCE } from '../limits.ts'

export interface SupernodeDirectoryOptions {
  /** This relay's own record (signed on demand). */
  self: () => SupernodeRecord
  /** This relay's node id, if known up front: saves signing a record to learn it. */
  selfId?: string
  verify?: SignatureVerifier
  maxRecords: number
  maxPerSource: number
  /** Failed contacts in a row after which a supernode is left out of the live set. */
  maxMissedContacts: number
  /** Told of every record stored (new or replacing), with the source that brought it. */
  onStored?: (record: SupernodeRecord, source: string) => void
}

export type OfferOutcome =
  | { outcome: 'added' | 'replaced'; id: string }
  /** Known already with this seq or a higher one (a replay, or news we had). */
  | { outcome: 'stale'; id: string }
  /** Our own id: only we sign our record. */
  | { outcome: 'self'; id: string }
  | { outcome: 'refused'; code: RefusalCode; error: string }

/** Why a record was not stored: the record's own fault (shared/supernode.ts), no room
 * ('full'), its source's id quota ('source-quota'), or its sender's push rate ('quota',
 * charged by the HTTP route before the directory sees the record). */
export type RefusalCode = SupernodeRecordErrorCode | 'full' | 'source-quota' | 'quota'

interface Entry {
  record: SupernodeRecord
  /** Who brought this id in first; charged against that source's quota while stored. */
  source: string
  /** When this relay first saw the id in its current role (unix seconds): how long a
   * candidate has rested, as far as this relay can tell. */
  roleSince: number
}

export class SupernodeDirectory {
  readonly #opts: SupernodeDirectoryOptions
  readonly #entries = new Map<string, Entry>()
  readonly #perSource = new Map<string, number>()
  /** Failed contacts in a row, by stored id (an id that answers is deleted). */
  readonly #missed = new Map<string, number>()
  #set: { key: string; set: RendezvousSet; at: number } | undefined
  #prunedAt = -1

  constructor(
    options: Pick<SupernodeDirectoryOptions, 'self'> & Partial<SupernodeDirectoryOptions>,
  ) {
    this.#opts = {
      maxRecords: MAX_KNOWN_SUPERNODES,
      maxPerSource: MAX_SUPERNODES_PER_SOURCE,
      maxMissedContacts: MAX_MISSED_CONTACTS,
      ...options,
    }
  }

  get selfId(): string {
    return this.#opts.selfId ?? this.#opts.self().id
  }

  /** Records stored, own one aside (expired ones included until the next prune). */
  get size(): number {
    return this.#entries.size
  }

  /** Ids charged to `source`. */
  countFrom(source: string): number {
    return this.#perSource.get(source) ?? 0
  }

  /** Verifies an untrusted value (parsed JSON) and stores it if it is news. */
  offer(value: unknown, source: string, nowSeconds: number): OfferOutcome {
    // A new id from a source at its quota, or with no room left, is refused before its
    // signature is checked: a flood of fresh keys then costs a map lookup each, not a verify.
    const claimed = (value as { id?: unknown } | null)?.id
    if (typeof claimed !== 'string' || !this.#entries.has(claimed)) {
      const refusal = this.#roomFor(source, nowSeconds)
      if (refusal) return refusal
    }
    let record: SupernodeRecord
    try {
      record = verifySupernodeRecord(value, nowSeconds, this.#opts.verify)
    } catch (err) {
      if (!(err instanceof SupernodeRecordError)) throw err
      return { outcome: 'refused', code: err.code, error: err.message }
    }
    if (record.id === this.selfId) return { outcome: 'self', id: record.id }
    const stored = this.#entries.get(record.id)
    if (stored) {
      if (!supersedes(record, stored.record)) return { outcome: 'stale', id: record.id }
      if (record.role !== stored.record.role) stored.roleSince = nowSeconds
      stored.record = record
      this.changed()
      this.#opts.onStored?.(record, source)
      return { outcome: 'replaced', id: record.id }
    }
    const refusal = this.#roomFor(source, nowSeconds)
    if (refusal) return refusal
    this.#entries.set(record.id, { record, source, roleSince: nowSeconds })
    this.#perSource.set(source, this.countFrom(source) + 1)
    this.changed()
    this.#opts.onStored?.(record, source)
    return { outcome: 'added', id: record.id }
  }

  /** Why a new id from `source` cannot be stored now, if it cannot. */
  #roomFor(source: string, nowSeconds: number): OfferOutcome | undefined {
    // Pruning scans every record: at most once a second while full and flooded.
    if (this.#entries.size >= this.#opts.maxRecords && this.#prunedAt !== nowSeconds) {
      this.#prunedAt = nowSeconds
      this.prune(nowSeconds)
    }
    if (this.#entries.size >= this.#opts.maxRecords) {
      return { outcome: 'refused', code: 'full', error: 'supernode directory is full' }
    }
    const charged = this.countFrom(source)
    if (charged >= this.#opts.maxPerSource) {
      const error = `${source} brought in ${charged} supernodes already`
      return { outcome: 'refused', code: 'source-quota', error }
    }
    return undefined
  }

  /** Drops records older than the age bound; returns how many went. */
  prune(nowSeconds: number): number {
    let gone = 0
    for (const [id, entry] of this.#entries) {
      if (entry.record.ts >= nowSeconds - MAX_SUPERNODE_RECORD_AGE_SECONDS) continue
      this.#entries.delete(id)
      this.#missed.delete(id)
      const left = this.countFrom(entry.source) - 1
      if (left > 0) this.#perSource.set(entry.source, left)
      else this.#perSource.delete(entry.source)
      gone++
    }
    if (gone) this.changed()
    return gone
  }

  get(id: string, nowSeconds: number): SupernodeRecord | undefined {
    if (id === this.selfId) return this.#opts.self()
    const record = this.#entries.get(id)?.record
    return record && isFresh(record, nowSeconds) ? record : undefined
  }

  /** Records whether a stored supernode answered a contact; returns whether it is now
   * reachable. Ids not stored (and our own) are ignored, so the map stays bounded. */
  contacted(id: string, ok: boolean): boolean {
    if (!this.#entries.has(id)) return true
    const before = this.reachable(id)
    if (ok) this.#missed.delete(id)
    else this.#missed.set(id, (this.#missed.get(id) ?? 0) + 1)
    if (this.reachable(id) !== before) this.changed()
    return this.reachable(id)
  }

  /** False once `maxMissedContacts` contacts in a row have failed. */
  reachable(id: string): boolean {
    return (this.#missed.get(id) ?? 0) < this.#opts.maxMissedContacts
  }

  /** Every live record (fresh and reachable), own one first, then by id. */
  live(nowSeconds: number): SupernodeRecord[] {
    return this.#fresh(nowSeconds, true)
  }

  /** Fresh records left out of the live set for missed contacts: still worth trying. */
  unreachable(nowSeconds: number): SupernodeRecord[] {
    return this.#fresh(nowSeconds, false).slice(1)
  }

  #fresh(nowSeconds: number, reachable: boolean): SupernodeRecord[] {
    const others = [...this.#entries.values()]
      .map((e) => e.record)
      .filter((r) => isFresh(r, nowSeconds) && this.reachable(r.id) === reachable)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
    return [this.#opts.self(), ...others]
  }

  /** Tells the directory something behind the owner set changed (its own record's role,
   * say): the next owners() call looks again. */
  changed(): void {
    if (this.#set) this.#set.at = -1
  }

  /** Seconds since `id` was first seen in its current role here (0 for unknown ids). */
  roleAge(id: string, nowSeconds: number): number {
    const entry = this.#entries.get(id)
    return entry ? Math.max(0, nowSeconds - entry.roleSince) : 0
  }

  /** The rendezvous set over live supernodes (role 'supernode'). Every tracker request asks
   * for it, so it is checked at most once a second (records expire by the second) and on
   * any change, and rebuilt only when its ids differ; the same object is returned while
   * they do not. */
  owners(nowSeconds: number): RendezvousSet {
    if (this.#set?.at === nowSeconds) return this.#set.set
    const ids = this.live(nowSeconds)
      .filter((r) => r.role === 'supernode')
      .map((r) => r.id)
      .sort()
    const key = ids.join(',')
    if (this.#set?.key !== key) this.#set = { key, set: new RendezvousSet(ids), at: nowSeconds }
    else this.#set.at = nowSeconds
    return this.#set.set
  }
}

function isFresh(record: SupernodeRecord, nowSeconds: number): boolean {
  return record.ts >= nowSeconds - MAX_SUPERNODE_RECORD_AGE_SECONDS
}
