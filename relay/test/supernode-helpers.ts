// Reading a real relay's view of the supernode network in integration tests.

import { expect } from 'vitest'
import { admittedIds, owningRecords, verifyAdmission } from '../../shared/admission.ts'
import { verify } from '../../shared/identity.ts'
import { verifySupernodeRecord, type SupernodeRecord } from '../../shared/supernode.ts'
import { getJson } from './catalog-helpers.ts'
import type { RelayProcess } from './relay-process.ts'

/** GET /v1/supernodes, each record checked by the verifier every node runs. */
export async function knownSupernodes(r: RelayProcess): Promise<SupernodeRecord[]> {
  const { status, body } = await getJson(`${r.url}/v1/supernodes`)
  expect(status).toBe(200)
  const now = Math.floor(Date.now() / 1000)
  return (body.supernodes as unknown[]).map((v) => verifySupernodeRecord(v, now))
}

/** The relay's node id, from its own signed record. */
export async function nodeIdOf(r: RelayProcess): Promise<string> {
  return (await getJson(`${r.url}/v1/hello`)).body.id as string
}

/** The ids that own hashes in a relay's view, computed from its GET /v1/supernodes answer
 * with the code browsers run (shared/admission.ts), sorted. */
export async function owningIds(r: RelayProcess): Promise<string[]> {
  const { body } = await getJson(`${r.url}/v1/supernodes`)
  const now = Math.floor(Date.now() / 1000)
  const records = (body.supernodes as unknown[]).map((v) => verifySupernodeRecord(v, now))
  const roots = new Set(body.roots as string[])
  const admissions = (body.admissions as unknown[]).map((a) => verifyAdmission(a, now, verify))
  const admitted = admittedIds(roots, admissions)
  return owningRecords(records, admitted, roots, body.maxPerPrefix as number)
    .map((rec) => rec.id)
    .sort()
}
