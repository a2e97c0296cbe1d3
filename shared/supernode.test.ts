import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import bencode from 'bencode'
import vectors from './test/vectors/supernode.json'
import { bytesToHex, createIdentity, hexToBytes, identityFromSecret, sign } from './identity.ts'
import {
  MAX_SUPERNODE_RECORD_BYTES,
  MAX_SUPERNODE_URL_CHARS,
  MAX_SUPERNODE_URLS,
} from './limits.ts'
import {
  SUPERNODE_ROLES,
  SupernodeRecordError,
  canonicalUrl,
  createSupernodeRecord,
  loadShare,
  supernodeSigningBytes,
  supersedes,
  verifySupernodeRecord,
  type SupernodeDraft,
  type SupernodeRecord,
} from './supernode.ts'

const NOW = 1_764_115_200
const draft: SupernodeDraft = {
  urls: ['https://relay.example.org'],
  role: 'supernode',
  capacity: { maxHashes: 100_000, maxPeers: 1_000_000, bandwidth: 262_144 },
  load: { hashes: 12, peers: 340, bandwidth: 5000 },
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(SupernodeRecordError)
    return (err as SupernodeRecordError).code
  }
  return undefined
}
const refusal = (value: unknown, now = NOW) => codeOf(() => verifySupernodeRecord(value, now))

describe('supernode record known answers', () => {
  it.each(vectors)('signing bytes and signature of $record.role $record.id', (v) => {
    const id = identityFromSecret(hexToBytes(v.secretKey))
    const record = v.record as SupernodeRecord
    expect(bytesToHex(supernodeSigningBytes(record))).toBe(v.signingBytes)
    const { urls, role, capacity, load, seq, ts } = record
    expect(createSupernodeRecord({ urls, role, capacity, load }, id, { seq, ts })).toEqual(record)
    expect(verifySupernodeRecord(JSON.parse(JSON.stringify(record)), NOW)).toEqual(record)
  })
})

