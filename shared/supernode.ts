// The supernode record: what a relay says about itself, signed with its node key
// (ARCHITECTURE.md, "Supernodes, lookups and load"). Served at GET /v1/hello, later passed
// from node to node; keyed by `id`, the highest `seq` wins.
//
// On the wire (JSON):
//   { v: 1, id, urls: [origin, …], role: 'supernode' | 'candidate',
//     capacity: { maxHashes, maxPeers, bandwidth, relay? }, load: { hashes, peers, bandwidth,
//     relay? }, seq, ts, sig }
// Bandwidth is bytes per second spent on tracking; `relay` is bytes per second of browsers'
// WebRTC data relayed (TURN, RFC 8656): the cap the operator gives it and what it carried
// lately. A relay that relays nothing leaves `relay` out of both, and a record without it
// signs the same bytes as before it existed. The signature (RFC 8032 Ed25519, strict) covers
// the canonical bencode (BEP 3: sorted keys, no leading zeros) of
//   { cap: { bw, hashes, peers, relay? }, id: 32 bytes, load: { bw, hashes, peers, relay? },
//     role, seq, ts, typ: "supernode", urls, v }
// where `typ` keeps these bytes from ever reading as another kind of signed record. As with
// listings, a verifier rebuilds those bytes from the JSON and refuses any other spelling of
// the same record (upper-case hex, a URL with a trailing slash or a default port, a string
// where a number belongs) instead of fixing it.

import bencode from 'bencode'
import {
  bytesToHex,
  hexToBytes,
  sign,
  verify,
  type NodeIdentity,
  type SignatureVerifier,
} from './identity.ts'
import {
  MAX_CLOCK_SKEW_SECONDS,
  MAX_SAFE_SIZE,
  MAX_SUPERNODE_RECORD_AGE_SECONDS,
  MAX_SUPERNODE_RECORD_BYTES,
  MAX_SUPERNODE_URL_CHARS,
  MAX_SUPERNODE_URLS,
} from './limits.ts'

export const SUPERNODE_RECORD_VERSION = 1
export const SUPERNODE_ROLES = ['supernode', 'candidate'] as const
export type SupernodeRole = (typeof SUPERNODE_ROLES)[number]

export interface SupernodeCapacity {
  /** Most info hashes it will track. */
  maxHashes: number
  /** Most peers it will track, over all hashes. */
  maxPeers: number
  /** Bytes per second it gives to tracking. */
  bandwidth: number
  /** Bytes per second it relays for browsers (TURN) at most; absent: it relays nothing. */
  relay?: number
}

export interface SupernodeLoad {
  hashes: number
  peers: number
  /** Bytes per second spent on tracking lately. */
  bandwidth: number
  /** Bytes per second relayed for browsers lately; present exactly when capacity.relay is. */
  relay?: number
}

/** What a relay fills in; `createSupernodeRecord` signs it. */
export interface SupernodeDraft {
  /** Where others reach it: http(s) origins, best first. */
  urls: string[]
  role: SupernodeRole
  capacity: SupernodeCapacity
  load: SupernodeLoad
}

export interface SupernodeRecord extends SupernodeDraft {
  v: typeof SUPERNODE_RECORD_VERSION
  /** The node id: its Ed25519 public key, 64 lowercase hex chars. */
  id: string
  /** Only goes up; the highest wins. */
  seq: number
  /** Unix seconds when signed. */
  ts: number
  /** Ed25519 signature over `supernodeSigningBytes`, 128 lowercase hex chars. */
  sig: string
}

export type SupernodeRecordErrorCode =
  'malformed' | 'too-large' | 'future' | 'expired' | 'bad-signature'

export class SupernodeRecordError extends Error {
  override name = 'SupernodeRecordError'
  constructor(
    readonly code: SupernodeRecordErrorCode,
    message: string,
  ) {
    super(message)
  }
}

const KEYS = ['v', 'id', 'urls', 'role', 'capacity', 'load', 'seq', 'ts', 'sig']
const CAPACITY_KEYS = ['maxHashes', 'maxPeers', 'bandwidth']
const LOAD_KEYS = ['hashes', 'peers', 'bandwidth']
/** The one key capacity and load may carry beyond those, together or not at all. */
const RELAY_KEY = 'relay'
const HEX64 = /^[0-9a-f]{64}$/
const HEX128 = /^[0-9a-f]{128}$/

