import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { sha256 } from '@noble/hashes/sha2.js'
import vectors from './test/vectors/listing-batch.json'
import {
  bytesToHex,
  createIdentity,
  hexToBytes,
  identityFromSecret,
  sign,
  verify,
  type SignatureVerifier,
} from './identity.ts'
import { MAX_BATCH_LISTINGS, MAX_LISTING_BYTES } from './limits.ts'
import {
  CATEGORIES,
  ListingError,
  MAX_BATCH_PROOF_HASHES,
  batchStatementBytes,
  createListing,
  signingBytes,
  verifyListing,
  type Listing,
  type ListingDraft,
} from './listing.ts'
import {
  MAX_REMEMBERED_MESSAGE_BYTES,
  VerifiedBatches,
  createListingBatch,
  identitySigner,
  rememberGoodSignatures,
  signatureMemoKey,
} from './listing-batch.ts'
import { merkleAuditPath, merkleLeafHash, merkleLevels, merkleRoot } from './merkle.ts'

const NOW = 1_764_115_200
const META = { seq: 1, ts: NOW }

function draft(i: number, salt = 0): ListingDraft {
  return {
    infoHash: (salt * 1_000_000 + i).toString(16).padStart(40, '0'),
    name: `Item ${i}`,
    size: i,
    files: 1,
    category: CATEGORIES[i % CATEGORIES.length],
    description: `number ${i}`,
    fileList: [{ path: `item-${i}.bin`, size: i }],
  }
}
const drafts = (n: number, salt = 0) => Array.from({ length: n }, (_, i) => draft(i, salt))

function refusal(value: unknown, verifier: SignatureVerifier = verify): ListingError['code'] {
  try {
    verifyListing(value, NOW, verifier)
  } catch (err) {
    if (err instanceof ListingError) return err.code
    throw err
  }
  throw new Error('accepted')
}

/** Counts the signature checks that reach `verify`. */
function counting() {
  const calls = { n: 0 }
  const inner: SignatureVerifier = (s, m, k) => (calls.n++, verify(s, m, k))
  return { calls, inner }
}

const alice = identitySigner(createIdentity())
const bob = identitySigner(createIdentity())

describe('listing batch known answer', () => {
  it('signs the batch statement over the RFC 6962 root of the listings', () => {
    const signer = identitySigner(identityFromSecret(hexToBytes(vectors.secretKey)))
    const made = createListingBatch(vectors.drafts as ListingDraft[], signer, vectors.meta)
    expect(made).toEqual(vectors.listings)
    const root = vectors.listings[0].batch.root
    expect(bytesToHex(batchStatementBytes(signer.id, root, 3))).toBe(vectors.statement)
    const ok = verify(hexToBytes(made[0].sig), hexToBytes(vectors.statement), hexToBytes(signer.id))
    expect(ok).toBe(true)
    for (const l of vectors.listings) expect(verifyListing(l, NOW)).toEqual(l)
  })
})

