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
// Admission (shared/admission.ts): records are stored whatever role they claim, but only
// admitted supernodes (an admission chain from a root, within the per-prefix cap) own
// hashes; a record that merely says `role: supernode` is a volunteer, like a candidate. The
// directory keeps the roots this relay trusts (its own id for a seed, the roots its --peer
// and bootstrap relays name) and admissions, at most MAX_ADMISSIONS_PER_ID per subject and
// `maxAdmissions` in all, taken only for ids it has records of, from signers it knows: a
// relay answering with thousands of admissions costs at most that many signature checks.
//
// Liveness (failover): the exchange reports every contact with a known supernode. After
// `maxMissedContacts` failures in a row the id is unreachable: its record stays stored (so
// the exchange keeps trying it) but it leaves the live set and so the owner set, and its
// hashes fall to the next-ranked owners. One answer brings it back.

import {
  AdmissionError,
  admittedIds,
  owningRecords,
  verifyAdmission,
  type Admission,
} from '../../shared/admission.ts'
import { RendezvousSet } from '../../shared/rendezvous.ts'
import { verify, type SignatureVerifier } from '../../shared/identity.ts'
import { MAX_SUPERNODE_RECORD_AGE_SECONDS } from '../../shared/limits.ts'
import {
  SupernodeRecordError,
  supersedes,
  verifySupernodeRecord,
  type SupernodeRecord,
  type SupernodeRecordErrorCode,
} from '../../shared/supernode.ts'
import {
  MAX_ADMISSIONS,
  MAX_ADMISSIONS_PER_ID,
  MAX_KNOWN_SUPERNODES,
  MAX_MISSED_CONTACTS,
  MAX_ROOTS,
  MAX_SUPERNODES_PER_PREFIX,
  MAX_SUPERNODES_PER_SOURCE,
} from '../limits.ts'

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
  /** Roots trusted from the start: this relay's own id when it seeds a network. */
  roots: readonly string[]
  /** Owning supernodes per address prefix (shared/admission.ts). */
  maxPerPrefix: number
  /** Admissions kept in all. */
  maxAdmissions: number
}

/** What GET /v1/supernodes answers beside the records, so others can check admissions. */
export interface AdmissionView {
  roots: string[]
  admissions: Admission[]
  maxPerPrefix: number
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
  readonly #roots: Set<string>
  /** Admissions by subject id, at most MAX_ADMISSIONS_PER_ID each (distinct signers). */
  readonly #admissions = new Map<string, Admission[]>()
  #admissionCount = 0
  /** Ids admitted through the stored admissions, recomputed after a change. */
  #admitted: Set<string> | undefined
  #set: { key: string; set: RendezvousSet; at: number } | undefined
  #prunedAt = -1

