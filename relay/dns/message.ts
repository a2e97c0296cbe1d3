// DNS messages on the wire (RFC 1035 §4.1, EDNS0 RFC 6891): a query's bytes in, the
// response's bytes out, for any transport. dns-packet does the codec; this module decides
// what a hostile or odd query gets:
//   - fewer than 12 bytes, or the QR bit set (a response: answering it could loop two
//     servers): nothing (`null`);
//   - over MAX_DNS_QUERY_BYTES, a count other than one question (and at most one OPT), or
//     anything dns-packet cannot decode: FORMERR, echoing the id only;
//   - an opcode other than QUERY: NOTIMP; an EDNS version other than 0: BADVERS (§6.1.3);
//   - otherwise the zone's answer (zone.ts) with AA as it says, RD echoed, RA clear.
// dns-packet only follows compression pointers backwards, so a pointer loop ends in an
// error, never a hang (relay/test/dns-zone.test.ts builds one).
//
// Size: over UDP the answer is bounded by 512 bytes, or the client's EDNS0 size clamped to
// DNS_UDP_MAX_BYTES; a larger answer goes out empty with TC set (RFC 2181 §9), so the client
// asks again over TCP. TCP and DoH answers are bounded by the zone's record cap.

import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer, type Packet } from 'dns-packet'
import { DNS_UDP_DEFAULT_BYTES, DNS_UDP_MAX_BYTES, MAX_DNS_QUERY_BYTES } from '../limits.ts'
import { answerQuestion, type Zone } from './zone.ts'

export type DnsTransport = 'udp' | 'tcp' | 'https'

export interface DnsResponse {
  bytes: Buffer
  rcode: string
  /** Smallest TTL in the answer (or the SOA MINIMUM of a negative one): DoH's max-age. */
  minTtl: number
  truncated: boolean
}

const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const
const OPCODE_QUERY = 0
const HEADER_BYTES = 12

/** The response to `query`, or null when none must be sent. */
export function respond(
  query: Uint8Array,
  zone: Zone,
  transport: DnsTransport,
): DnsResponse | null {
  if (query.length < HEADER_BYTES) return null
  const buf = Buffer.from(query.buffer, query.byteOffset, query.length)
  const id = buf.readUInt16BE(0)
  const flags = buf.readUInt16BE(2)
  if (flags & 0x8000) return null
  const rd = flags & dnsPacket.RECURSION_DESIRED
  if (query.length > MAX_DNS_QUERY_BYTES) return bare(id, rd, 'FORMERR')
  if (((flags >> 11) & 0xf) !== OPCODE_QUERY) return bare(id, rd, 'NOTIMP')
  const [qd, an, ns, ar] = [4, 6, 8, 10].map((at) => buf.readUInt16BE(at))
  if (qd !== 1 || an !== 0 || ns !== 0 || ar > 1) return bare(id, rd, 'FORMERR')
  let decoded: DecodedPacket
  try {
    decoded = dnsPacket.decode(buf)
  } catch {
    return bare(id, rd, 'FORMERR')
  }
  const question = decoded.questions![0]
  const opt = decoded.additionals?.find((a): a is OptAnswer => a.type === 'OPT')
  if (decoded.additionals?.length && !opt) return bare(id, rd, 'FORMERR')
  const edns: OptAnswer | undefined = opt && {
    type: 'OPT',
    name: '.',
    udpPayloadSize: DNS_UDP_MAX_BYTES,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  }
  if (opt && opt.ednsVersion !== 0) {
    // BADVERS is extended RCODE 16: upper bits 1 in the OPT record, lower bits 0.
    return encodeBounded(
      { id, flags: rd, questions: [question], additionals: [{ ...edns!, extendedRcode: 1 }] },
      'BADVERS',
      0,
      transport,
      DNS_UDP_DEFAULT_BYTES,
    )
  }
  const zoneAnswer = answerQuestion(question, zone)
  const packet: Packet = {
    id,
    type: 'response',
    flags:
      rd |
      (zoneAnswer.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) |
      RCODE[zoneAnswer.rcode],
    questions: [question],
    answers: zoneAnswer.answers,
    authorities: zoneAnswer.authorities,
    additionals: edns ? [edns] : [],
  }
  const limit = opt
    ? Math.min(DNS_UDP_MAX_BYTES, Math.max(DNS_UDP_DEFAULT_BYTES, opt.udpPayloadSize))
    : DNS_UDP_DEFAULT_BYTES
  return encodeBounded(
    packet,
    zoneAnswer.rcode,
    minTtl(zoneAnswer.answers, zoneAnswer.authorities),
    transport,
    limit,
  )
}

/** Encodes `packet`; over UDP, one larger than `limit` goes out with TC and no records. */
function encodeBounded(
  packet: Packet,
  rcode: string,
  ttl: number,
  transport: DnsTransport,
  limit: number,
): DnsResponse | null {
  let bytes: Buffer
  try {
    bytes = dnsPacket.encode({ ...packet, type: 'response' })
  } catch {
    // A question dns-packet decoded but cannot spell again (odd bytes in a label).
    return bare(packet.id ?? 0, (packet.flags ?? 0) & dnsPacket.RECURSION_DESIRED, 'FORMERR')
  }
  if (transport !== 'udp' || bytes.length <= limit) {
    return { bytes, rcode, minTtl: ttl, truncated: false }
  }
  const truncated: Packet = {
    ...packet,
    type: 'response',
    flags: (packet.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
    answers: [],
    authorities: [],
  }
  return { bytes: dnsPacket.encode(truncated), rcode, minTtl: ttl, truncated: true }
}

/** A response with a header only: for queries whose question cannot be trusted. */
function bare(id: number, rd: number, rcode: 'FORMERR' | 'NOTIMP'): DnsResponse {
  const bytes = Buffer.alloc(HEADER_BYTES)
  bytes.writeUInt16BE(id, 0)
  bytes.writeUInt16BE(0x8000 | rd | RCODE[rcode], 2)
  return { bytes, rcode, minTtl: 0, truncated: false }
}

function minTtl(answers: Answer[], authorities: Answer[]): number {
  const ttls = [...answers, ...authorities].map((rr) => ('ttl' in rr ? (rr.ttl ?? 0) : 0))
  return ttls.length ? Math.min(...ttls) : 0
}