describe('createListingBatch / verifyListing v2', () => {
  it('round-trips any batch through JSON, each listing checked alone', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.nat(), (n, seq) => {
        const batch = createListingBatch(drafts(n), alice, { seq, ts: NOW })
        expect(batch).toHaveLength(n)
        batch.forEach((l, i) => {
          expect(l.v).toBe(2)
          expect(l.batch).toMatchObject({ n, i })
          expect(verifyListing(JSON.parse(JSON.stringify(l)), NOW)).toEqual(l)
        })
        expect(new Set(batch.map((l) => l.sig)).size).toBe(1)
      }),
      { numRuns: 30 },
    )
  })

  it('sanitises and cuts like createListing', () => {
    const hostile = { ...draft(1), name: '../\u202eevil\u0000', description: 'x\u0007y' }
    const [l] = createListingBatch([hostile], alice, META)
    const v1 = createListing(hostile, { ...createIdentity(), id: alice.id }, META)
    expect([l.name, l.description]).toEqual([v1.name, v1.description])
    const long = Array.from({ length: 100 }, (_, i) => ({
      path: `${'d'.repeat(250)}/${'p'.repeat(250)}${i}`,
      size: i,
    }))
    const big = createListingBatch(
      [{ ...draft(2), files: 100, fileList: long }, ...drafts(MAX_BATCH_LISTINGS - 1, 9)],
      alice,
      META,
    )
    expect(big[0].fileList.length).toBeLessThan(100)
    expect(verifyListing(big[0], NOW)).toEqual(big[0])
  })

  it('handles a batch of one (an empty proof) and a batch of MAX_BATCH_LISTINGS', () => {
    const [one] = createListingBatch([draft(1)], alice, META)
    expect(one.batch).toEqual({ root: one.batch!.root, n: 1, i: 0, proof: [] })
    expect(verifyListing(one, NOW)).toEqual(one)
    const full = createListingBatch(drafts(MAX_BATCH_LISTINGS), alice, META)
    const { calls, inner } = counting()
    const once = rememberGoodSignatures(inner)
    for (const l of full) expect(verifyListing(l, NOW, once)).toEqual(l)
    expect(calls.n).toBe(1)
    expect(Math.max(...full.map((l) => l.batch!.proof.length))).toBe(Math.log2(MAX_BATCH_LISTINGS))
  })

  it('refuses to make an empty batch, one too large, or one naming a torrent twice', () => {
    expect(() => createListingBatch([], alice, META)).toThrow(RangeError)
    expect(() => createListingBatch(drafts(MAX_BATCH_LISTINGS + 1), alice, META)).toThrow(
      RangeError,
    )
    expect(() => createListingBatch([draft(1), draft(1)], alice, META)).toThrow(ListingError)
    expect(() => createListingBatch([{ ...draft(1), name: '' }], alice, META)).toThrow(ListingError)
  })

  it('refuses a listing when any one field, proof hash, root, n, i or sig changes', () => {
    const batch = createListingBatch(drafts(13), alice, META)
    const hexDigit = fc.constantFrom(...'0123456789abcdef')
    const change = (s: string, at: number, digit: string) => {
      const k = at % s.length
      const d = s[k] === digit ? (digit === '0' ? '1' : '0') : digit
      return s.slice(0, k) + d + s.slice(k + 1)
    }
    fc.assert(
      fc.property(
        fc.nat(12),
        fc.constantFrom('name', 'size', 'seq', 'ts', 'infoHash', 'proof', 'root', 'sig', 'n', 'i'),
        fc.nat(),
        hexDigit,
        (index, what, at, digit) => {
          const l: Listing = structuredClone(batch[index])
          const b = l.batch!
          if (what === 'name') l.name += 'x'
          if (what === 'size') l.size += 1
          if (what === 'seq') l.seq += 1
          if (what === 'ts') l.ts -= 1
          if (what === 'infoHash') l.infoHash = change(l.infoHash, at, digit)
          if (what === 'proof') {
            const k = at % b.proof.length
            b.proof[k] = change(b.proof[k], at >> 4, digit)
          }
          if (what === 'root') b.root = change(b.root, at, digit)
          if (what === 'sig') l.sig = change(l.sig, at, digit)
          if (what === 'n') b.n = b.n + 1 + (at % 40)
          if (what === 'i') b.i = (b.i + 1 + (at % 12)) % 13
          expect(['bad-signature', 'malformed']).toContain(refusal(l))
        },
      ),
      { numRuns: 300 },
    )
  })

  it('refuses a forged listing that claims a good root, without a signature check', () => {
    const batch = createListingBatch(drafts(8), alice, META)
    const { calls, inner } = counting()
    const memo = rememberGoodSignatures(inner)
    expect(verifyListing(batch[3], NOW, memo)).toEqual(batch[3])
    // Same root, sig and proof, other content: it cannot fold to the signed root.
    const forged = { ...batch[3], name: 'Free money', description: 'trust me' }
    expect(refusal(forged, memo)).toBe('bad-signature')
    // Another batch's listing moved under this one's root and signature.
    const [other] = createListingBatch([draft(3, 5)], bob, META)
    expect(refusal({ ...other, batch: batch[3].batch, sig: batch[3].sig }, memo)).toBe(
      'bad-signature',
    )
    // Another publisher's key on this batch: the leaf names the key (so does the statement).
    expect(refusal({ ...batch[3], publisher: bob.id }, memo)).toBe('bad-signature')
    expect(calls.n).toBe(1)
    // A size whose path has the same length folds to the same root (RFC 6962 paths do not
    // bind n), so only the signed statement, which names n, refuses it.
    const [first] = batch
    expect(refusal({ ...first, batch: { ...first.batch!, n: 6 } }, memo)).toBe('bad-signature')
    expect(calls.n).toBe(2)
  })

  it('refuses truncated, oversized and misshapen batch fields as malformed', () => {
    const batch = createListingBatch(drafts(5), alice, META)
    const l = batch[1]
    const b = l.batch!
    const cases: unknown[] = [
      { ...l, batch: { ...b, proof: b.proof.slice(1) } },
      { ...l, batch: { ...b, proof: [...b.proof, b.proof[0]] } },
      { ...l, batch: { ...b, proof: Array(100_000).fill(b.proof[0]) } },
      { ...l, batch: { ...b, proof: [b.proof[0].slice(2), ...b.proof.slice(1)] } },
      { ...l, batch: { ...b, proof: [b.proof[0].toUpperCase(), ...b.proof.slice(1)] } },
      { ...l, batch: { ...b, proof: 'nope' } },
      { ...l, batch: { ...b, root: b.root.slice(1) } },
      { ...l, batch: { ...b, n: MAX_BATCH_LISTINGS + 1 } },
      { ...l, batch: { ...b, n: 0 } },
      { ...l, batch: { ...b, n: 5.5 } },
      { ...l, batch: { ...b, n: '5' } },
      { ...l, batch: { ...b, i: 5 } },
      { ...l, batch: { ...b, i: -1 } },
      { ...l, batch: { ...b, extra: 1 } },
      { ...l, batch: { root: b.root, n: b.n, i: b.i } },
      { ...l, batch: null },
      { ...l, batch: [b] },
      { ...l, batch: undefined },
      { ...l, v: 1 },
      { ...createListing(draft(9), createIdentity(), META), batch: b },
    ]
    for (const value of cases) expect(refusal(value)).toBe('malformed')
  })

  it('counts the proof against the size cap', () => {
    const id = createIdentity()
    // A v2 listing whose own bytes would fit as v1, but not with its proof beside them.
    const long = (k: number) => ({ path: `${'d'.repeat(240)}/${'p'.repeat(240)}${k}`, size: k })
    const tail = (len: number) => ({ path: `t${'p'.repeat(len)}`, size: 1 })
    const base = { ...draft(1), files: 100, publisher: id.id, v: 2 as const, ...META }
    let fileList = [...Array.from({ length: 70 }, (_, k) => long(k)), tail(0)]
    const bytesOf = () => signingBytes({ ...base, fileList }).length
    while (bytesOf() + 64 > MAX_LISTING_BYTES) fileList = fileList.slice(1)
    let len = 0
    while (bytesOf() + 64 + 32 * 9 + 16 <= MAX_LISTING_BYTES)
      fileList[fileList.length - 1] = tail(++len)
    expect(len).toBeLessThan(250)
    expect(bytesOf() + 64).toBeLessThanOrEqual(MAX_LISTING_BYTES)
    const unsigned = [{ ...base, fileList }, ...drafts(255, 3).map((d) => ({ ...base, ...d }))]
    const levels = merkleLevels(unsigned.map((u) => merkleLeafHash(signingBytes(u))))
    const root = bytesToHex(merkleRoot(levels))
    const sig = bytesToHex(sign(id, batchStatementBytes(id.id, root, 256)))
    const proof = merkleAuditPath(levels, 0).map(bytesToHex)
    const listing = { ...unsigned[0], batch: { root, n: 256, i: 0, proof }, sig }
    expect(refusal(listing)).toBe('too-large')
    // Its neighbour in the same batch is fine.
    const next = { ...unsigned[1], batch: { root, n: 256, i: 1, proof: [] as string[] }, sig }
    next.batch.proof = merkleAuditPath(levels, 1).map(bytesToHex)
    expect(verifyListing(next, NOW)).toEqual(next)
  })
})

