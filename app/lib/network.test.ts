import { describe, expect, it } from 'vitest'
import { createAdmission } from '../../shared/admission.ts'
import { bytesToHex, identityFromSecret, sign, type NodeIdentity } from '../../shared/identity.ts'
import { rendezvousOwners } from '../../shared/rendezvous.ts'
import {
  createSupernodeRecord,
  type SupernodeRecord,
  type SupernodeRole,
} from '../../shared/supernode.ts'
import {
  MAX_HOSTS_SHOWN,
  MAX_SUPERNODES_SHOWN,
  checkHosts,
  checkSupernodes,
  torrentOwners,
} from './network.ts'

const NOW = 1_800_000_000
const HASH = '0123456789abcdef0123456789abcdef01234567'

function node(n: number): NodeIdentity {
  return identityFromSecret(new Uint8Array(32).fill(n))
}

function record(n: number, role: SupernodeRole = 'supernode', ts = NOW): SupernodeRecord {
  return createSupernodeRecord(
    {
      urls: [`https://relay${n}.example`],
      role,
      capacity: { maxHashes: 100, maxPeers: 1000, bandwidth: 10_000 },
      load: { hashes: 50, peers: 100, bandwidth: 9000 },
    },
    node(n),
    { seq: ts, ts },
  )
}

/** Node `by`'s admission of node `id`'s record (shared/admission.ts). */
function admission(by: number, id: number) {
  const signer = node(by)
  return createAdmission(signer.id, node(id).id, NOW, (m) => bytesToHex(sign(signer, m)))
}

describe('checkSupernodes', () => {
  it('keeps verified records and counts forged, expired, repeated and malformed ones', () => {
    const good = [record(1), record(2, 'candidate')]
    const forged = { ...record(3), urls: ['https://evil.example'] }
    const expired = record(4, 'supernode', NOW - 365 * 86_400)
    const answer = {
      supernodes: [...good, forged, expired, record(1), 'junk', null, { id: 1 }],
      roots: [node(1).id],
    }
    const checked = checkSupernodes(answer, NOW)
    expect(checked.records.map((r) => r.id)).toEqual(good.map((r) => r.id))
    expect(checked.rejected).toBe(6)
    expect(checked.skipped).toBe(0)
  })

  it('verifies no more than MAX_SUPERNODES_SHOWN entries of a huge answer', () => {
    const list = new Array<unknown>(MAX_SUPERNODES_SHOWN + 10).fill('junk')
    list[0] = record(1)
    const checked = checkSupernodes({ supernodes: list, roots: [node(1).id] }, NOW)
    expect(checked.records).toHaveLength(1)
    expect(checked.rejected).toBe(MAX_SUPERNODES_SHOWN - 1)
    expect(checked.skipped).toBe(10)
  })

  it('leaves out supernodes no one admitted, and those past the per-prefix cap', () => {
    // 1 is the root and admitted 2 and 3; 7, 8 and 9 only claim the role, admitting each
    // other; a forged admission of 9 by 1 is counted as rejected.
    const sybils = [record(7), record(8), record(9)]
    const forged = { ...admission(1, 3), id: node(9).id }
    const answer = {
      supernodes: [record(1), record(2), record(3), record(5, 'candidate'), ...sybils],
      roots: [node(1).id],
      admissions: [admission(1, 2), admission(2, 3), admission(7, 8), admission(8, 9), forged],
      maxPerPrefix: 8,
    }
    const checked = checkSupernodes(JSON.parse(JSON.stringify(answer)), NOW)
    expect(checked.records.map((r) => r.id)).toEqual([1, 2, 3, 5].map((n) => node(n).id))
    expect(checked.unadmitted).toBe(3)
    expect(checked.rejected).toBe(1)
    expect(checked.selfId).toBe(node(1).id)
    // Every test URL is relayN.example: one prefix ("relayN.example" is two labels, so each
    // is its own); a cap of 1 per prefix changes nothing here, a shared name would.
    const sameName = { ...answer, maxPerPrefix: 1 }
    expect(checkSupernodes(sameName, NOW).records).toHaveLength(4)
  })

  it('refuses an answer that is not a list', () => {
    for (const bad of [null, 'x', {}, { supernodes: 'no' }]) {
      expect(() => checkSupernodes(bad, NOW)).toThrow(TypeError)
    }
  })
})

describe('checkHosts', () => {
  it('keeps well-formed rows and drops the rest', () => {
    const ok = { url: 'http://127.0.0.1:8080', lastSeen: NOW, successes: 3, failures: 1 }
    const rows = checkHosts({
      hosts: [
        ok,
        { ...ok, url: 'javascript:alert(1)' },
        { ...ok, url: 'https://a.example/path' },
        { ...ok, successes: -1 },
        { ...ok, lastSeen: '1' },
        { ...ok, failures: 1.5 },
        null,
      ],
    })
    expect(rows).toEqual([ok])
  })

  it('reads at most MAX_HOSTS_SHOWN rows and refuses a non-list', () => {
    const row = { url: 'https://a.example', lastSeen: 1, successes: 0, failures: 0 }
    const rows = checkHosts({ hosts: new Array(MAX_HOSTS_SHOWN * 2).fill(row) })
    expect(rows).toHaveLength(MAX_HOSTS_SHOWN)
    expect(() => checkHosts({ hosts: {} })).toThrow(TypeError)
  })
})

describe('torrentOwners', () => {
  it('agrees with the relays: top two of the live supernodes, candidates left out', () => {
    const records = [record(1), record(2), record(3), record(4, 'candidate')]
    const supernodeIds = records.slice(0, 3).map((r) => r.id)
    const owners = torrentOwners(HASH.toUpperCase(), records)
    expect(owners.map((r) => r.id)).toEqual(rendezvousOwners(HASH, supernodeIds))
    expect(owners).toHaveLength(2)
    expect(owners.map((r) => r.role)).toEqual(['supernode', 'supernode'])
  })

  it('names the one supernode when it is alone, and nobody when there is none', () => {
    expect(torrentOwners(HASH, [record(1)]).map((r) => r.id)).toEqual([node(1).id])
    expect(torrentOwners(HASH, [record(2, 'candidate')])).toEqual([])
  })
})
