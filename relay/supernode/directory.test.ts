import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_CLOCK_SKEW_SECONDS, MAX_SUPERNODE_RECORD_AGE_SECONDS } from '../../shared/limits.ts'
import { rendezvousOwners } from '../../shared/rendezvous.ts'
import { createFastVerifier } from '../signatures/verify.ts'
import { SupernodeDirectory } from './directory.ts'
import { RecordSigner } from './test-support.ts'

const NOW = 1_764_115_200
const verify = createFastVerifier()

function setup(limits: { maxRecords?: number; maxPerSource?: number; maxPerPrefix?: number } = {}) {
  const me = new RecordSigner()
  let now = NOW
  // This relay seeds the network: its own id is the root.
  const dir = new SupernodeDirectory({
    self: () => me.record({ seq: now, ts: now }),
    verify,
    roots: [me.id],
    ...limits,
  })
  /** Admits each id with this relay's own signature. */
  const admit = (...ids: string[]) => {
    for (const id of ids) dir.keepAdmission(me.admit(id, NOW))
  }
  return { me, dir, admit, at: (s: number) => (now = s) }
}

/** Round-trips through JSON, as records arrive from the network. */
const wire = (value: unknown): unknown => JSON.parse(JSON.stringify(value))

describe('SupernodeDirectory', () => {
  it('stores a verified record, always lists its own first, and keeps the highest seq', () => {
    const { me, dir } = setup()
    const other = new RecordSigner()
    expect(dir.live(NOW).map((r) => r.id)).toEqual([me.id])
    expect(dir.offer(wire(other.record({ seq: 5, ts: NOW })), 'a', NOW)).toEqual({
      outcome: 'added',
      id: other.id,
    })
    expect(dir.offer(wire(other.record({ seq: 7, ts: NOW })), 'b', NOW).outcome).toBe('replaced')
    expect(dir.offer(wire(other.record({ seq: 7, ts: NOW })), 'b', NOW).outcome).toBe('stale')
    expect(dir.live(NOW).map((r) => [r.id, r.seq])).toEqual([
      [me.id, NOW],
      [other.id, 7],
    ])
    expect(dir.get(other.id, NOW)?.seq).toBe(7)
  })

  it('builds the owner set from live admitted supernodes only, never candidates', () => {
    const { me, dir, admit } = setup()
    const a = new RecordSigner()
    const b = new RecordSigner()
    const candidate = new RecordSigner()
    dir.offer(wire(a.record({ seq: 1, ts: NOW })), 's', NOW)
    dir.offer(wire(b.record({ seq: 1, ts: NOW })), 's', NOW)
    dir.offer(wire(candidate.record({ seq: 1, ts: NOW, role: 'candidate' })), 's', NOW)
    admit(a.id, b.id, candidate.id)
    const set = dir.owners(NOW)
    expect([...set.ids]).toEqual([me.id, a.id, b.id].sort())
    const hash = 'ab'.repeat(20)
    expect(set.owners(hash)).toEqual(rendezvousOwners(hash, [me.id, a.id, b.id]))
    expect(dir.owners(NOW)).toBe(set)
  })

  it('drops records past the age bound from the live set and, on prune, from memory', () => {
    const { dir, at } = setup()
    const other = new RecordSigner()
    dir.offer(wire(other.record({ seq: 1, ts: NOW })), 'a', NOW)
    const later = NOW + MAX_SUPERNODE_RECORD_AGE_SECONDS + 1
    at(later)
    expect(dir.live(later)).toHaveLength(1)
    expect(dir.get(other.id, later)).toBeUndefined()
    expect(dir.owners(later).has(other.id)).toBe(false)
    expect(dir.prune(later)).toBe(1)
    expect(dir.size).toBe(0)
    expect(dir.countFrom('a')).toBe(0)
  })

  it('leaves a supernode out of the owner set after MAX_MISSED_CONTACTS misses in a row', () => {
    const { me, dir, admit } = setup()
    const a = new RecordSigner()
    const b = new RecordSigner()
    dir.offer(wire(a.record({ seq: 1, ts: NOW })), 's', NOW)
    dir.offer(wire(b.record({ seq: 1, ts: NOW })), 's', NOW)
    admit(a.id, b.id)
    const all = [me.id, a.id, b.id].sort()
    // Misses not in a row do not count: an answer in between resets them.
    for (const ok of [false, false, true, false, false]) expect(dir.contacted(b.id, ok)).toBe(true)
    expect([...dir.owners(NOW).ids]).toEqual(all)
    expect(dir.contacted(b.id, false)).toBe(false)
    // Out of the live set and the owner set; the record stays stored and is still tried.
    expect([...dir.owners(NOW).ids]).toEqual([me.id, a.id].sort())
    expect(dir.live(NOW).map((r) => r.id)).toEqual([me.id, a.id])
    expect(dir.unreachable(NOW).map((r) => r.id)).toEqual([b.id])
    expect(dir.size).toBe(2)
    const hash = 'cd'.repeat(20)
    expect(dir.owners(NOW).owners(hash)).toEqual(rendezvousOwners(hash, [me.id, a.id]))
    // A newer record relayed by someone else does not prove it answers.
    dir.offer(wire(b.record({ seq: 2, ts: NOW })), 's', NOW)
    expect(dir.reachable(b.id)).toBe(false)
    // One answer brings it back.
    expect(dir.contacted(b.id, true)).toBe(true)
    expect([...dir.owners(NOW).ids]).toEqual(all)
    expect(dir.unreachable(NOW)).toEqual([])
  })

  it('ignores contacts with ids it does not store, so the miss counts stay bounded', () => {
    const { me, dir } = setup({ maxRecords: 4 })
    for (let i = 0; i < 1000; i++) dir.contacted(i.toString(16).padStart(64, '0'), false)
    expect(dir.contacted(me.id, false)).toBe(true)
    expect(dir.reachable('0'.repeat(64))).toBe(true)
    expect(dir.live(NOW).map((r) => r.id)).toEqual([me.id])
  })

  it('forgets the misses of a pruned record', () => {
    const { dir, at } = setup()
    const other = new RecordSigner()
    dir.offer(wire(other.record({ seq: 1, ts: NOW })), 'a', NOW)
    for (let i = 0; i < 3; i++) dir.contacted(other.id, false)
    expect(dir.reachable(other.id)).toBe(false)
    const later = NOW + MAX_SUPERNODE_RECORD_AGE_SECONDS + 1
    at(later)
    dir.prune(later)
    dir.offer(wire(other.record({ seq: 2, ts: later })), 'a', later)
    expect(dir.reachable(other.id)).toBe(true)
    expect(dir.live(later).map((r) => r.id)).toContain(other.id)
  })

  it('ignores a record for its own id', () => {
    const { me, dir } = setup()
    expect(dir.offer(wire(me.record({ seq: NOW + 99, ts: NOW })), 'a', NOW).outcome).toBe('self')
    expect(dir.live(NOW)[0].seq).toBe(NOW)
  })

  describe('hostile input', () => {
    it('refuses a forged record (tampered field) and keeps what it had', () => {
      const { dir } = setup()
      const other = new RecordSigner()
      dir.offer(wire(other.record({ seq: 1, ts: NOW })), 'a', NOW)
      const forged = { ...other.record({ seq: 2, ts: NOW }), urls: ['https://evil.example'] }
      expect(dir.offer(wire(forged), 'a', NOW)).toMatchObject({
        outcome: 'refused',
        code: 'bad-signature',
      })
      expect(dir.get(other.id, NOW)?.urls).toEqual([`https://n${other.id.slice(0, 8)}.example`])
    })

    it('refuses a record signed with the wrong key for its id', () => {
      const { dir } = setup()
      const victim = new RecordSigner()
      const attacker = new RecordSigner()
      const wrong = attacker.record({ seq: 9, ts: NOW, id: victim.id })
      expect(dir.offer(wire(wrong), 'a', NOW)).toMatchObject({ code: 'bad-signature' })
      expect(dir.get(victim.id, NOW)).toBeUndefined()
    })

    it('does not let a replayed old seq replace a newer record', () => {
      const { dir } = setup()
      const other = new RecordSigner()
      const old = wire(other.record({ seq: 3, ts: NOW - 10, url: 'https://old.example' }))
      dir.offer(wire(other.record({ seq: 4, ts: NOW })), 'a', NOW)
      expect(dir.offer(old, 'b', NOW).outcome).toBe('stale')
      expect(dir.get(other.id, NOW)?.seq).toBe(4)
    })

    it('refuses a record from the future and one too old to be live', () => {
      const { dir } = setup()
      const other = new RecordSigner()
      const future = other.record({ seq: 1, ts: NOW + MAX_CLOCK_SKEW_SECONDS + 1 })
      expect(dir.offer(wire(future), 'a', NOW)).toMatchObject({ code: 'future' })
      const stale = other.record({ seq: 1, ts: NOW - MAX_SUPERNODE_RECORD_AGE_SECONDS - 1 })
      expect(dir.offer(wire(stale), 'a', NOW)).toMatchObject({ code: 'expired' })
      expect(dir.offer('{"v":1}', 'a', NOW)).toMatchObject({ code: 'malformed' })
      expect(dir.offer(null, 'a', NOW)).toMatchObject({ code: 'malformed' })
      expect(dir.size).toBe(0)
    })

    it('caps 10,000 records from one source at the per-source quota, and others still get in', () => {
      const { dir } = setup({ maxPerSource: 100, maxRecords: 300 })
      const outcomes = new Map<string, number>()
      // The first 200 are really signed by fresh keys; the rest claim fresh ids with a copied
      // signature (signing 10,000 keys costs seconds): past the quota they are refused before
      // any signature is checked, valid or not.
      const signed = Array.from({ length: 200 }, () =>
        new RecordSigner().record({ seq: 1, ts: NOW }),
      )
      for (let i = 0; i < 10_000; i++) {
        const r = signed[i] ?? { ...signed[0], id: i.toString(16).padStart(64, '0') }
        const o = dir.offer(r, '198.51.100.7', NOW)
        const key = o.outcome === 'refused' ? o.code : o.outcome
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
      }
      expect(Object.fromEntries(outcomes)).toEqual({ added: 100, 'source-quota': 9900 })
      expect(dir.countFrom('198.51.100.7')).toBe(100)
      const honest = new RecordSigner()
      expect(dir.offer(honest.record({ seq: 1, ts: NOW }), '203.0.113.1', NOW).outcome).toBe(
        'added',
      )
    })

    it('refuses new ids when full instead of evicting known ones', () => {
      const { dir } = setup({ maxPerSource: 10, maxRecords: 20 })
      const known: RecordSigner[] = []
      for (let s = 0; s < 3; s++) {
        for (let i = 0; i < 10; i++) {
          const signer = new RecordSigner()
          const o = dir.offer(signer.record({ seq: 1, ts: NOW }), `src${s}`, NOW)
          if (o.outcome === 'added') known.push(signer)
          else expect(o).toMatchObject({ code: 'full' })
        }
      }
      expect(known).toHaveLength(20)
      expect(dir.size).toBe(20)
      // A known id still updates when the directory is full.
      expect(dir.offer(known[0].record({ seq: 2, ts: NOW }), 'x', NOW).outcome).toBe('replaced')
    })
  })

  it('property: whatever order records arrive in, each id ends at its highest seq', () => {
    const signers = Array.from({ length: 4 }, () => new RecordSigner())
    const records = signers.map((s) =>
      Array.from({ length: 6 }, (_, seq) => wire(s.record({ seq, ts: NOW - 60 + seq }))),
    )
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(3), fc.nat(5), fc.constantFrom('a', 'b', 'c')), {
          maxLength: 40,
        }),
        (offers) => {
          const { me, dir, admit } = setup()
          admit(...signers.map((s) => s.id))
          const best = new Map<string, number>()
          for (const [who, seq, source] of offers) {
            dir.offer(records[who][seq], source, NOW)
            const id = signers[who].id
            best.set(id, Math.max(best.get(id) ?? -1, seq))
          }
          const live = dir.live(NOW)
          expect(live[0].id).toBe(me.id)
          expect(new Map(live.slice(1).map((r) => [r.id, r.seq]))).toEqual(best)
          expect([...dir.owners(NOW).ids]).toEqual([me.id, ...best.keys()].sort())
        },
      ),
      { numRuns: 100 },
    )
  })

  describe('admission (shared/admission.ts)', () => {
    it('stores self-declared supernodes but never lets them own a hash', () => {
      const { me, dir } = setup()
      const sybils = Array.from({ length: 30 }, () => new RecordSigner())
      for (const s of sybils) {
        expect(dir.offer(wire(s.record({ seq: 1, ts: NOW })), '192.0.2.66', NOW).outcome).toBe(
          'added',
        )
      }
      // Each sybil admitting the next is no admission: none of them is admitted to begin with.
      for (let i = 0; i < sybils.length; i++) {
        const next = sybils[(i + 1) % sybils.length]
        expect(dir.offerAdmission(wire(sybils[i].admit(next.id, NOW)), NOW)).toBe(true)
      }
      expect(dir.live(NOW)).toHaveLength(31)
      expect([...dir.owners(NOW).ids]).toEqual([me.id])
      expect(dir.owning(NOW).map((r) => r.id)).toEqual([me.id])
      expect(dir.admissionView().admissions).toEqual([])
    })

    it('adopts roots only when told the source is trusted', () => {
      const { me, dir } = setup()
      const other = new RecordSigner()
      const admitted = new RecordSigner()
      dir.offer(wire(other.record({ seq: 1, ts: NOW })), 's', NOW)
      dir.offer(wire(admitted.record({ seq: 1, ts: NOW })), 's', NOW)
      const answer = wire({ roots: [other.id], admissions: [other.admit(admitted.id, NOW)] })
      expect(dir.takeAdmissions(answer, NOW, false)).toBe(1)
      expect([...dir.owners(NOW).ids]).toEqual([me.id])
      dir.takeAdmissions(answer, NOW, true)
      expect([...dir.owners(NOW).ids].sort()).toEqual([me.id, other.id, admitted.id].sort())
      // Junk in the list is skipped, not thrown.
      expect(dir.takeAdmissions({ admissions: [null, 1, { by: 'x', id: 'y' }] }, NOW, true)).toBe(0)
    })

    it('checks no signature for admissions about ids it has no record of', () => {
      let checks = 0
      const me = new RecordSigner()
      const dir = new SupernodeDirectory({
        self: () => me.record({ seq: NOW, ts: NOW }),
        verify: (...args) => (checks++, verify(...args)),
        roots: [me.id],
      })
      const stranger = new RecordSigner()
      const junk = Array.from({ length: 1000 }, () => stranger.admit(new RecordSigner().id, NOW))
      expect(dir.takeAdmissions(wire({ admissions: junk }), NOW, false)).toBe(0)
      expect(checks).toBe(0)
    })

    it('lets at most maxPerPrefix admitted supernodes of one prefix own hashes', () => {
      const { me, dir, admit } = setup({ maxPerPrefix: 2 })
      const block = Array.from({ length: 5 }, (_, i) => ({
        signer: new RecordSigner(),
        url: `https://203.0.113.${10 + i}`,
      }))
      for (const { signer, url } of block) {
        dir.offer(wire(signer.record({ seq: 1, ts: NOW, url })), 's', NOW)
        admit(signer.id)
      }
      const owners = [...dir.owners(NOW).ids]
      const fromBlock = block
        .map((b) => b.signer.id)
        .filter((id) => owners.includes(id))
        .sort()
      expect(fromBlock).toEqual(
        block
          .map((b) => b.signer.id)
          .sort()
          .slice(0, 2),
      )
      expect(owners).toContain(me.id)
    })

    it('keeps a chain through a signer whose record is gone', () => {
      const { me, dir, admit, at } = setup()
      const a = new RecordSigner()
      const b = new RecordSigner()
      dir.offer(wire(a.record({ seq: 1, ts: NOW })), 's', NOW)
      admit(a.id)
      dir.offer(wire(b.record({ seq: 1, ts: NOW + 500 })), 's', NOW)
      expect(dir.offerAdmission(wire(a.admit(b.id, NOW)), NOW)).toBe(true)
      // a's record expires and is pruned; b, admitted by a, still owns hashes.
      const later = NOW + MAX_SUPERNODE_RECORD_AGE_SECONDS + 10
      at(later)
      expect(dir.prune(later)).toBe(1)
      expect([...dir.owners(later).ids].sort()).toEqual([me.id, b.id].sort())
      expect(dir.admissionView().admissions.map((x) => [x.by, x.id])).toEqual([
        [me.id, a.id],
        [a.id, b.id],
      ])
    })

    it('keeps at most maxAdmissions admissions', () => {
      const me = new RecordSigner()
      const dir = new SupernodeDirectory({
        self: () => me.record({ seq: NOW, ts: NOW }),
        verify,
        roots: [me.id],
        maxAdmissions: 3,
      })
      const others = Array.from({ length: 6 }, () => new RecordSigner())
      for (const o of others) dir.offer(wire(o.record({ seq: 1, ts: NOW })), 's', NOW)
      const kept = others.filter((o) => dir.offerAdmission(wire(me.admit(o.id, NOW)), NOW))
      expect(kept).toHaveLength(3)
    })
  })
})
