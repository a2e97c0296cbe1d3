import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  AdmissionError,
  addressPrefix,
  admittedIds,
  createAdmission,
  ipv6Words,
  owningRecords,
  verifyAdmission,
} from './admission.ts'
import { bytesToHex, createIdentity, sign, verify } from './identity.ts'

const NOW = 1_764_115_200

function signer() {
  const identity = createIdentity()
  return {
    id: identity.id,
    admit: (id: string, ts = NOW) =>
      createAdmission(identity.id, id, ts, (m) => bytesToHex(sign(identity, m))),
  }
}

const wire = (value: unknown): unknown => JSON.parse(JSON.stringify(value))

describe('admissions', () => {
  it('round-trip through JSON and verify', () => {
    const a = signer()
    const b = signer()
    const admission = a.admit(b.id)
    expect(verifyAdmission(wire(admission), NOW, verify)).toEqual(admission)
  })

  it('refuse forgeries, self-admissions, strange fields and the far future', () => {
    const a = signer()
    const b = signer()
    const c = signer()
    const good = a.admit(b.id)
    // Another subject under the same signature, or another signer's name on it.
    expect(() => verifyAdmission({ ...good, id: c.id }, NOW, verify)).toThrow(AdmissionError)
    expect(() => verifyAdmission({ ...good, by: c.id }, NOW, verify)).toThrow(/signature/)
    expect(() => a.admit(a.id)).toThrow(/itself/)
    expect(() => verifyAdmission({ ...good, extra: 1 }, NOW, verify)).toThrow(/unknown field/)
    expect(() => verifyAdmission({ ...good, sig: good.sig.toUpperCase() }, NOW, verify)).toThrow()
    expect(() => verifyAdmission(a.admit(b.id, NOW + 3600), NOW, verify)).toThrow(/future/)
    for (const junk of [null, 1, 'x', [], { by: 1 }]) {
      expect(() => verifyAdmission(junk, NOW, verify)).toThrow(AdmissionError)
    }
  })

  it('admit through chains from the roots only', () => {
    const [root, a, b, sybil1, sybil2] = Array.from({ length: 5 }, () => signer())
    const admissions = [
      root.admit(a.id),
      a.admit(b.id),
      // Sybils admitting each other, and one admitting an honest node, gain nothing.
      sybil1.admit(sybil2.id),
      sybil2.admit(sybil1.id),
      sybil1.admit(a.id),
    ]
    expect(admittedIds([root.id], admissions)).toEqual(new Set([root.id, a.id, b.id]))
    expect(admittedIds([], admissions)).toEqual(new Set())
  })

  it('property: the admitted set is what repeated application of the rule gives', () => {
    const ids = Array.from({ length: 8 }, (_, i) => String(i))
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(7), fc.nat(7)), { maxLength: 30 }),
        fc.subarray(ids, { maxLength: 2 }),
        (edges, roots) => {
          const admissions = edges.map(([by, id]) => ({ by: ids[by], id: ids[id] }))
          const expected = new Set(roots)
          for (let changed = true; changed;) {
            changed = false
            for (const a of admissions) {
              if (expected.has(a.by) && !expected.has(a.id)) {
                expected.add(a.id)
                changed = true
              }
            }
          }
          expect(admittedIds(roots, admissions)).toEqual(expected)
        },
      ),
    )
  })
})

describe('owningRecords', () => {
  const record = (id: string, url: string, role: 'supernode' | 'candidate' = 'supernode') => ({
    id,
    urls: [url],
    role,
  })

  it('keeps admitted supernodes, at most maxPerPrefix per prefix, roots first then by id', () => {
    const records = [
      record('a1', 'https://203.0.113.5'),
      record('a0', 'https://203.0.113.9:8443'),
      record('a2', 'https://203.0.113.200'),
      record('b0', 'https://198.51.100.1'),
      record('c0', 'https://[2001:db8:1:2::1]'),
      record('c1', 'https://[2001:db8:1:ffff::2]'),
      record('d0', 'https://relay.example.org'),
      record('d1', 'https://other.example.org'),
      record('e0', 'https://203.0.113.7', 'candidate'),
      record('zz', 'https://192.0.2.1'),
    ]
    const admitted = new Set(records.map((r) => r.id).filter((id) => id !== 'zz'))
    const owning = owningRecords(records, admitted, new Set(['a2']), 2)
    expect(owning.map((r) => r.id)).toEqual(['a0', 'a2', 'b0', 'c0', 'c1', 'd0', 'd1'])
    expect(owningRecords(records, admitted, new Set(), 1).map((r) => r.id)).toEqual([
      'a0',
      'b0',
      'c0',
      'd0',
    ])
  })
})

describe('addressPrefix', () => {
  it.each([
    ['http://127.0.0.1:8080', '127.0.0.0/24'],
    ['https://203.0.113.77', '203.0.113.0/24'],
    ['http://0x7f.1:80', '127.0.0.0/24'],
    ['https://[2001:db8:abcd:12::1]:8443', '2001:db8:abcd::/48'],
    ['https://[::ffff:203.0.113.9]', '203.0.113.0/24'],
    ['https://[::1]', '0:0:0::/48'],
    ['https://Relay.Example.ORG', 'example.org'],
    ['https://a.b.c.example.net.', 'example.net'],
    ['http://localhost:9000', 'localhost'],
    ['not a url', 'not a url'],
  ])('%s counts against %s', (url, prefix) => {
    expect(addressPrefix(url)).toBe(prefix)
  })

  it('reads IPv6 as the URL parser writes it, and refuses what is not IPv6', () => {
    expect(ipv6Words('2001:db8::1')).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])
    expect(ipv6Words('::ffff:1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x102, 0x304])
    expect(ipv6Words('::')).toEqual([0, 0, 0, 0, 0, 0, 0, 0])
    for (const bad of ['1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', 'g::1', '1:2:3:4::5:6:7:8']) {
      expect(ipv6Words(bad)).toBeNull()
    }
  })
})
