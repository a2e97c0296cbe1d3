// The zone's answers and the DNS message rules, from code (relay/dns/zone.ts, message.ts):
// every record type the zone serves, NXDOMAIN/NODATA/REFUSED, size bounds and truncation,
// and hostile packets (truncated, compression-pointer loops, huge counts, wrong opcode or
// class, several questions) that must get FORMERR/NOTIMP/REFUSED or silence, never a throw.

import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DNS_UDP_MAX_BYTES, MAX_DNS_ANSWER_RECORDS } from '../limits.ts'
import { respond, type DnsTransport } from '../dns/message.ts'
import { hostLabel, type Zone } from '../dns/zone.ts'

const ID_A = 'a'.repeat(64)
const ID_B = 'b'.repeat(64)
const ID_C = 'c'.repeat(64)

function zone(overrides: Partial<Zone> = {}): Zone {
  return {
    origins: ['monsoon.test'],
    nameServers: ['ns1.monsoon.test', 'ns2.elsewhere.test'],
    ttl: 60,
    serial: 42,
    supernodes: [
      { id: ID_A, urls: ['http://127.0.0.1:8080'] },
      { id: ID_B, urls: ['https://[2001:db8::1]', 'http://b.relay.test:81'] },
      { id: ID_C, urls: ['https://relay.test'] },
    ],
    ...overrides,
  }
}

type Decoded = DecodedPacket & { rcode: string; opcode: string }

function query(name: string, type: string, extra: Partial<Packet> = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 4321,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as 'A', class: 'IN' }],
    ...extra,
  })
}

function ask(bytes: Uint8Array, z = zone(), transport: DnsTransport = 'tcp') {
  const response = respond(bytes, z, transport)
  expect(response).not.toBeNull()
  return { ...response!, packet: dnsPacket.decode(response!.bytes) as Decoded }
}

const data = (answers: Answer[] | undefined) =>
  (answers ?? []).map((a) => (a as { data: unknown }).data)

describe('zone answers', () => {
  it('names every supernode URL in TXT records at _supernodes, authoritatively', () => {
    const { packet } = ask(query('_supernodes.monsoon.test', 'TXT'))
    expect(packet.rcode).toBe('NOERROR')
    expect(packet.id).toBe(4321)
    expect(packet.flag_qr).toBe(true)
    expect(packet.flag_aa).toBe(true)
    expect(packet.flag_ra).toBe(false)
    expect(packet.flag_rd).toBe(true)
    const urls = data(packet.answers).map((d) => (d as Buffer[]).map(String))
    expect(urls).toEqual([
      ['http://127.0.0.1:8080'],
      ['https://[2001:db8::1]', 'http://b.relay.test:81'],
      ['https://relay.test'],
    ])
    expect(packet.answers!.every((a) => (a as { ttl: number }).ttl === 60)).toBe(true)
  })

  it('gives A and AAAA at seed for literal IP hosts only, and one name per supernode', () => {
    expect(data(ask(query('seed.monsoon.test', 'A')).packet.answers)).toEqual(['127.0.0.1'])
    expect(data(ask(query('seed.monsoon.test', 'AAAA')).packet.answers)).toEqual(['2001:db8::1'])
    const own = `${hostLabel(ID_B)}.seed.monsoon.test`
    expect(data(ask(query(own, 'AAAA')).packet.answers)).toEqual(['2001:db8::1'])
  })

  it('gives each supernode port in SRV records', () => {
    const { packet } = ask(query('_monsoon._tcp.monsoon.test', 'SRV'))
    expect(data(packet.answers)).toEqual([
      { priority: 0, weight: 1, port: 8080, target: `${hostLabel(ID_A)}.seed.monsoon.test` },
      { priority: 0, weight: 1, port: 443, target: `${hostLabel(ID_B)}.seed.monsoon.test` },
      { priority: 0, weight: 1, port: 443, target: 'relay.test' },
    ])
  })

  it('serves SOA and NS at the apex with the configured TTL', () => {
    const z = zone({ ttl: 17 })
    const soa = ask(query('monsoon.test', 'SOA'), z).packet.answers![0] as Answer & {
      ttl: number
      data: { mname: string; serial: number; minimum: number }
    }
    expect(soa.ttl).toBe(17)
    expect(soa.data).toMatchObject({ mname: 'ns1.monsoon.test', serial: 42, minimum: 17 })
    expect(data(ask(query('monsoon.test', 'NS'), z).packet.answers)).toEqual([
      'ns1.monsoon.test',
      'ns2.elsewhere.test',
    ])
  })

  it('answers NXDOMAIN with the SOA for a name the zone lacks, NODATA for a type it lacks', () => {
    const nx = ask(query('nothing.monsoon.test', 'A')).packet
    expect(nx.rcode).toBe('NXDOMAIN')
    expect(nx.flag_aa).toBe(true)
    expect(nx.authorities!.map((a) => a.type)).toEqual(['SOA'])
    const nodata = ask(query('seed.monsoon.test', 'TXT')).packet
    expect(nodata.rcode).toBe('NOERROR')
    expect(nodata.answers).toEqual([])
    expect(nodata.authorities!.map((a) => a.type)).toEqual(['SOA'])
    // An empty non-terminal exists (RFC 8020): NODATA, not NXDOMAIN.
    expect(ask(query('_tcp.monsoon.test', 'A')).packet.rcode).toBe('NOERROR')
  })

  it('refuses names outside the zone, without AA: no recursion', () => {
    for (const name of ['example.com', 'monsoon.test.evil.test', 'xmonsoon.test']) {
      const { packet } = ask(query(name, 'A'))
      expect(packet.rcode).toBe('REFUSED')
      expect(packet.flag_aa).toBe(false)
      expect(packet.flag_ra).toBe(false)
      expect(packet.answers).toEqual([])
    }
  })

  it('matches names case-insensitively and echoes the question as asked', () => {
    const { packet } = ask(query('_SuperNodes.MONSOON.test', 'TXT'))
    expect(packet.answers).toHaveLength(3)
    expect(packet.answers![0].name).toBe('_SuperNodes.MONSOON.test')
    expect(packet.questions![0].name).toBe('_SuperNodes.MONSOON.test')
  })

  it('leaves out a URL too long for one TXT string', () => {
    const long = `https://${'a'.repeat(250)}.test`
    const z = zone({ supernodes: [{ id: ID_A, urls: [long, 'http://127.0.0.1:1'] }] })
    const { packet } = ask(query('_supernodes.monsoon.test', 'TXT'), z)
    expect(data(packet.answers).map((d) => (d as Buffer[]).map(String))).toEqual([
      ['http://127.0.0.1:1'],
    ])
  })

  it('answers ANY with the RFC 8482 stand-in, and serves several zones', () => {
    expect(ask(query('seed.monsoon.test', 'ANY')).packet.answers![0].type).toBe('HINFO')
    const z = zone({ origins: ['monsoon.test', 'other.test'] })
    expect(data(ask(query('seed.other.test', 'A'), z).packet.answers)).toEqual(['127.0.0.1'])
  })
})

