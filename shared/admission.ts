// Who may own info hashes (ARCHITECTURE.md, "Supernodes, lookups and load", Admission): a
// supernode is elected, never self-declared. A record that says `role: supernode` is only a
// claim; it enters an owner set when it is *admitted*:
//
// - Roots. A network starts from its seed relay (started with no --peer and no bootstrap
//   source), whose id is the network's root. A relay that joins through --peer or a
//   bootstrap source takes the roots that relay names; a browser takes the roots the relay it
//   asked names. Roots are never learned from pushes, so a stranger cannot add one.
// - Admissions. An admission is a statement signed by a supernode: "I admit <id>". It is
//   valid when its signer is admitted: a root, or admitted by one, and so on. Admissions do
//   not expire and do not depend on the signer being alive, so a network outlives its seed;
//   the record itself still has to be live and say `role: supernode` to own anything (a
//   demoted or dead supernode owns nothing).
// - Diversity. Of the admitted supernodes whose first URL shares an address prefix (/24 for
//   IPv4, /48 for IPv6, the last two labels of a host name), at most `maxPerPrefix` own
//   hashes: roots first, then by id. As BEP 42 and S/Kademlia do for DHT node ids, this keeps
//   one operator, or one attacker who got a foothold, from filling the ranking with keys
//   ground into chosen places.
// Relays (relay/supernode/directory.ts) and browsers (app/lib/network.ts) compute owners
// with this same code, so both refuse the same self-declared records.
//
// On the wire (JSON): { v: 1, by, id, ts, sig }: `by` admits `id` (both 64 lowercase hex
// node ids); the Ed25519 signature by `by` covers the canonical bencode of
//   { by: 32 bytes, id: 32 bytes, ts, typ: "admission", v }.

import bencode from 'bencode'
import { hexToBytes, type SignatureVerifier } from './identity.ts'
import { MAX_CLOCK_SKEW_SECONDS } from './limits.ts'
import type { SupernodeRecord } from './supernode.ts'

export const ADMISSION_VERSION = 1

export interface Admission {
  v: typeof ADMISSION_VERSION
  /** The admitting supernode's id. */
  by: string
  /** The admitted node's id. */
  id: string
  /** Unix seconds when signed. */
  ts: number
  /** Ed25519 signature by `by`, 128 lowercase hex chars. */
  sig: string
}

export class AdmissionError extends Error {
  override name = 'AdmissionError'
}

const HEX64 = /^[0-9a-f]{64}$/
const HEX128 = /^[0-9a-f]{128}$/
const KEYS = ['v', 'by', 'id', 'ts', 'sig']

export function admissionSigningBytes(a: Omit<Admission, 'sig'>): Uint8Array {
  return bencode.encode({
    by: hexToBytes(a.by),
    id: hexToBytes(a.id),
    ts: a.ts,
    typ: 'admission',
    v: a.v,
  })
}

/** An admission of `id` by the holder of `signHex` (which returns a 128-hex signature). */
export function createAdmission(
  by: string,
  id: string,
  ts: number,
  signHex: (message: Uint8Array) => string,
): Admission {
  const unsigned = { v: ADMISSION_VERSION, by, id, ts } as const
  check(unsigned)
  return { ...unsigned, sig: signHex(admissionSigningBytes(unsigned)) }
}

/** Checks an untrusted value (parsed JSON) is a well-formed, correctly signed admission, not
 * signed in the future; returns a fresh copy. Whether its signer counts is `admitted`'s call. */
export function verifyAdmission(
  value: unknown,
  nowSeconds: number,
  verify: SignatureVerifier,
): Admission {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AdmissionError('admission must be an object')
  }
  const o = value as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!KEYS.includes(key)) throw new AdmissionError(`unknown field "${key}"`)
  }
  const copy = { v: o.v, by: o.by, id: o.id, ts: o.ts, sig: o.sig } as Admission
  check(copy)
  if (typeof copy.sig !== 'string' || !HEX128.test(copy.sig)) {
    throw new AdmissionError('sig must be 128 lowercase hex chars')
  }
  if (copy.ts > nowSeconds + MAX_CLOCK_SKEW_SECONDS) {
    throw new AdmissionError('ts is too far in the future')
  }
  if (!verify(hexToBytes(copy.sig), admissionSigningBytes(copy), hexToBytes(copy.by))) {
    throw new AdmissionError('signature does not match by')
  }
  return copy
}