  constructor(
    options: Pick<SupernodeDirectoryOptions, 'self'> & Partial<SupernodeDirectoryOptions>,
  ) {
    this.#opts = {
      maxRecords: MAX_KNOWN_SUPERNODES,
      maxPerSource: MAX_SUPERNODES_PER_SOURCE,
      maxMissedContacts: MAX_MISSED_CONTACTS,
      roots: [],
      maxPerPrefix: MAX_SUPERNODES_PER_PREFIX,
      maxAdmissions: MAX_ADMISSIONS,
      ...options,
    }
    this.#roots = new Set(this.#opts.roots)
  }

  get maxPerPrefix(): number {
    return this.#opts.maxPerPrefix
  }

  /** The roots this relay trusts. */
  get roots(): ReadonlySet<string> {
    return this.#roots
  }

  /** Takes the roots a trusted relay (a --peer, a bootstrap source) names, up to MAX_ROOTS
   * in all. Never called with what a push carried. */
  adoptRoots(value: unknown): number {
    if (!Array.isArray(value)) return 0
    let added = 0
    for (const id of value.slice(0, MAX_ROOTS)) {
      if (this.#roots.size >= MAX_ROOTS) break
      if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id) || this.#roots.has(id)) continue
      this.#roots.add(id)
      added++
    }
    if (added) this.#admissionsChanged()
    return added
  }

  /**
   * Verifies an untrusted admission (parsed JSON) and keeps it if it is news about an id this
   * relay has a record of, signed by a root or an id it has a record of. Returns whether it
   * was kept; throws AdmissionError for a malformed or forged one.
   */
  offerAdmission(value: unknown, nowSeconds: number): boolean {
    const claim = value as Partial<Admission> | null
    const by = claim?.by
    const id = claim?.id
    if (typeof by !== 'string' || typeof id !== 'string') {
      throw new AdmissionError('admission must name by and id')
    }
    // Cheap checks first: a flood of admissions about strangers costs map lookups.
    const knows = (x: string) => x === this.selfId || this.#entries.has(x) || this.#roots.has(x)
    if (!knows(id) || !knows(by)) return false
    const held = this.#admissions.get(id) ?? []
    if (held.some((a) => a.by === by) || held.length >= MAX_ADMISSIONS_PER_ID) return false
    if (this.#admissionCount >= this.#opts.maxAdmissions) return false
    const admission = verifyAdmission(value, nowSeconds, this.#opts.verify ?? verify)
    this.#admissions.set(id, [...held, admission])
    this.#admissionCount++
    this.#admissionsChanged()
    return true
  }

  /**
   * Takes the admission part of a GET /v1/supernodes answer (after its records were
   * offered, so their ids are known): the roots when `trusted` (the relay is a --peer or a
   * bootstrap source), then each admission; malformed or forged ones are skipped. Returns
   * how many admissions were kept.
   */
  takeAdmissions(answer: unknown, nowSeconds: number, trusted: boolean): number {
    const { roots, admissions } = (answer ?? {}) as { roots?: unknown; admissions?: unknown }
    if (trusted) this.adoptRoots(roots)
    if (!Array.isArray(admissions)) return 0
    let kept = 0
    for (const value of admissions.slice(0, this.#opts.maxAdmissions)) {
      try {
        if (this.offerAdmission(value, nowSeconds)) kept++
      } catch (err) {
        if (!(err instanceof AdmissionError)) throw err
      }
    }
    return kept
  }

  /** Keeps an admission this relay signed itself (no check needed). */
  keepAdmission(admission: Admission): void {
    const held = this.#admissions.get(admission.id) ?? []
    if (held.some((a) => a.by === admission.by)) return
    // Our own word replaces the oldest held when full: we admitted it, we vouch for it.
    const kept = held.length >= MAX_ADMISSIONS_PER_ID ? held.slice(1) : held
    this.#admissionCount += kept.length + 1 - held.length
    this.#admissions.set(admission.id, [...kept, admission])
    this.#admissionsChanged()
  }

  /** Whether `id` is admitted (a root, or through a chain of admissions from one). */
  isAdmitted(id: string): boolean {
    return this.#admittedSet().has(id)
  }

  /** The admitted ids, computed once per change of roots or admissions. */
  #admittedSet(): Set<string> {
    this.#admitted ??= admittedIds(this.#roots, [...this.#admissions.values()].flat())
    return this.#admitted
  }

  /** Roots, the cap, and the admissions of every admitted id (dead ancestors included, so a
   * chain can be checked end to end), for GET /v1/supernodes. */
  admissionView(): AdmissionView {
    const admissions: Admission[] = []
    for (const [id, held] of this.#admissions) {
      if (this.isAdmitted(id)) admissions.push(...held.filter((a) => this.isAdmitted(a.by)))
    }
    return { roots: [...this.#roots], admissions, maxPerPrefix: this.#opts.maxPerPrefix }
  }

  #dropAdmissions(id: string): void {
    const held = this.#admissions.get(id)
    if (!held) return
    this.#admissions.delete(id)
    this.#admissionCount -= held.length
    this.#admissionsChanged()
  }

  #admissionsChanged(): void {
    this.#admitted = undefined
    this.changed()
  }

  /** Live records that own hashes: admitted supernodes within the per-prefix cap, own first
   * when it is one. */
  owning(nowSeconds: number): SupernodeRecord[] {
    return owningRecords(
      this.live(nowSeconds),
      this.#admittedSet(),
      this.#roots,
      this.#opts.maxPerPrefix,
    )
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
      // Its admissions stay while it is admitted: a chain through a dead node still counts.
      if (!this.isAdmitted(id)) this.#dropAdmissions(id)
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

  /** The rendezvous set over owning supernodes (owning()). Every tracker request asks
   * for it, so it is checked at most once a second (records expire by the second) and on
   * any change, and rebuilt only when its ids differ; the same object is returned while
   * they do not. */
  owners(nowSeconds: number): RendezvousSet {
    if (this.#set?.at === nowSeconds) return this.#set.set
    const ids = this.owning(nowSeconds)
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
