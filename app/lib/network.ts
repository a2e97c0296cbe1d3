// What the network view reads from a relay (GET /v1/supernodes, GET /v1/hosts) and how it
// checks it. A relay is just another node: every supernode record is verified with the same
// code the relays run (shared/supernode.ts), host rows are shape-checked and bounded, and
// torrent owners are computed here with the relays' rendezvous hashing (shared/rendezvous.ts),
// so the view shows what this browser can check, not what a relay claims. Which supernodes
// own hashes is the relays' admission rule (shared/admission.ts), run here on the roots and
// admissions the relay sends: a record that only claims `role: supernode` is left out, so no
// one can make a browser announce to their tracker by pushing records to a relay.

import {
  AdmissionError,
  admittedIds,
  owningRecords,
  verifyAdmission,
  type Admission,
} from '../../shared/admission.ts'
import { RendezvousSet } from '../../shared/rendezvous.ts'
import { verify as verifyEd25519, type SignatureVerifier } from '../../shared/identity.ts'
import { verifySupernodeRecord, type SupernodeRecord } from '../../shared/supernode.ts'
import { relayOrigin } from '../catalog/relay-client.ts'

/** Records verified from one answer: a signature check each, so a relay cannot make the
 * page spend long on a huge list. Enough for a network of a few hundred supernodes. */
export const MAX_SUPERNODES_SHOWN = 256
/** Host cache rows read from one answer. */
export const MAX_HOSTS_SHOWN = 256

/** Admissions verified from one answer (each a signature check). */
export const MAX_ADMISSIONS_READ = 4 * MAX_SUPERNODES_SHOWN
/** Roots taken from one answer. */
export const MAX_ROOTS_READ = 8
/** The diversity cap used when an answer names none (the relays' default). */
export const DEFAULT_MAX_PER_PREFIX = 2

export interface CheckedSupernodes {
  /** Candidates and the supernodes that own hashes, in the answer's order. */
  records: SupernodeRecord[]
  /** The answering relay's id (its record comes first), admitted or not. */
  selfId: string | undefined
  /** Records that say `role: supernode` but own nothing: not admitted, or past the
   * per-prefix cap. Left out of `records`. */
  unadmitted: number
  /** Entries that failed verification (forged, expired, malformed) or repeated an id. */
  rejected: number
  /** Entries past MAX_SUPERNODES_SHOWN, not read. */
  skipped: number
}

/** Verifies every record of a `GET /v1/supernodes` answer; throws TypeError when the
 * answer is not a list of them at all. */
export function checkSupernodes(
  value: unknown,
  nowSeconds: number,
  verify: SignatureVerifier = verifyEd25519,
): CheckedSupernodes {
  const answer = value as {
    supernodes?: unknown
    roots?: unknown
    admissions?: unknown
    maxPerPrefix?: unknown
  } | null
  const list = answer?.supernodes
  if (!answer || !Array.isArray(list)) throw new TypeError('the relay sent no list of supernodes')
  const verified: SupernodeRecord[] = []
  const seen = new Set<string>()
  let rejected = 0
  for (const item of list.slice(0, MAX_SUPERNODES_SHOWN)) {
    try {
      const record = verifySupernodeRecord(item, nowSeconds, verify)
      if (seen.has(record.id)) {
        rejected++
        continue
      }
      seen.add(record.id)
      verified.push(record)
    } catch {
      rejected++
    }
  }
  const roots = new Set(
    (Array.isArray(answer.roots) ? answer.roots : [])
      .slice(0, MAX_ROOTS_READ)
      .filter((id): id is string => typeof id === 'string'),
  )
  const admissions: Admission[] = []
  for (const item of Array.isArray(answer.admissions)
    ? answer.admissions.slice(0, MAX_ADMISSIONS_READ)
    : []) {
    // Only admissions about records in the list can matter; strangers cost no check.
    const claim = item as Partial<Admission> | null
    if (typeof claim?.id !== 'string' || !seen.has(claim.id)) continue
    try {
      admissions.push(verifyAdmission(item, nowSeconds, verify))
    } catch (err) {
      if (!(err instanceof AdmissionError)) throw err
      rejected++
    }
  }
  const cap = answer.maxPerPrefix
  const maxPerPrefix =
    Number.isSafeInteger(cap) && (cap as number) >= 1 ? (cap as number) : DEFAULT_MAX_PER_PREFIX
  const owning = new Set(
    owningRecords(verified, admittedIds(roots, admissions), roots, maxPerPrefix).map((r) => r.id),
  )
  const records = verified.filter((r) => r.role === 'candidate' || owning.has(r.id))
  return {
    records,
    selfId: verified[0]?.id,
    unadmitted: verified.length - records.length,
    rejected,
    skipped: Math.max(0, list.length - MAX_SUPERNODES_SHOWN),
  }
}

export interface HostRow {
  url: string
  /** Unix seconds. */
  lastSeen: number
  successes: number
  failures: number
}

/** The rows of a `GET /v1/hosts` answer that are well-formed; throws TypeError when the
 * answer is not a list. */
export function checkHosts(value: unknown): HostRow[] {
  const list = (value as { hosts?: unknown } | null)?.hosts
  if (!Array.isArray(list)) throw new TypeError('the relay sent no host list')
  const out: HostRow[] = []
  for (const item of list.slice(0, MAX_HOSTS_SHOWN)) {
    const h = item as Record<string, unknown> | null
    if (typeof h !== 'object' || h === null) continue
    const url = relayOrigin(h.url)
    if (!url || !isCount(h.lastSeen) || !isCount(h.successes) || !isCount(h.failures)) continue
    out.push({ url, lastSeen: h.lastSeen, successes: h.successes, failures: h.failures })
  }
  return out
}

/** The rendezvous set over the records' live supernodes (candidates own nothing), as
 * relay/supernode/directory.ts builds it. */
export function ownerSet(records: readonly SupernodeRecord[]): RendezvousSet {
  return new RendezvousSet(records.filter((r) => r.role === 'supernode').map((r) => r.id))
}

/** The owners of `infoHash`, best first, with their records. */
export function torrentOwners(
  infoHash: string,
  records: readonly SupernodeRecord[],
  set: RendezvousSet = ownerSet(records),
): SupernodeRecord[] {
  const byId = new Map(records.map((r) => [r.id, r]))
  return set.owners(infoHash.toLowerCase()).map((id) => byId.get(id)!)
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
}