describe('answer size', () => {
  const many = zone({
    supernodes: Array.from({ length: 100 }, (_, i) => ({
      id: i.toString(16).padStart(64, '0'),
      urls: [`http://10.0.${i >> 8}.${i & 255}:${8000 + i}`],
    })),
  })

  it('truncates a UDP answer over 512 bytes (no EDNS0) to an empty one with TC', () => {
    const r = ask(query('_supernodes.monsoon.test', 'TXT'), many, 'udp')
    expect(r.truncated).toBe(true)
    expect(r.packet.flag_tc).toBe(true)
    expect(r.packet.answers).toEqual([])
    expect(r.bytes.length).toBeLessThanOrEqual(512)
  })

  it('honours an EDNS0 size only up to the cap, and sends the full answer over TCP', () => {
    const edns = { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 65000 } as Answer] }
    const udp = ask(query('_supernodes.monsoon.test', 'TXT', edns), many, 'udp')
    expect(udp.bytes.length).toBeLessThanOrEqual(DNS_UDP_MAX_BYTES)
    expect(udp.packet.flag_tc).toBe(true)
    const small = ask(query('seed.monsoon.test', 'A', edns), zone(), 'udp')
    expect(small.packet.flag_tc).toBe(false)
    expect(small.packet.additionals!.find((a) => a.type === 'OPT')).toMatchObject({
      udpPayloadSize: DNS_UDP_MAX_BYTES,
    })
    const tcp = ask(query('_supernodes.monsoon.test', 'TXT'), many, 'tcp')
    expect(tcp.packet.flag_tc).toBe(false)
    expect(tcp.packet.answers).toHaveLength(MAX_DNS_ANSWER_RECORDS)
  })
})

