// Who tracks hashes (ARCHITECTURE.md, "Supernodes, lookups and load"): promotion when a
// supernode is overloaded, rotation of long-serving supernodes, demotion when the network is
// underloaded. Each supernode decides for itself, every tick:
//
// - Overload: its load share (shared/supernode.ts loadShare: the fullest of hashes, peers
//   and bandwidth over capacity) is above the high watermark. It picks the best candidate it
//   knows (most spare capacity, then longest rested), checks it answers GET /v1/hello with
//   the id it claims, and sends it a signed 'promotion' (node-message.ts) at POST
//   /v1/promote. The candidate takes it, signs its record again as a supernode and pushes it
//   to the supernodes it knows; the promoter stores that record at once, so the owner set
//   changes and handoff.ts moves the hashes that now rank the new supernode first.
// - Conflict: a candidate takes one promotion. Another supernode promoting it at the same
//   time gets 409 and tries its next candidate, so two overloaded supernodes never both
//   count on the same one.
// - Rotation: after serving rotation-interval seconds (plus up to a quarter more, at random,
//   so supernodes that started together do not all turn over at once), a supernode promotes a
//   rested candidate (one seen as a candidate for at least half the interval) and, once it
//   has accepted, demotes itself.
// - Underload: when the live supernodes' mean load share is under the low watermark, none is
//   over the high one, and there are more than min-supernodes of them, the least loaded one
//   (ties: lowest id) that has served a while demotes itself. Every supernode computes the
//   same choice from the same records, so one steps down per round.
// - Admission (shared/admission.ts): a promotion comes with the promoter's signed admission
//   of the candidate, without which its record owns nothing anywhere. While the network has
//   fewer owning supernodes than min-supernodes, an admitted supernode also admits
//   volunteers: relays that run with `--role supernode` but that no one admitted yet and
//   that it has known, reachable, for a probation (--admission-probation), one per tick
//   (ADMISSIONS_PER_TICK), those known longest first, after checking that each answers as
//   itself, and never past the per-prefix cap. A flood of fresh records thus owns nothing
//   at once, and later at most a few seats per address block. And it countersigns the owning
//   supernodes it knows, so a chain of admissions outlives any one signer.
// Demoting is a leave without exiting: the relay signs its record as a candidate, pushes it,
// and hands off everything it tracked.

import { AdmissionError, addressPrefix, createAdmission } from '../../shared/admission.ts'
import type { SignatureVerifier } from '../../shared/identity.ts'
import { loadShare, verifySupernodeRecord, type SupernodeRecord } from '../../shared/supernode.ts'
import { PeerError, type PeerTransport } from '../peering/peer-fetch.ts'
import {
  ADMISSIONS_PER_TICK,
  MAX_ADMISSIONS_PER_ID,
  MAX_HELLO_ANSWER_BYTES,
  SUPERNODE_REQUEST_TIMEOUT_MS,
} from '../limits.ts'
import type { Logger } from '../log.ts'
import type { Refusals } from '../refusals.ts'
import type { OpenSslSigner } from '../openssl-signer.ts'
import type { SupernodeDirectory } from './directory.ts'
import {
  NodeMessageError,
  ReplayGuard,
  signNodeMessage,
  verifyNodeMessage,
} from './node-message.ts'
import type { SelfRecord } from './self-record.ts'

export interface ElectionOptions {
  /** Load share above which a supernode promotes a candidate. */
  highWatermark: number
  /** Mean load share of the network under which one supernode steps down. */
  lowWatermark: number
  /** Demotion never takes the network under this many supernodes. */
  minSupernodes: number
  /** Seconds a supernode serves before it swaps with a rested candidate; 0: never. */
  rotationSeconds: number
  /** Seconds between two promotions by this relay, and the least a supernode serves before
   * stepping down for underload: the network needs a few exchange rounds to learn a change. */
  cooldownSeconds: number
  /** Candidates tried per tick. */
  maxTries: number
  /** Seconds a volunteer must have been known here, answering, before it is admitted. */
  probationSeconds: number
  random: () => number
}

export interface ElectionDeps {
  self: SelfRecord
  directory: SupernodeDirectory
  signer: OpenSslSigner
  verify: SignatureVerifier
  log: Logger
  /** How requests to other relays travel (sealed over plain HTTP: relay/sealed/transport.ts). */
  transport: PeerTransport
  mayContact?: (url: string) => boolean
  /** Pushes this relay's new record to the supernodes it knows (after a role change). */
  publish: (record: SupernodeRecord) => Promise<number>
  /** Called after this relay's role changed: the owner set changed with it. */
  onRoleChange: () => void
  /** Counts volunteers left out for the per-prefix cap. */
  refusals?: Refusals
}