/** The canonical bytes a supernode record's signature covers. */
export function supernodeSigningBytes(record: Omit<SupernodeRecord, 'sig'>): Uint8Array {
  const { capacity: c, load: l } = record
  const relays = c.relay !== undefined
  return bencode.encode({
    cap: {
      bw: c.bandwidth,
      hashes: c.maxHashes,
      peers: c.maxPeers,
      ...(relays && { relay: c.relay }),
    },
    id: hexToBytes(record.id),
    load: { bw: l.bandwidth, hashes: l.hashes, peers: l.peers, ...(relays && { relay: l.relay }) },
    role: record.role,
    seq: record.seq,
    ts: record.ts,
    typ: 'supernode',
    urls: record.urls,
    v: record.v,
  })
}

/**
 * Signs a draft as `identity`. URLs are normalised to their origin spelling (lower-case host,
 * no default port); one with a path, query or credentials is refused. Throws
 * SupernodeRecordError when the draft cannot be signed.
 */
export function createSupernodeRecord(
  draft: SupernodeDraft,
  identity: NodeIdentity,
  meta: { seq: number; ts: number },
  /** Signs as `identity` (noble's by default; a relay passes OpenSSL's, relay/openssl-signer.ts). */
  signWith: (message: Uint8Array) => Uint8Array = (message) => sign(identity, message),
): SupernodeRecord {
  if (!Array.isArray(draft.urls)) malformed('urls must be a list')
  const unsigned: Omit<SupernodeRecord, 'sig'> = {
    v: SUPERNODE_RECORD_VERSION,
    id: identity.id,
    urls: draft.urls.map(canonicalUrl),
    role: draft.role,
    capacity: { ...draft.capacity },
    load: { ...draft.load },
    seq: meta.seq,
    ts: meta.ts,
  }
  checkFields(unsigned)
  const sig = bytesToHex(signWith(supernodeSigningBytes(unsigned)))
  return { ...unsigned, sig }
}

/**
 * Checks an untrusted value (parsed JSON) is a well-formed, canonical, correctly signed
 * supernode record, signed no further than the clock-skew bound in the future and no
 * longer ago than MAX_SUPERNODE_RECORD_AGE_SECONDS. Returns a fresh typed copy. Whether it
 * replaces a stored one is `supersedes`' call.
 */
export function verifySupernodeRecord(
  value: unknown,
  nowSeconds: number,
  verifySignature: SignatureVerifier = verify,
): SupernodeRecord {
  const record = asObject(value, 'record', KEYS)
  if (record.v !== SUPERNODE_RECORD_VERSION) malformed('unsupported version')
  if (typeof record.sig !== 'string' || !HEX128.test(record.sig)) {
    malformed('sig must be 128 lowercase hex chars')
  }
  if (!Array.isArray(record.urls) || record.urls.length > MAX_SUPERNODE_URLS) {
    malformed(`urls must list 1-${MAX_SUPERNODE_URLS} URLs`)
  }
  const c = asObject(record.capacity, 'capacity', CAPACITY_KEYS, RELAY_KEY)
  const l = asObject(record.load, 'load', LOAD_KEYS, RELAY_KEY)
  // A copy, so nothing the caller still holds can change what was checked.
  const relay = (o: Record<string, unknown>) => (RELAY_KEY in o ? { relay: o.relay } : {})
  const copy = {
    v: SUPERNODE_RECORD_VERSION,
    id: record.id,
    urls: [...record.urls],
    role: record.role,
    capacity: { maxHashes: c.maxHashes, maxPeers: c.maxPeers, bandwidth: c.bandwidth, ...relay(c) },
    load: { hashes: l.hashes, peers: l.peers, bandwidth: l.bandwidth, ...relay(l) },
    seq: record.seq,
    ts: record.ts,
    sig: record.sig,
  } as SupernodeRecord
  checkFields(copy)
  if (copy.ts > nowSeconds + MAX_CLOCK_SKEW_SECONDS) {
    throw new SupernodeRecordError('future', 'ts is too far in the future')
  }
  if (copy.ts < nowSeconds - MAX_SUPERNODE_RECORD_AGE_SECONDS) {
    throw new SupernodeRecordError('expired', 'record is too old')
  }
  const bytes = supernodeSigningBytes(copy)
  if (bytes.length + 64 > MAX_SUPERNODE_RECORD_BYTES) {
    throw new SupernodeRecordError('too-large', `over ${MAX_SUPERNODE_RECORD_BYTES} bytes`)
  }
  if (!verifySignature(hexToBytes(copy.sig), bytes, hexToBytes(copy.id))) {
    throw new SupernodeRecordError('bad-signature', 'signature does not match id')
  }
  return copy
}