describe('hostile queries', () => {
  const header = (id: number, flags: number, counts: number[]) => {
    const b = Buffer.alloc(12)
    b.writeUInt16BE(id, 0)
    b.writeUInt16BE(flags, 2)
    counts.forEach((n, i) => b.writeUInt16BE(n, 4 + 2 * i))
    return b
  }
  const rcodeOf = (bytes: Uint8Array) => ask(bytes).packet.rcode

  it('stays silent for fewer than 12 bytes and for responses (QR set)', () => {
    expect(respond(Buffer.alloc(0), zone(), 'udp')).toBeNull()
    expect(respond(Buffer.alloc(11), zone(), 'udp')).toBeNull()
    const answer = query('seed.monsoon.test', 'A')
    answer.writeUInt16BE(answer.readUInt16BE(2) | 0x8000, 2)
    expect(respond(answer, zone(), 'udp')).toBeNull()
  })

  it('answers FORMERR, echoing the id, to a truncated question', () => {
    const full = query('_supernodes.monsoon.test', 'TXT')
    for (const cut of [13, 20, full.length - 1]) {
      const { packet } = ask(full.subarray(0, cut))
      expect(packet.rcode).toBe('FORMERR')
      expect(packet.id).toBe(4321)
    }
  })

  it('answers FORMERR to compression-pointer loops, at once', () => {
    // A name that points at itself (offset 12), and two pointers pointing at each other.
    const self = Buffer.concat([header(7, 0, [1, 0, 0, 0]), Buffer.from([0xc0, 12, 0, 1, 0, 1])])
    expect(rcodeOf(self)).toBe('FORMERR')
    const pair = Buffer.concat([
      header(8, 0, [1, 0, 0, 0]),
      Buffer.from([1, 0x61, 0xc0, 16, 0xc0, 12, 0, 1, 0, 1]),
    ])
    expect(rcodeOf(pair)).toBe('FORMERR')
    // A forward pointer past the end.
    const far = Buffer.concat([header(9, 0, [1, 0, 0, 0]), Buffer.from([0xc0, 0xff, 0, 1, 0, 1])])
    expect(rcodeOf(far)).toBe('FORMERR')
  })

  it('answers FORMERR to huge or wrong counts and to several questions', () => {
    const q = query('seed.monsoon.test', 'A')
    for (const counts of [
      [65535, 65535, 65535, 65535],
      [0, 0, 0, 0],
      [2, 0, 0, 0],
      [1, 1, 0, 0],
      [1, 0, 0, 5],
    ]) {
      const bytes = Buffer.from(q)
      counts.forEach((n, i) => bytes.writeUInt16BE(n, 4 + 2 * i))
      expect(rcodeOf(bytes)).toBe('FORMERR')
    }
    const two = dnsPacket.encode({
      type: 'query',
      id: 1,
      questions: [
        { name: 'seed.monsoon.test', type: 'A' },
        { name: 'monsoon.test', type: 'SOA' },
      ],
    })
    expect(rcodeOf(two)).toBe('FORMERR')
  })

  it('answers FORMERR to a query over the size cap', () => {
    const padded = Buffer.concat([query('seed.monsoon.test', 'A'), Buffer.alloc(600)])
    expect(rcodeOf(padded)).toBe('FORMERR')
  })

  it('answers NOTIMP to other opcodes, REFUSED to other classes, BADVERS to EDNS1', () => {
    const status = query('seed.monsoon.test', 'A')
    status.writeUInt16BE(status.readUInt16BE(2) | (2 << 11), 2)
    expect(rcodeOf(status)).toBe('NOTIMP')
    const chaos = dnsPacket.encode({
      type: 'query',
      id: 2,
      questions: [{ name: 'version.bind', type: 'TXT', class: 'CH' }],
    })
    expect(rcodeOf(chaos)).toBe('REFUSED')
    const inZoneChaos = dnsPacket.encode({
      type: 'query',
      id: 3,
      questions: [{ name: 'seed.monsoon.test', type: 'A', class: 'CH' }],
    })
    expect(rcodeOf(inZoneChaos)).toBe('REFUSED')
    const v1 = query('seed.monsoon.test', 'A', {
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, ednsVersion: 1 } as Answer],
    })
    const { packet } = ask(v1)
    const opt = packet.additionals!.find((a) => a.type === 'OPT') as { extendedRcode: number }
    expect(opt.extendedRcode).toBe(1)
    expect(packet.answers).toEqual([])
  })

  it('never throws and never answers over the UDP bound, whatever the bytes', () => {
    const q = query('_supernodes.monsoon.test', 'TXT')
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 700 }),
          // A real query with a few bytes flipped reaches deeper into the decoder.
          fc
            .array(fc.tuple(fc.nat(q.length - 1), fc.integer({ min: 0, max: 255 })), {
              maxLength: 6,
            })
            .map((flips) => {
              const b = Buffer.from(q)
              for (const [at, v] of flips) b[at] = v
              return new Uint8Array(b)
            }),
        ),
        (bytes) => {
          const r = respond(bytes, zone(), 'udp')
          if (r) expect(r.bytes.length).toBeLessThanOrEqual(DNS_UDP_MAX_BYTES)
        },
      ),
      { numRuns: 2000 },
    )
  })
})
