// The network's DNS zone as data (ARCHITECTURE.md, "Discovery", step 3): one question in,
// the records of an authoritative answer out. No I/O, no clock: the caller hands in the
// live supernodes and a serial. Names served under each configured zone Z:
//
//   Z                       SOA, NS (the configured name servers; RFC 1035 §3.3.13, §3.3.11)
//   _supernodes.Z           TXT: one record per supernode, its URLs as character-strings
//   seed.Z                  A / AAAA: every supernode whose URL host is a literal IP address
//   <label>.seed.Z          A / AAAA of one such supernode (label: "n" + 16 hex of its id)
//   _monsoon._tcp.Z         SRV (RFC 2782): port of each supernode; target <label>.seed.Z for
//                           a literal IP host, else the URL's own host name
//
// Host names in URLs are not resolved here (no recursion, no lookups): only literal IPs
// become A/AAAA records. Empty non-terminals (`_tcp.Z`) answer NODATA (RFC 8020). Names
// outside every zone get REFUSED with AA clear; ANY gets the RFC 8482 HINFO stand-in.

import type { Answer, Question } from 'dns-packet'
import { isIPv4, isIPv6 } from 'node:net'
import { MAX_DNS_ANSWER_RECORDS } from '../limits.ts'

export interface ZoneSupernode {
  /** Node id, 64 hex chars. */
  id: string
  /** Its http(s) origins, best first. */
  urls: string[]
}

export interface Zone {
  /** Zone apexes, lower case, no trailing dot (`monsoon.example`). */
  origins: string[]
  /** Name servers listed as NS; the first is the SOA's MNAME. */
  nameServers: string[]
  /** TTL of every record, and the SOA MINIMUM (negative caching, RFC 2308). */
  ttl: number
  /** SOA serial (RFC 1982 arithmetic is the reader's business). */
  serial: number
  supernodes: ZoneSupernode[]
}

export type ZoneRcode = 'NOERROR' | 'NXDOMAIN' | 'REFUSED'

export interface ZoneAnswer {
  rcode: ZoneRcode
  /** AA: set for every name inside a zone (RFC 1035 §4.1.1). */
  authoritative: boolean
  answers: Answer[]
  authorities: Answer[]
}

const MAX_TXT_STRING = 255
/** Seconds a secondary would wait (SOA REFRESH/RETRY/EXPIRE): nominal, there is no AXFR. */
const SOA_TIMERS = { refresh: 3600, retry: 600, expire: 86400 }

/** The answer to one question (name compared case-insensitively, RFC 4343). */
export function answerQuestion(question: Question, zone: Zone): ZoneAnswer {
  const name = question.name.toLowerCase().replace(/\.$/, '')
  const origin = zone.origins
    .filter((o) => name === o || name.endsWith(`.${o}`))
    .sort((a, b) => b.length - a.length)[0]
  if (origin === undefined || (question.class !== 'IN' && question.class !== 'ANY')) {
    return { rcode: 'REFUSED', authoritative: false, answers: [], authorities: [] }
  }
  const rrsets = namesOf(origin, zone)
  const owned = rrsets.get(name)
  const soa = soaRecord(origin, zone)
  if (!owned) {
    const nonTerminal = [...rrsets.keys()].some((n) => n.endsWith(`.${name}`))
    if (nonTerminal)
      return { rcode: 'NOERROR', authoritative: true, answers: [], authorities: [soa] }
    return { rcode: 'NXDOMAIN', authoritative: true, answers: [], authorities: [soa] }
  }
  if ((question.type as string) === 'ANY') {
    // RFC 8482 §4.2: one synthesised HINFO instead of every record set.
    const hinfo: Answer = {
      type: 'HINFO',
      name: question.name,
      ttl: zone.ttl,
      data: { cpu: 'RFC8482', os: '' },
    }
    return { rcode: 'NOERROR', authoritative: true, answers: [hinfo], authorities: [] }
  }
  const answers = owned.filter((rr) => rr.type === question.type)
  return {
    rcode: 'NOERROR',
    authoritative: true,
    answers: answers.map((rr) => ({ ...rr, name: question.name }) as Answer),
    authorities: answers.length ? [] : [soa],
  }
}

/** Every name of one zone with its records (a few dozen at most: cheap to rebuild). */
function namesOf(origin: string, zone: Zone): Map<string, Answer[]> {
  const { ttl } = zone
  const names = new Map<string, Answer[]>()
  const add = (name: string, rr: Answer) => {
    const list = names.get(name) ?? []
    list.push(rr)
    names.set(name, list)
  }
  add(origin, soaRecord(origin, zone))
  for (const ns of zone.nameServers) add(origin, { type: 'NS', name: origin, ttl, data: ns })
  const txtName = `_supernodes.${origin}`
  const seed = `seed.${origin}`
  const srvName = `_monsoon._tcp.${origin}`
  for (const node of zone.supernodes.slice(0, MAX_DNS_ANSWER_RECORDS)) {
    // A TXT character-string holds 255 bytes (RFC 1035 §3.3); canonical URLs are ASCII.
    const urls = node.urls.filter((url) => url.length <= MAX_TXT_STRING)
    if (urls.length) add(txtName, { type: 'TXT', name: txtName, ttl, data: urls })
    const endpoint = endpointOf(node.urls[0])
    if (!endpoint) continue
    const own = `${hostLabel(node.id)}.${seed}`
    if (endpoint.ipType) {
      const rr = { type: endpoint.ipType, ttl, data: endpoint.host } as const
      add(seed, { ...rr, name: seed })
      add(own, { ...rr, name: own })
    }
    const target = endpoint.ipType ? own : endpoint.host
    const srv = { priority: 0, weight: 1, port: endpoint.port, target }
    add(srvName, { type: 'SRV', name: srvName, ttl, data: srv })
  }
  return names
}

function soaRecord(origin: string, zone: Zone): Answer {
  return {
    type: 'SOA',
    name: origin,
    ttl: zone.ttl,
    data: {
      mname: zone.nameServers[0] ?? origin,
      rname: `hostmaster.${origin}`,
      serial: zone.serial >>> 0,
      ...SOA_TIMERS,
      minimum: zone.ttl,
    },
  }
}

/** The DNS label naming one supernode under seed.Z. */
export function hostLabel(id: string): string {
  return `n${id.slice(0, 16).toLowerCase()}`
}

interface Endpoint {
  host: string
  port: number
  ipType?: 'A' | 'AAAA'
}

function endpointOf(url: string | undefined): Endpoint | undefined {
  if (url === undefined) return undefined
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '')
  const port = Number(parsed.port) || (parsed.protocol === 'https:' ? 443 : 80)
  if (isIPv4(host)) return { host, port, ipType: 'A' }
  if (isIPv6(host)) return { host, port, ipType: 'AAAA' }
  return { host, port }
}