describe('createSupernodeRecord / verifySupernodeRecord', () => {
  const id = createIdentity()
  const signed = (over: Partial<SupernodeDraft> = {}, seq = 1, ts = NOW) =>
    createSupernodeRecord({ ...draft, ...over }, id, { seq, ts })

  it('round-trips any record through JSON', () => {
    const origin = fc
      .tuple(fc.constantFrom('http', 'https'), fc.domain(), fc.integer({ min: 1, max: 65535 }))
      .map(([scheme, host, port]) => canonicalUrl(`${scheme}://${host}:${port}`))
    const count = fc.maxSafeNat()
    const positive = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })
    fc.assert(
      fc.property(
        fc.uniqueArray(origin, { minLength: 1, maxLength: MAX_SUPERNODE_URLS }),
        fc.constantFrom(...SUPERNODE_ROLES),
        fc.record({ maxHashes: positive, maxPeers: positive, bandwidth: positive }),
        fc.record({ hashes: count, peers: count, bandwidth: count }),
        fc.maxSafeNat(),
        fc.integer({ min: NOW - 3600, max: NOW + 600 }),
        (urls, role, capacity, load, seq, ts) => {
          const record = createSupernodeRecord({ urls, role, capacity, load }, id, { seq, ts })
          const back = verifySupernodeRecord(JSON.parse(JSON.stringify(record)), NOW)
          expect(back).toEqual(record)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('carries the relayed bandwidth (TURN) when a relay relays, signed, and only as a pair', () => {
    const relaying = signed({
      capacity: { ...draft.capacity, relay: 2_097_152 },
      load: { ...draft.load, relay: 40_000 },
    })
    const back = verifySupernodeRecord(JSON.parse(JSON.stringify(relaying)), NOW)
    expect(back.capacity.relay).toBe(2_097_152)
    expect(back.load.relay).toBe(40_000)
    // The relay figures are signed: changing one breaks the signature.
    const raised = { ...relaying, capacity: { ...relaying.capacity, relay: 9_999_999 } }
    expect(refusal(raised)).toBe('bad-signature')
    // A record without them signs exactly what it signed before they existed.
    const plain = signed()
    const decoded = bencode.decode(supernodeSigningBytes(plain)) as { cap: object }
    expect(decoded.cap).not.toHaveProperty('relay')
    // One without the other, or a value that is not a count, is malformed.
    const half = { ...plain, capacity: { ...plain.capacity, relay: 5 } }
    expect(refusal(half)).toBe('malformed')
    const bad = { ...relaying, load: { ...relaying.load, relay: -1 } }
    expect(refusal(bad)).toBe('malformed')
    expect(refusal({ ...plain, load: { ...plain.load, other: 1 } })).toBe('malformed')
    // Relaying counts toward overload like tracking does; an uncapped relay (0) does not.
    const busy = {
      capacity: { ...draft.capacity, relay: 1000 },
      load: { ...draft.load, relay: 990 },
    }
    expect(loadShare(busy)).toBe(0.99)
    expect(loadShare({ ...busy, capacity: { ...busy.capacity, relay: 0 } })).toBe(loadShare(draft))
  })

  it('normalises URLs to their origin when signing, and refuses ones that are more', () => {
    const record = signed({ urls: ['HTTPS://Relay.Example.ORG:443/', 'http://[::1]:8080'] })
    expect(record.urls).toEqual(['https://relay.example.org', 'http://[::1]:8080'])
    for (const url of [
      'https://relay.example.org/path',
      'https://relay.example.org/?q=1',
      'https://user:pw@relay.example.org',
      'ftp://relay.example.org',
      'ws://relay.example.org',
      'http://relay.example.org:0',
      'not a url',
    ]) {
      expect(codeOf(() => signed({ urls: [url] }))).toBe('malformed')
    }
    expect(codeOf(() => signed({ urls: [] }))).toBe('malformed')
    expect(codeOf(() => signed({ urls: ['http://a', 'http://a/'] }))).toBe('malformed')
  })

  it('refuses a tampered field, a wrong key and a borrowed signature', () => {
    const record = signed()
    expect(refusal({ ...record, role: 'candidate' })).toBe('bad-signature')
    expect(refusal({ ...record, urls: ['https://evil.example'] })).toBe('bad-signature')
    expect(refusal({ ...record, load: { ...record.load, peers: 0 } })).toBe('bad-signature')
    expect(refusal({ ...record, capacity: { ...record.capacity, maxHashes: 1e9 } })).toBe(
      'bad-signature',
    )
    expect(refusal({ ...record, seq: 2 })).toBe('bad-signature')
    expect(refusal({ ...record, id: createIdentity().id })).toBe('bad-signature')
    const other = createSupernodeRecord(draft, createIdentity(), { seq: 1, ts: NOW })
    expect(refusal({ ...record, sig: other.sig })).toBe('bad-signature')
    const flipped = hexToBytes(record.sig)
    flipped[5] ^= 1
    expect(refusal({ ...record, sig: bytesToHex(flipped) })).toBe('bad-signature')
  })

  it('refuses a signature over a non-canonical encoding of the same fields', () => {
    const record = signed()
    const canonical = supernodeSigningBytes(record)
    const decoded = bencode.decode(canonical) as Record<string, unknown>
    // Same dictionary, keys in reverse order: valid bencode, not canonical.
    const parts = Object.keys(decoded)
      .sort()
      .reverse()
      .map((k) => {
        const key = new TextEncoder().encode(`${k.length}:${k}`)
        return [key, bencode.encode(decoded[k])]
      })
    const reordered = new Uint8Array([0x64, ...parts.flatMap(([k, v]) => [...k, ...v]), 0x65])
    expect(reordered.length).toBe(canonical.length)
    expect(bytesToHex(reordered)).not.toBe(bytesToHex(canonical))
    const sig = bytesToHex(sign(id, reordered))
    expect(refusal({ ...record, sig })).toBe('bad-signature')
    // Without the `typ` tag (the same fields signed as some other kind of record).
    const { typ: _typ, ...untagged } = decoded
    const bare = bytesToHex(sign(id, bencode.encode(untagged)))
    expect(refusal({ ...record, sig: bare })).toBe('bad-signature')
  })

  it('refuses non-canonical spellings instead of fixing them', () => {
    const r = signed()
    const refusals = [
      { ...r, id: r.id.toUpperCase() },
      { ...r, sig: r.sig.toUpperCase() },
      { ...r, urls: ['https://relay.example.org/'] },
      { ...r, urls: ['https://relay.example.org:443'] },
      { ...r, urls: ['https://Relay.example.org'] },
      { ...r, urls: ['https://relay.example.org', 'https://relay.example.org'] },
      { ...r, urls: [] },
      { ...r, urls: 'https://relay.example.org' },
      { ...r, role: 'boss' },
      { ...r, seq: '1' },
      { ...r, seq: 1.5 },
      { ...r, seq: -1 },
      { ...r, ts: NOW + 0.5 },
      { ...r, capacity: { ...r.capacity, maxPeers: 0 } },
      { ...r, capacity: { ...r.capacity, bandwidth: '262144' } },
      { ...r, load: { ...r.load, hashes: -1 } },
      { ...r, load: { ...r.load, extra: 1 } },
      { ...r, load: { hashes: 1, peers: 1 } },
      { ...r, capacity: null },
      { ...r, extra: 1 },
      { ...r, v: 2 },
      (({ sig: _sig, ...rest }) => rest)(r),
      JSON.parse(`{"__proto__": {}, ${JSON.stringify(r).slice(1)}`),
      null,
      [r],
      'record',
    ]
    for (const value of refusals) expect(refusal(value)).toBe('malformed')
  })

  it('refuses oversized values cheaply, and fits the largest legal record under the cap', () => {
    const r = signed()
    expect(refusal({ ...r, urls: Array(1_000_000).fill('https://a.example') })).toBe('malformed')
    expect(refusal({ ...r, urls: ['https://' + 'a'.repeat(10_000_000) + '.example'] })).toBe(
      'malformed',
    )
    const host = (i: number) => `https://${String(i).repeat(MAX_SUPERNODE_URL_CHARS - 20)}.ex`
    const longest = Array.from({ length: MAX_SUPERNODE_URLS }, (_, i) => host(i))
    expect(longest.every((u) => u.length <= MAX_SUPERNODE_URL_CHARS)).toBe(true)
    const max = Number.MAX_SAFE_INTEGER
    const big = createSupernodeRecord(
      {
        urls: longest,
        role: 'candidate',
        capacity: { maxHashes: max, maxPeers: max, bandwidth: max },
        load: { hashes: max, peers: max, bandwidth: max },
      },
      id,
      { seq: max, ts: NOW },
    )
    expect(supernodeSigningBytes(big).length + 64).toBeLessThan(MAX_SUPERNODE_RECORD_BYTES)
    expect(verifySupernodeRecord(big, NOW)).toEqual(big)
    expect(refusal({ ...r, urls: [...longest, 'https://e.example'] })).toBe('malformed')
  })

  it('refuses a ts beyond the clock-skew bound or past the age bound', () => {
    expect(refusal(signed({}, 1, NOW + 601))).toBe('future')
    expect(verifySupernodeRecord(signed({}, 1, NOW + 600), NOW).ts).toBe(NOW + 600)
    expect(refusal(signed({}, 1, NOW - 3601))).toBe('expired')
    expect(verifySupernodeRecord(signed({}, 1, NOW - 3600), NOW).ts).toBe(NOW - 3600)
  })

  it('returns a copy that later changes to the input cannot reach', () => {
    const input = JSON.parse(JSON.stringify(signed())) as SupernodeRecord
    const checked = verifySupernodeRecord(input, NOW)
    input.urls.push('https://evil.example')
    input.load.peers = 0
    expect(checked.urls).toEqual(draft.urls)
    expect(checked.load.peers).toBe(draft.load.peers)
  })

  it('checks the signature with an injected verifier when given one', () => {
    const record = signed()
    const seen: Uint8Array[] = []
    const accepting = (sig: Uint8Array, msg: Uint8Array) => (seen.push(msg), sig.length === 64)
    expect(verifySupernodeRecord(record, NOW, accepting)).toEqual(record)
    expect(bytesToHex(seen[0])).toBe(bytesToHex(supernodeSigningBytes(record)))
    expect(codeOf(() => verifySupernodeRecord(record, NOW, () => false))).toBe('bad-signature')
  })

  it('replaces only with a higher seq from the same node (a replayed old record loses)', () => {
    const older = signed({}, 5)
    const newer = signed({ load: { ...draft.load, peers: 1 } }, 6)
    expect(supersedes(newer, older)).toBe(true)
    expect(supersedes(older, newer)).toBe(false)
    expect(supersedes(older, older)).toBe(false)
    const stranger = createSupernodeRecord(draft, createIdentity(), { seq: 99, ts: NOW })
    expect(supersedes(stranger, older)).toBe(false)
  })
})

describe('loadShare', () => {
  const capacity = { maxHashes: 100, maxPeers: 1000, bandwidth: 10_000 }
  const load = { hashes: 50, peers: 100, bandwidth: 9000 }
  it('is the fullest figure over its capacity, relayed bandwidth included', () => {
    expect(loadShare({ capacity, load })).toBe(0.9)
    const relaying = { capacity: { ...capacity, relay: 100 }, load: { ...load, relay: 150 } }
    expect(loadShare(relaying)).toBe(1.5)
    // A capacity of 0 counts as empty, not as full.
    expect(loadShare({ capacity: { maxHashes: 0, maxPeers: 0, bandwidth: 0 }, load })).toBe(0)
  })

  it('is the largest ratio of the figures, never below 0, for any counts', () => {
    const n = fc.nat(1_000_000)
    fc.assert(
      fc.property(fc.tuple(n, n, n, n), fc.tuple(n, n, n, n), ([h, p, b, r], [ch, cp, cb, cr]) => {
        const share = loadShare({
          capacity: { maxHashes: ch, maxPeers: cp, bandwidth: cb, relay: cr },
          load: { hashes: h, peers: p, bandwidth: b, relay: r },
        })
        const ratio = (used: number, cap: number) => (cap > 0 ? used / cap : 0)
        expect(share).toBe(Math.max(ratio(h, ch), ratio(p, cp), ratio(b, cb), ratio(r, cr)))
        expect(share).toBeGreaterThanOrEqual(0)
      }),
    )
  })
})