/** A promotion refused because the candidate took another one (HTTP 409). */
export class PromotionConflict extends Error {
  override name = 'PromotionConflict'
  readonly code = 'already-supernode'
}

export type PromotionReason = 'overload' | 'rotation'

export class Election {
  readonly stats = {
    promoted: 0,
    conflicts: 0,
    accepted: 0,
    demoted: 0,
    rotated: 0,
    admitted: 0,
  }
  readonly options: ElectionOptions
  readonly #deps: ElectionDeps
  readonly #replay = new ReplayGuard()
  /** Candidates that refused or failed lately, with when to try them again (ms). */
  readonly #skipUntil = new Map<string, number>()
  #nextPromotionMs = 0
  /** When this relay will rotate out (ms), drawn when it took the supernode role. */
  #rotateAtMs: number | undefined
  #promotedBy: string | undefined
  #busy = false

  constructor(deps: ElectionDeps, options: Partial<ElectionOptions> = {}) {
    this.#deps = deps
    this.options = {
      highWatermark: 0.8,
      lowWatermark: 0.1,
      minSupernodes: 8,
      rotationSeconds: 0,
      cooldownSeconds: 10,
      maxTries: 3,
      probationSeconds: 600,
      random: Math.random,
      ...options,
    }
  }

  /** One decision round; never throws. */
  async tick(nowMs = Date.now()): Promise<void> {
    if (this.#busy || this.#deps.self.role !== 'supernode') return
    this.#busy = true
    try {
      await this.#decide(nowMs)
    } catch (err) {
      this.#deps.log.warn('election round failed', { error: String(err) })
    } finally {
      this.#busy = false
    }
  }

  async #decide(nowMs: number): Promise<void> {
    const { self, directory } = this.#deps
    const nowSeconds = Math.floor(nowMs / 1000)
    const mine = self.current()
    if (!directory.isAdmitted(mine.id)) return
    this.#countersign(nowSeconds)
    await this.#admitVolunteers(nowMs)
    const servedSeconds = (nowMs - self.roleSinceMs) / 1000
    if (loadShare(mine) > this.options.highWatermark) {
      if (nowMs < this.#nextPromotionMs) return
      this.#nextPromotionMs = nowMs + this.options.cooldownSeconds * 1000
      await this.#promoteOne('overload', nowMs)
      return
    }
    const { rotationSeconds } = this.options
    if (rotationSeconds > 0) {
      this.#rotateAtMs ??=
        self.roleSinceMs + rotationSeconds * 1000 * (1 + this.options.random() / 4)
      if (nowMs >= this.#rotateAtMs && nowMs >= this.#nextPromotionMs) {
        this.#nextPromotionMs = nowMs + this.options.cooldownSeconds * 1000
        if (await this.#promoteOne('rotation', nowMs)) {
          this.stats.rotated++
          await this.stepDown('rotation')
        }
        return
      }
    }
    if (servedSeconds < this.options.cooldownSeconds) return
    const supernodes = directory.live(nowSeconds).filter((r) => r.role === 'supernode')
    if (supernodes.length <= this.options.minSupernodes) return
    const shares = supernodes.map((r) => ({ id: r.id, share: loadShare(r) }))
    if (shares.some((s) => s.share > this.options.highWatermark)) return
    const mean = shares.reduce((sum, s) => sum + s.share, 0) / shares.length
    if (mean >= this.options.lowWatermark) return
    shares.sort((a, b) => a.share - b.share || (a.id < b.id ? -1 : 1))
    if (shares[0].id !== mine.id) return
    await this.stepDown('underload')
  }

  /** Signs an admission of `id` and keeps it (it spreads with GET /v1/supernodes). */
  #admit(id: string, nowSeconds: number): void {
    const { directory, signer } = this.#deps
    directory.keepAdmission(createAdmission(signer.id, id, nowSeconds, (m) => signer.signHex(m)))
  }