function check(a: Omit<Admission, 'sig'>): void {
  if (a.v !== ADMISSION_VERSION) throw new AdmissionError('unsupported version')
  if (typeof a.by !== 'string' || !HEX64.test(a.by)) throw new AdmissionError('bad by')
  if (typeof a.id !== 'string' || !HEX64.test(a.id)) throw new AdmissionError('bad id')
  if (a.by === a.id) throw new AdmissionError('a node cannot admit itself')
  if (!Number.isSafeInteger(a.ts) || a.ts < 0) throw new AdmissionError('ts must be unix seconds')
}

/** The ids admitted from `roots` through `admissions` (signers must be admitted themselves),
 * roots included. Linear in the admissions for each hop of the longest chain. */
export function admittedIds(
  roots: Iterable<string>,
  admissions: Iterable<Pick<Admission, 'by' | 'id'>>,
): Set<string> {
  const admitted = new Set(roots)
  const bySigner = new Map<string, string[]>()
  for (const a of admissions) {
    const list = bySigner.get(a.by)
    if (list) list.push(a.id)
    else bySigner.set(a.by, [a.id])
  }
  const queue = [...admitted]
  while (queue.length > 0) {
    for (const id of bySigner.get(queue.pop()!) ?? []) {
      if (admitted.has(id)) continue
      admitted.add(id)
      queue.push(id)
    }
  }
  return admitted
}

/**
 * The records that may own hashes: role 'supernode', admitted, and within `maxPerPrefix` of
 * their address prefix (roots first, then by id). The order of `records` is kept.
 */
export function owningRecords<R extends Pick<SupernodeRecord, 'id' | 'role' | 'urls'>>(
  records: readonly R[],
  admitted: ReadonlySet<string>,
  roots: ReadonlySet<string>,
  maxPerPrefix: number,
): R[] {
  const claims = records.filter((r) => r.role === 'supernode' && admitted.has(r.id))
  const ranked = [...claims].sort(
    (a, b) => Number(roots.has(b.id)) - Number(roots.has(a.id)) || (a.id < b.id ? -1 : 1),
  )
  const perPrefix = new Map<string, number>()
  const kept = new Set<string>()
  for (const r of ranked) {
    const prefix = addressPrefix(r.urls[0])
    const n = perPrefix.get(prefix) ?? 0
    if (n >= maxPerPrefix) continue
    perPrefix.set(prefix, n + 1)
    kept.add(r.id)
  }
  return claims.filter((r) => kept.has(r.id))
}

/**
 * The prefix a relay URL counts against: `a.b.c/24` for IPv4, the first three words `/48`
 * for IPv6, the last two labels of a host name (`relay.example.org` → `example.org`; a name
 * costs its registrant money, an address block its holder more). Unparseable URLs are their
 * own prefix.
 */
export function addressPrefix(url: string): string {
  let host: string
  try {
    host = new URL(url).hostname.toLowerCase()
  } catch {
    return url
  }
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host)
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`
  if (host.startsWith('[') && host.endsWith(']')) {
    const words = ipv6Words(host.slice(1, -1))
    if (!words) return host
    // An IPv4-mapped address (::ffff:a.b.c.d) counts as its IPv4 /24.
    if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
      return `${words[6] >> 8}.${words[6] & 0xff}.${words[7] >> 8}.0/24`
    }
    return `${words
      .slice(0, 3)
      .map((w) => w.toString(16))
      .join(':')}::/48`
  }
  return host.replace(/\.$/, '').split('.').slice(-2).join('.')
}

/** The eight 16-bit words of an IPv6 address as the URL parser writes it (a trailing dotted
 * IPv4 part allowed), or null. */
export function ipv6Words(ip: string): number[] | null {
  if (!/^[0-9a-f:.]+$/i.test(ip) || ip.split('::').length > 2) return null
  let text = ip
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number)
    if ([a, b, c, d].some((n) => n > 255)) return null
    text =
      text.slice(0, -dotted[0].length) +
      `${(a * 256 + b).toString(16)}:${(c * 256 + d).toString(16)}`
  }
  const [head, tail] = text.split('::')
  const left = head ? head.split(':') : []
  const right = tail === undefined ? [] : tail ? tail.split(':') : []
  const gap = tail === undefined ? 0 : 8 - left.length - right.length
  if (gap < 0 || (tail !== undefined && gap === 0)) return null
  const parts = [...left, ...Array<string>(gap).fill('0'), ...right]
  if (parts.length !== 8 || parts.some((w) => !/^[0-9a-f]{1,4}$/i.test(w))) return null
  return parts.map((w) => parseInt(w, 16))
}
