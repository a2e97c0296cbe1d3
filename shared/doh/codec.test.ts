// The DoH codec (codec.ts) against known-answer vectors and against dns-packet, the codec
// the relay's DNS server uses: queries it writes decode as the question meant; answers
// dns-packet writes read back; hostile answers (cut short, pointer loops, forward pointers,
// huge counts, error codes, another query's id) throw DnsError and never hang or read out
// of bounds.

import dnsPacket, { type Answer } from 'dns-packet'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import vector from '../test/vectors/doh-txt.json'
import { DnsError, MAX_ANSWERS, base64url, txtQuery, txtStrings } from './codec.ts'

const NAME = '_supernodes.monsoon.test'

function answer(answers: Answer[], extra: Partial<dnsPacket.Packet> = {}): Uint8Array {
  return new Uint8Array(
    dnsPacket.encode({
      type: 'response',
      id: 0,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: [{ name: NAME, type: 'TXT', class: 'IN' }],
      answers,
      ...extra,
    }),
  )
}

const hex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'))

describe('DoH codec', () => {
  it('writes the known query and reads the known answer', () => {
    expect(Buffer.from(txtQuery(vector.name)).toString('hex')).toBe(vector.query)
    expect(txtStrings(hex(vector.answer), vector.name)).toEqual(vector.strings)
  })

  it('writes a TXT query dns-packet reads, id 0 with RD, and base64url without padding', () => {
    const q = txtQuery(NAME)
    const decoded = dnsPacket.decode(Buffer.from(q))
    expect(decoded.id).toBe(0)
    expect(decoded.flag_rd).toBe(true)
    expect(decoded.questions).toEqual([{ name: NAME, type: 'TXT', class: 'IN' }])
    expect(base64url(q)).toBe(Buffer.from(q).toString('base64url'))
    expect(() => txtQuery('bad name.test')).toThrow(DnsError)
  })

  it('reads every string of the TXT records of the name, ignoring others', () => {
    const bytes = answer([
      { type: 'TXT', name: NAME, ttl: 60, data: ['http://a.test:1', 'https://b.test'] },
      { type: 'TXT', name: 'other.monsoon.test', ttl: 60, data: 'http://no.test' },
      { type: 'A', name: NAME, ttl: 60, data: '127.0.0.1' },
      { type: 'TXT', name: NAME.toUpperCase(), ttl: 60, data: 'http://c.test' },
    ])
    expect(txtStrings(bytes, NAME)).toEqual(['http://a.test:1', 'https://b.test', 'http://c.test'])
  })

  it('follows a backward compression pointer', () => {
    // Answer owner name as a pointer to the question's name (offset 12), as servers write.
    const head = answer([])
    const header = Buffer.from(head)
    header.writeUInt16BE(1, 6)
    const rr = Buffer.from([
      0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 6, 5, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
    ])
    expect(txtStrings(new Uint8Array(Buffer.concat([header, rr])), NAME)).toEqual(['hello'])
  })

  it('throws DnsError on error codes, truncation, queries and hostile bytes', () => {
    const nx = answer([], { flags: 3 })
    expect(() => txtStrings(nx, NAME)).toThrow(/NXDOMAIN/)
    const tc = answer([], { flags: dnsPacket.TRUNCATED_RESPONSE })
    expect(() => txtStrings(tc, NAME)).toThrow(/truncated/)
    expect(() => txtStrings(txtQuery(NAME), NAME)).toThrow(/not a DNS response/)
    const other = answer([{ type: 'TXT', name: NAME, ttl: 60, data: 'x' }], { id: 7 })
    expect(() => txtStrings(other, NAME)).toThrow(/another query/)
    const loop = new Uint8Array([0, 0, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 16, 0, 1])
    expect(() => txtStrings(loop, NAME)).toThrow(/pointer/)
    const huge = new Uint8Array([0, 0, 0x80, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])
    expect(() => txtStrings(huge, NAME)).toThrow(DnsError)
    const good = answer([{ type: 'TXT', name: NAME, ttl: 60, data: 'http://a.test' }])
    for (let cut = 0; cut < good.length; cut++) {
      expect(() => txtStrings(good.subarray(0, cut), NAME)).toThrow(DnsError)
    }
  })

  it('reads at most MAX_ANSWERS records of an oversized answer', () => {
    const many = Array.from({ length: MAX_ANSWERS + 50 }, (_, i) => ({
      type: 'TXT' as const,
      name: NAME,
      ttl: 60,
      data: `http://r${i}.test`,
    }))
    expect(txtStrings(answer(many), NAME)).toHaveLength(MAX_ANSWERS)
  })

  it('reads what dns-packet writes: the strings of the TXT records of the name, in order', () => {
    const record = fc.record({
      name: fc.constantFrom(NAME, NAME.toUpperCase(), 'other.monsoon.test'),
      type: fc.constantFrom('TXT' as const, 'A' as const),
      strings: fc.array(fc.string({ maxLength: 60, unit: 'binary' }), {
        minLength: 1,
        maxLength: 4,
      }),
    })
    fc.assert(
      fc.property(fc.array(record, { maxLength: 12 }), (records) => {
        const answers: Answer[] = records.map((r) =>
          r.type === 'A'
            ? { type: 'A', name: r.name, ttl: 60, data: '127.0.0.1' }
            : { type: 'TXT', name: r.name, ttl: 60, data: r.strings },
        )
        const wanted = records
          .filter((r) => r.type === 'TXT' && r.name.toLowerCase() === NAME)
          .flatMap((r) => r.strings)
        expect(txtStrings(answer(answers), NAME)).toEqual(wanted)
      }),
    )
  })

  it('never throws anything but DnsError, whatever the bytes', () => {
    const good = answer([{ type: 'TXT', name: NAME, ttl: 60, data: ['x', 'y'] }])
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), {
          maxLength: 8,
        }),
        (flips) => {
          const bytes = new Uint8Array(good)
          for (const [at, v] of flips) bytes[at] = v
          try {
            txtStrings(bytes, NAME)
          } catch (err) {
            expect(err).toBeInstanceOf(DnsError)
          }
        },
      ),
      { numRuns: 3000 },
    )
  })
})