  /** Adds our signature to owning supernodes that have fewer than MAX_ADMISSIONS_PER_ID. */
  #countersign(nowSeconds: number): void {
    const { directory, signer } = this.#deps
    const view = directory.admissionView().admissions
    for (const r of directory.owning(nowSeconds).slice(1)) {
      const signers = view.filter((a) => a.id === r.id).map((a) => a.by)
      if (signers.includes(signer.id) || signers.length >= MAX_ADMISSIONS_PER_ID) continue
      this.#admit(r.id, nowSeconds)
    }
  }

  /** While the network has fewer than minSupernodes owning supernodes, admits volunteers
   * (records saying `role: supernode` that are not admitted), known longest first, each
   * after it answered GET /v1/hello as itself, never past the per-prefix cap. */
  async #admitVolunteers(nowMs: number): Promise<void> {
    const { directory, mayContact, log } = this.#deps
    const nowSeconds = Math.floor(nowMs / 1000)
    const owning = directory.owning(nowSeconds)
    if (owning.length >= this.options.minSupernodes) return
    const perPrefix = new Map<string, number>()
    for (const r of owning) {
      const prefix = addressPrefix(r.urls[0])
      perPrefix.set(prefix, (perPrefix.get(prefix) ?? 0) + 1)
    }
    for (const [id, until] of this.#skipUntil) if (until <= nowMs) this.#skipUntil.delete(id)
    const volunteers = directory
      .live(nowSeconds)
      .slice(1)
      .filter((r) => r.role === 'supernode' && !directory.isAdmitted(r.id))
      .filter((r) => directory.roleAge(r.id, nowSeconds) >= this.options.probationSeconds)
      .filter((r) => {
        const prefix = addressPrefix(r.urls[0])
        if ((perPrefix.get(prefix) ?? 0) < directory.maxPerPrefix) return true
        this.#deps.refusals?.refuse('supernode-prefix-full', prefix, { id: r.id, url: r.urls[0] })
        return false
      })
      .filter((r) => directory.reachable(r.id) && !this.#skipUntil.has(r.id))
      .filter((r) => mayContact?.(r.urls[0]) ?? true)
      .sort(
        (a, b) =>
          directory.roleAge(b.id, nowSeconds) - directory.roleAge(a.id, nowSeconds) ||
          (a.id < b.id ? -1 : 1),
      )
    let admitted = 0
    // Each try is a request: a few per tick, whatever the number of volunteers.
    for (const volunteer of volunteers.slice(0, this.options.maxTries)) {
      if (admitted >= ADMISSIONS_PER_TICK) break
      const prefix = addressPrefix(volunteer.urls[0])
      if ((perPrefix.get(prefix) ?? 0) >= directory.maxPerPrefix) continue
      try {
        await this.#hello(volunteer)
      } catch (err) {
        this.#skipUntil.set(volunteer.id, nowMs + this.options.cooldownSeconds * 3000)
        log.info('volunteer not admitted', { id: volunteer.id, error: String(err) })
        continue
      }
      this.#admit(volunteer.id, nowSeconds)
      perPrefix.set(prefix, (perPrefix.get(prefix) ?? 0) + 1)
      admitted++
      this.stats.admitted++
      log.info('supernode admitted', { id: volunteer.id, url: volunteer.urls[0] })
    }
  }

  /** Checks the relay behind a record answers GET /v1/hello with the id it claims. */
  async #hello(record: SupernodeRecord): Promise<void> {
    const url = record.urls[0]
    const hello = await this.#deps.transport.fetchJson(`${url}/v1/hello`, {
      timeoutMs: SUPERNODE_REQUEST_TIMEOUT_MS,
      maxBytes: MAX_HELLO_ANSWER_BYTES,
    })
    if ((hello as { id?: unknown } | null)?.id !== record.id) {
      throw new Error(`${url} answers with another node id`)
    }
  }

  /** Tries the best candidates in turn; returns the promoted one's record, if any. */
  async #promoteOne(reason: PromotionReason, nowMs: number): Promise<SupernodeRecord | null> {
    const candidates = this.#candidates(reason, nowMs)
    if (candidates.length === 0) {
      this.#deps.log.debug('no candidate to promote', { reason })
      return null
    }
    for (const candidate of candidates.slice(0, this.options.maxTries)) {
      try {
        const record = await this.#promote(candidate, reason)
        this.stats.promoted++
        this.#deps.log.info('candidate promoted', { id: record.id, url: record.urls[0], reason })
        return record
      } catch (err) {
        // A refusal or an unreachable candidate: left alone for a while.
        this.#skipUntil.set(candidate.id, nowMs + this.options.cooldownSeconds * 3000)
        if (err instanceof PromotionConflict) this.stats.conflicts++
        this.#deps.log.info('promotion not taken', { id: candidate.id, error: String(err) })
      }
    }
    return null
  }

  /** Candidates worth promoting, best first: contactable, not lately refused, rested enough
   * for a rotation; most spare capacity first, then longest rested. */
  #candidates(reason: PromotionReason, nowMs: number): SupernodeRecord[] {
    const { directory, mayContact } = this.#deps
    const nowSeconds = Math.floor(nowMs / 1000)
    for (const [id, until] of this.#skipUntil) if (until <= nowMs) this.#skipUntil.delete(id)
    const minRest = reason === 'rotation' ? this.options.rotationSeconds / 2 : 0
    return directory
      .live(nowSeconds)
      .slice(1)
      .filter((r) => r.role === 'candidate' && !this.#skipUntil.has(r.id))
      .filter((r) => mayContact?.(r.urls[0]) ?? true)
      .filter((r) => directory.roleAge(r.id, nowSeconds) >= minRest)
      .map((r) => ({ r, spare: 1 - loadShare(r), rest: directory.roleAge(r.id, nowSeconds) }))
      .sort((a, b) => b.spare - a.spare || b.rest - a.rest || (a.r.id < b.r.id ? -1 : 1))
      .map((x) => x.r)
  }

  /** Verifies the candidate is reachable as itself, then asks it to serve. */
  async #promote(candidate: SupernodeRecord, reason: PromotionReason): Promise<SupernodeRecord> {
    const { directory, signer } = this.#deps
    const url = candidate.urls[0]
    const timeoutMs = SUPERNODE_REQUEST_TIMEOUT_MS
    await this.#hello(candidate)
    // The admission rides with the promotion, so the candidate owns hashes in its own view
    // at once; everyone else gets it with our GET /v1/supernodes.
    const nowAtStart = Math.floor(Date.now() / 1000)
    const admission = createAdmission(signer.id, candidate.id, nowAtStart, (m) => signer.signHex(m))
    const message = signNodeMessage(signer, 'promotion', candidate.id, { reason, admission })
    let answer: unknown
    try {
      answer = await this.#deps.transport.fetchJson(`${url}/v1/promote`, {
        method: 'POST',
        body: JSON.stringify(message),
        timeoutMs,
        maxBytes: MAX_HELLO_ANSWER_BYTES,
      })
    } catch (err) {
      if (err instanceof PeerError && err.status === 409) {
        throw new PromotionConflict(`${url} took another promotion`)
      }
      throw err
    }
    const nowSeconds = Math.floor(Date.now() / 1000)
    const record = verifySupernodeRecord(
      (answer as { record?: unknown } | null)?.record,
      nowSeconds,
      this.#deps.verify,
    )
    if (record.id !== candidate.id || record.role !== 'supernode') {
      throw new Error(`${url} answered the promotion with another record`)
    }
    directory.offer(record, new URL(url).hostname, nowSeconds)
    directory.keepAdmission(admission)
    return record
  }

  /**
   * Takes a promotion (parsed JSON from POST /v1/promote) as a candidate: checks it is a fresh
   * signed promotion to this relay from a supernode it knows, then serves. Returns the new
   * record. Throws NodeMessageError for a bad message and PromotionConflict when this relay
   * is a supernode already.
   */
  accept(value: unknown, nowSeconds: number): SupernodeRecord {
    const { self, directory, log } = this.#deps
    const { message, payload } = verifyNodeMessage(value, {
      self: directory.selfId,
      typ: 'promotion',
      nowSeconds,
      verify: this.#deps.verify,
      replay: this.#replay,
    })
    const promoter = directory.get(message.from, nowSeconds)
    const owns = promoter?.role === 'supernode' && directory.isAdmitted(promoter.id)
    if (!promoter || !owns || !directory.reachable(promoter.id)) {
      throw new NodeMessageError(
        'unknown-sender',
        'promotion from a node that is no known supernode',
      )
    }
    if (self.role === 'supernode') {
      throw new PromotionConflict(
        this.#promotedBy ? `promoted by ${this.#promotedBy} already` : 'a supernode already',
      )
    }
    // The promoter's admission of us (signed by it, so it verifies like any other).
    try {
      directory.offerAdmission((payload as { admission?: unknown } | null)?.admission, nowSeconds)
    } catch (err) {
      if (!(err instanceof AdmissionError)) throw err
      log.info('promotion came without a valid admission', { by: message.from })
    }
    const record = self.promote()
    this.#promotedBy = message.from
    this.#rotateAtMs = undefined
    this.stats.accepted++
    log.info('promoted to supernode', { by: message.from, seq: record.seq })
    this.#roleChanged(record)
    return record
  }

  /** Signs this relay's record as a candidate, pushes it, and hands everything off. */
  async stepDown(reason: 'rotation' | 'underload'): Promise<void> {
    const record = this.#deps.self.demote()
    this.#promotedBy = undefined
    this.#rotateAtMs = undefined
    this.stats.demoted++
    this.#deps.log.info('stepped down to candidate', { reason, seq: record.seq })
    this.#roleChanged(record)
  }

  #roleChanged(record: SupernodeRecord): void {
    this.#deps.directory.changed()
    this.#deps.onRoleChange()
    void this.#deps.publish(record).catch((err: unknown) => {
      this.#deps.log.warn('could not publish new role', { error: String(err) })
    })
  }
}