describe('a page mixing publishers, batches and versions', () => {
  it('keeps exactly the good listings, with one signature check per batch', () => {
    const a1 = createListingBatch(drafts(20, 1), alice, META)
    const a2 = createListingBatch(drafts(7, 2), alice, { seq: 2, ts: NOW })
    const b1 = createListingBatch(drafts(11, 3), bob, META)
    const v1 = [0, 1, 2].map((i) => createListing(draft(i, 4), createIdentity(), META))
    const forged = { ...a1[4], size: 1 }
    const page: unknown[] = []
    for (let i = 0; i < 20; i++) page.push(a1[i], b1[i % 11], a2[i % 7])
    page.push(...v1, forged)
    const { calls, inner } = counting()
    const memo = rememberGoodSignatures(inner)
    const kept: Listing[] = []
    let refused = 0
    for (const value of page) {
      try {
        kept.push(verifyListing(value, NOW, memo))
      } catch (err) {
        expect(err).toBeInstanceOf(ListingError)
        refused++
      }
    }
    expect(refused).toBe(1)
    expect(kept).toEqual(page.slice(0, -1))
    // Three batches and three v1 listings; the forgery folds to no signed root.
    expect(calls.n).toBe(6)
  })
})

describe('rememberGoodSignatures', () => {
  const id = createIdentity()
  const msg = new Uint8Array([1, 2, 3])
  const sig = sign(id, msg)

  it('never remembers a failure', () => {
    const { calls, inner } = counting()
    const memo = rememberGoodSignatures(inner)
    const bad = sig.slice()
    bad[0] ^= 1
    expect(memo(bad, msg, id.publicKey)).toBe(false)
    expect(memo(bad, msg, id.publicKey)).toBe(false)
    expect(calls.n).toBe(2)
    expect(memo(sig, msg, id.publicKey)).toBe(true)
    expect(memo(sig, msg, id.publicKey)).toBe(true)
    expect(calls.n).toBe(3)
    // The good entry does not vouch for a neighbour.
    expect(memo(sig, new Uint8Array([1, 2, 4]), id.publicKey)).toBe(false)
    expect(memo(sig, msg, createIdentity().publicKey)).toBe(false)
  })

  it('agrees with the verifier it wraps, asked twice, whatever bit is flipped', () => {
    const memo = rememberGoodSignatures(verify, 8)
    fc.assert(
      fc.property(fc.nat(2), fc.nat(), fc.boolean(), (part, bit, tamper) => {
        const args = [sig, msg, id.publicKey].map((b) => b.slice()) as [
          Uint8Array,
          Uint8Array,
          Uint8Array,
        ]
        if (tamper) args[part][(bit >> 3) % args[part].length] ^= 1 << (bit & 7)
        for (let round = 0; round < 2; round++) expect(memo(...args)).toBe(verify(...args))
      }),
      { numRuns: 150 },
    )
  })

  it('holds at most maxEntries, dropping the least recently used', () => {
    const { calls, inner } = counting()
    const memo = rememberGoodSignatures(inner, 2)
    const msgs = [1, 2, 3].map((i) => new Uint8Array([i]))
    const sigs = msgs.map((m) => sign(id, m))
    const check = (i: number) => expect(memo(sigs[i], msgs[i], id.publicKey)).toBe(true)
    check(0)
    check(1)
    check(0)
    check(2) // drops 1
    expect(calls.n).toBe(3)
    check(0)
    expect(calls.n).toBe(3)
    check(1)
    expect(calls.n).toBe(4)
  })

  it('keys only checks that can pass and whose message is short', () => {
    expect(signatureMemoKey(sig, msg, id.publicKey)).not.toBeNull()
    expect(signatureMemoKey(sig.subarray(1), msg, id.publicKey)).toBeNull()
    expect(signatureMemoKey(sig, msg, id.publicKey.subarray(1))).toBeNull()
    const long = new Uint8Array(MAX_REMEMBERED_MESSAGE_BYTES + 1)
    expect(signatureMemoKey(sig, long, id.publicKey)).toBeNull()
    const statement = batchStatementBytes(id.id, 'ab'.repeat(32), MAX_BATCH_LISTINGS)
    expect(statement.length).toBeLessThanOrEqual(MAX_REMEMBERED_MESSAGE_BYTES)
  })
})