/** A record's fullest figure: load over capacity for hashes, peers, tracking bandwidth and
 * relayed bandwidth, the largest (0 for a capacity of 0, or none), unclamped. The one load
 * share: what overload and underload are judged by, the Network view's load bar, and
 * /metrics' monsoon_load_ratio. */
export function loadShare(record: Pick<SupernodeRecord, 'load' | 'capacity'>): number {
  const ratio = (used: number, cap: number) => (cap > 0 ? used / cap : 0)
  return Math.max(
    ratio(record.load.hashes, record.capacity.maxHashes),
    ratio(record.load.peers, record.capacity.maxPeers),
    ratio(record.load.bandwidth, record.capacity.bandwidth),
    ratio(record.load.relay ?? 0, record.capacity.relay ?? 0),
  )
}

/** True when `incoming` should replace `stored`: the same node, and a higher seq. */
export function supersedes(
  incoming: Pick<SupernodeRecord, 'id' | 'seq'>,
  stored: Pick<SupernodeRecord, 'id' | 'seq'>,
): boolean {
  return incoming.id === stored.id && incoming.seq > stored.seq
}

/** The origin spelling of an http(s) URL; refuses anything that is more than an origin. */
export function canonicalUrl(url: string): string {
  if (typeof url !== 'string' || url.length > MAX_SUPERNODE_URL_CHARS) {
    malformed(`each url must be a string of at most ${MAX_SUPERNODE_URL_CHARS} chars`)
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return malformed(`${url} is not a URL`)
  }
  const bare =
    (parsed.protocol === 'http:' || parsed.protocol === 'https:') &&
    !parsed.username &&
    !parsed.password &&
    parsed.pathname === '/' &&
    !parsed.search &&
    !parsed.hash &&
    parsed.port !== '0'
  if (!bare) malformed(`${url} must be http(s)://host[:port]`)
  return parsed.origin
}

function checkFields(r: Omit<SupernodeRecord, 'sig'>): void {
  if (typeof r.id !== 'string' || !HEX64.test(r.id)) malformed('id must be 64 lowercase hex chars')
  if (!Array.isArray(r.urls) || r.urls.length < 1 || r.urls.length > MAX_SUPERNODE_URLS) {
    malformed(`urls must list 1-${MAX_SUPERNODE_URLS} URLs`)
  }
  for (const url of r.urls) {
    if (canonicalUrl(url) !== url) malformed(`${url} is not in origin form`)
  }
  if (new Set(r.urls).size !== r.urls.length) malformed('urls must not repeat')
  if (!SUPERNODE_ROLES.includes(r.role)) malformed(`role must be ${SUPERNODE_ROLES.join(' or ')}`)
  const c = asObject(r.capacity, 'capacity', CAPACITY_KEYS, RELAY_KEY)
  const l = asObject(r.load, 'load', LOAD_KEYS, RELAY_KEY)
  for (const key of CAPACITY_KEYS) {
    if (!isCount(c[key]) || c[key] < 1) malformed(`capacity.${key} must be a positive integer`)
  }
  for (const key of LOAD_KEYS) {
    if (!isCount(l[key])) malformed(`load.${key} must be a non-negative integer`)
  }
  if (RELAY_KEY in c !== RELAY_KEY in l) {
    malformed('capacity.relay and load.relay go together')
  }
  if (RELAY_KEY in c) {
    // 0 is "relays without a cap" (--turn-max-bandwidth 0).
    if (!isCount(c.relay)) malformed('capacity.relay must be a non-negative integer')
    if (!isCount(l.relay)) malformed('load.relay must be a non-negative integer')
  }
  if (!isCount(r.seq)) malformed('seq must be a non-negative integer')
  if (!isCount(r.ts)) malformed('ts must be unix seconds')
}

/** A plain object with exactly the given keys, every one present (and `optional` or not). */
function asObject(
  value: unknown,
  what: string,
  keys: string[],
  optional?: string,
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    malformed(`${what} must be an object`)
  }
  const object = value as Record<string, unknown>
  for (const key of Object.keys(object)) {
    if (!keys.includes(key) && key !== optional) malformed(`${what}: unknown field "${key}"`)
  }
  for (const key of keys) if (!(key in object)) malformed(`${what}: missing "${key}"`)
  return object
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= MAX_SAFE_SIZE
}

function malformed(message: string): never {
  throw new SupernodeRecordError('malformed', message)
}