describe('VerifiedBatches', () => {
  const outcome = (value: unknown, batches?: VerifiedBatches) => {
    try {
      return verifyListing(value, NOW, verify, batches)
    } catch (err) {
      if (err instanceof ListingError) return err.code
      throw err
    }
  }

  it('gives the answer of a full check, for good listings and any one change', () => {
    const hexDigit = fc.constantFrom(...'0123456789abcdef')
    const change = (h: string, at: number, d: string) => {
      const k = at % h.length
      return h.slice(0, k) + (h[k] === d ? (d === '0' ? '1' : '0') : d) + h.slice(k + 1)
    }
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(
          fc.record({
            pick: fc.nat(),
            what: fc.constantFrom('none', 'none', 'proof', 'top', 'name', 'sig', 'swap', 'i'),
            at: fc.nat(),
            digit: hexDigit,
          }),
          { minLength: 1, maxLength: 60 },
        ),
        (n, steps) => {
          const batch = createListingBatch(drafts(n, n), alice, META)
          const batches = new VerifiedBatches()
          for (const { pick, what, at, digit } of steps) {
            const l: Listing = structuredClone(batch[pick % n])
            const b = l.batch!
            const last = b.proof.length - 1
            if (what === 'proof' && last >= 0)
              b.proof[at % b.proof.length] = change(b.proof[at % b.proof.length], at >> 3, digit)
            // Right below, wrong at the top: must not pass for a known node lower down.
            if (what === 'top' && last >= 0) b.proof[last] = change(b.proof[last], at, digit)
            if (what === 'name') l.name += '!'
            if (what === 'sig') l.sig = change(l.sig, at, digit)
            if (what === 'swap') b.proof = structuredClone(batch[at % n].batch!.proof)
            if (what === 'i') b.i = at % n
            expect(outcome(l, batches)).toEqual(outcome(structuredClone(l)))
          }
        },
      ),
      { numRuns: 60 },
    )
  })

  it('checks one signature a batch, and hashes up only to a known node', () => {
    const { calls, inner } = counting()
    const batches = new VerifiedBatches()
    const a = createListingBatch(drafts(100, 1), alice, META)
    const b = createListingBatch(drafts(50, 2), bob, META)
    for (let i = 0; i < 100; i++) {
      expect(verifyListing(a[i], NOW, inner, batches)).toEqual(a[i])
      expect(verifyListing(b[i % 50], NOW, inner, batches)).toEqual(b[i % 50])
    }
    expect(calls.n).toBe(2)
    expect(batches.size).toBe(2)
  })

  it('hashes each node of a batch once, in any order: about two hashes a listing', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: MAX_BATCH_LISTINGS })
          .chain((n) =>
            fc.tuple(fc.constant(n), fc.shuffledSubarray([...Array(n).keys()], { minLength: n })),
          ),
        ([n, order]) => {
          const batch = createListingBatch(drafts(n, 9), alice, META)
          let hashes = 0
          const batches = new VerifiedBatches(4, (data) => (hashes++, sha256(data)))
          for (const i of order)
            expect(verifyListing(batch[i], NOW, verify, batches)).toEqual(batch[i])
          // n leaves, n - 1 nodes, and the first listing's path folded and recorded.
          expect(hashes).toBeLessThanOrEqual(2 * n - 1 + 2 * MAX_BATCH_PROOF_HASHES)
        },
      ),
      { numRuns: 25 },
    )
  })

  it('holds at most maxBatches, checking a dropped batch again', () => {
    const { calls, inner } = counting()
    const batches = new VerifiedBatches(2)
    const three = [1, 2, 3].map((salt) => createListingBatch(drafts(4, salt), alice, META))
    for (const batch of [...three, three[0]]) verifyListing(batch[0], NOW, inner, batches)
    expect(batches.size).toBe(2)
    expect(calls.n).toBe(4)
  })

  it('never trusts a batch whose signature failed', () => {
    const batch = createListingBatch(drafts(8), alice, META)
    const batches = new VerifiedBatches()
    for (const l of batch) expect(() => verifyListing(l, NOW, () => false, batches)).toThrow()
    expect(batches.size).toBe(0)
    expect(verifyListing(batch[2], NOW, verify, batches)).toEqual(batch[2])
  })
})
