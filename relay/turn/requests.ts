// Answers to STUN/TURN requests (RFC 8489 §6.3, §9.2.4; RFC 8656 §7-§11): parse, check,
// call the allocation state, encode. The server (turn-server.ts) owns the sockets and hands
// each decoded request here with the client link it came from.

import { addressKind } from '../../shared/address.ts'
import {
  MAX_STUN_USERNAME_BYTES,
  TURN_DEFAULT_LIFETIME_SECONDS,
  TURN_MAX_LIFETIME_SECONDS,
} from '../limits.ts'
import type { Allocation, AllocationTable, ClientLink } from './allocations.ts'
import { checkTurnUsername, longTermKey, turnPassword, type NonceIssuer } from './credentials.ts'
import {
  Attr,
  MessageClass,
  Method,
  StunParseError,
  attribute,
  encodeStun,
  errorCodeValue,
  readChannelNumber,
  readRequestedTransport,
  readUint32,
  readXorAddress,
  isChannelNumber,
  unknownAttributesValue,
  unknownRequired,
  uint32Value,
  verifyIntegrity,
  xorAddressValue,
  type StunMessage,
} from './stun-message.ts'

export type RefusalReason =
  | 'auth'
  | 'quota-client'
  | 'quota-total'
  | 'forbidden-address'
  | 'not-signalled'
  | 'bad-request'
  | 'unknown-attribute'
  | 'rate'

/** What the request handlers need from the server. */
export interface TurnCore {
  readonly realm: string
  readonly secret: string
  readonly localNetwork: boolean
  readonly mayPermit?: (clientIp: string, peerIp: string) => boolean
  readonly table: AllocationTable
  readonly nonces: NonceIssuer
  now(): number
  /** Takes a token from the source's budget for unauthenticated answers; false: stay silent. */
  chargeUnauthenticated(ip: string): boolean
  refused(reason: RefusalReason, ip: string): void
  /** Reserves, binds the relay socket and commits an allocation. */
  allocate(link: ClientLink, request: AllocateRequest): Promise<AllocateResult>
  free(allocation: Allocation): void
}

export interface AllocateRequest {
  username: string
  key: Buffer
  /** Transaction id (hex) of the Allocate. */
  tid: string
  lifetimeSeconds: number
  evenPort: boolean
}

export type AllocateResult = Allocation | 'quota-client' | 'quota-total' | 'no-port'

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthenticated',
  403: 'Forbidden',
  420: 'Unknown Attribute',
  437: 'Allocation Mismatch',
  438: 'Stale Nonce',
  440: 'Address Family not Supported',
  441: 'Wrong Credentials',
  442: 'Unsupported Transport Protocol',
  443: 'Peer Address Family Mismatch',
  486: 'Allocation Quota Reached',
  508: 'Insufficient Capacity',
}

/** Attributes this server understands in requests (others below 0x8000 get 420). */
const KNOWN = new Set<number>([
  Attr.Username,
  Attr.MessageIntegrity,
  Attr.Realm,
  Attr.Nonce,
  Attr.Lifetime,
  Attr.RequestedTransport,
  Attr.RequestedAddressFamily,
  Attr.XorPeerAddress,
  Attr.ChannelNumber,
  Attr.Data,
  Attr.EvenPort,
])

const UDP = 17

type Attrs = { type: number; value: Uint8Array }[]

function answer(msg: StunMessage, attributes: Attrs, key?: Buffer): Buffer {
  const init = {
    method: msg.method,
    cls: MessageClass.Success,
    transactionId: msg.transactionId,
    attributes,
  }
  return encodeStun(init, { integrityKey: key, fingerprint: hasFingerprint(msg) })
}

/** Answers carry a FINGERPRINT when the request did, as coturn does (RFC 8489 §14.7 leaves
 * it to the usage; ICE agents sharing a socket use it to tell STUN apart). */
function hasFingerprint(msg: StunMessage): boolean {
  return msg.attributes.at(-1)?.type === Attr.Fingerprint
}

function failure(msg: StunMessage, code: number, key?: Buffer, more: Attrs = []): Buffer {
  const attributes = [
    { type: Attr.ErrorCode, value: errorCodeValue(code, REASONS[code] ?? '') },
    ...more,
  ]
  const init = {
    method: msg.method,
    cls: MessageClass.Error,
    transactionId: msg.transactionId,
    attributes,
  }
  return encodeStun(init, { integrityKey: key, fingerprint: hasFingerprint(msg) })
}

/** A Binding request (RFC 8489 §6.3.1): no authentication, the source address reflected. */
export function answerBinding(core: TurnCore, link: ClientLink, msg: StunMessage): Buffer | null {
  if (!core.chargeUnauthenticated(link.ip)) return null
  const unknown = unknownRequired(msg, KNOWN)
  if (unknown.length) {
    core.refused('unknown-attribute', link.ip)
    return failure(msg, 420, undefined, [
      { type: Attr.UnknownAttributes, value: unknownAttributesValue(unknown) },
    ])
  }
  return answer(msg, [
    { type: Attr.XorMappedAddress, value: xorAddressValue(link.ip, link.port, msg.transactionId) },
  ])
}

/** A TURN request: long-term credential authentication (RFC 8489 §9.2.4), then the method.
 * Null means no answer (rate budget spent, or a retransmission still being handled). */
export async function answerTurnRequest(
  core: TurnCore,
  link: ClientLink,
  msg: StunMessage,
): Promise<Buffer | null> {
  const auth = authenticate(core, link, msg)
  if (!('key' in auth)) return auth.answer
  const { username, key } = auth
  const unknown = unknownRequired(msg, KNOWN)
  if (unknown.length) {
    core.refused('unknown-attribute', link.ip)
    return failure(msg, 420, key, [
      { type: Attr.UnknownAttributes, value: unknownAttributesValue(unknown) },
    ])
  }
  try {
    switch (msg.method) {
      case Method.Allocate:
        return await allocate(core, link, msg, username, key)
      case Method.Refresh:
      case Method.CreatePermission:
      case Method.ChannelBind: {
        const allocation = core.table.get(link.id)
        if (!allocation) return failure(msg, 437, key)
        if (allocation.username !== username) return failure(msg, 441, key)
        if (msg.method === Method.Refresh) return refresh(core, allocation, msg, key)
        if (msg.method === Method.CreatePermission)
          return createPermission(core, allocation, msg, key)
        return channelBind(core, allocation, msg, key)
      }
      default:
        core.refused('bad-request', link.ip)
        return failure(msg, 400, key)
    }
  } catch (err) {
    // A malformed attribute value in an authenticated request.
    if (!(err instanceof StunParseError)) throw err
    core.refused('bad-request', link.ip)
    return failure(msg, 400, key)
  }
}

function authenticate(
  core: TurnCore,
  link: ClientLink,
  msg: StunMessage,
): { username: string; key: Buffer } | { answer: Buffer | null } {
  const nowSeconds = core.now() / 1000
  const challenge = (code: number): { answer: Buffer | null } => {
    if (!core.chargeUnauthenticated(link.ip)) return { answer: null }
    return {
      answer: failure(msg, code, undefined, [
        { type: Attr.Realm, value: Buffer.from(core.realm) },
        { type: Attr.Nonce, value: Buffer.from(core.nonces.issue(link.ip, nowSeconds)) },
      ]),
    }
  }
  if (msg.integrityAt < 0) return challenge(401)
  const username = attribute(msg, Attr.Username)
  const realm = attribute(msg, Attr.Realm)
  const nonce = attribute(msg, Attr.Nonce)
  if (!username || !realm || !nonce || username.length > MAX_STUN_USERNAME_BYTES) {
    core.refused('bad-request', link.ip)
    return core.chargeUnauthenticated(link.ip) ? { answer: failure(msg, 400) } : { answer: null }
  }
  const nonceCheck = core.nonces.check(nonce.toString('latin1'), link.ip, nowSeconds)
  if (nonceCheck !== 'ok') return challenge(438)
  const name = username.toString('utf8')
  const key = longTermKey(name, core.realm, turnPassword(core.secret, name))
  // A credential's expiry bounds when an allocation may be made with it, not how long the
  // allocation lives: a browser keeps the credentials a peer connection was made with and
  // refreshes with them, so a transfer longer than the credential's hour would otherwise die
  // at the next Refresh (as with coturn). Requests on the allocation this username made, on
  // this 5-tuple, are taken after expiry; its integrity is still checked.
  const owned = core.table.get(link.id)?.username === name
  if (
    realm.toString('utf8') !== core.realm ||
    (!owned && checkTurnUsername(name, nowSeconds) !== 'ok') ||
    !verifyIntegrity(msg, key)
  ) {
    core.refused('auth', link.ip)
    return challenge(401)
  }
  return { username: name, key }
}

function lifetimeOf(msg: StunMessage): number {
  const value = attribute(msg, Attr.Lifetime)
  if (!value) return TURN_DEFAULT_LIFETIME_SECONDS
  const asked = readUint32(value)
  if (asked === 0) return 0
  return Math.max(TURN_DEFAULT_LIFETIME_SECONDS, Math.min(asked, TURN_MAX_LIFETIME_SECONDS))
}

async function allocate(
  core: TurnCore,
  link: ClientLink,
  msg: StunMessage,
  username: string,
  key: Buffer,
): Promise<Buffer | null> {
  const tid = msg.transactionId.toString('hex')
  const existing = core.table.get(link.id)
  if (existing)
    return existing.allocateTid === tid && existing.answer
      ? existing.answer
      : failure(msg, 437, key)
  if (core.table.isPending(link.id)) return null
  const transport = attribute(msg, Attr.RequestedTransport)
  if (!transport) {
    core.refused('bad-request', link.ip)
    return failure(msg, 400, key)
  }
  if (readRequestedTransport(transport) !== UDP) return failure(msg, 442, key)
  const family = attribute(msg, Attr.RequestedAddressFamily)
  if (family && family[0] !== 0x01) return failure(msg, 440, key)
  // EVEN-PORT (§14.6): an even port is easy; its R bit asks to reserve the next one too,
  // which this server does not do (no RESERVATION-TOKEN), so that gets 508.
  const even = attribute(msg, Attr.EvenPort)
  if (even && (even.length !== 1 || even[0] & 0x80))
    return failure(msg, even.length === 1 ? 508 : 400, key)
  const lifetime = lifetimeOf(msg) || TURN_DEFAULT_LIFETIME_SECONDS
  const made = await core.allocate(link, {
    username,
    key,
    tid,
    lifetimeSeconds: lifetime,
    evenPort: !!even,
  })
  if (made === 'quota-client') return failure(msg, 486, key)
  if (made === 'quota-total' || made === 'no-port') return failure(msg, 508, key)
  made.answer = answer(
    msg,
    [
      {
        type: Attr.XorRelayedAddress,
        value: xorAddressValue(made.relayAddress, made.relayPort, msg.transactionId),
      },
      { type: Attr.Lifetime, value: uint32Value(lifetime) },
      {
        type: Attr.XorMappedAddress,
        value: xorAddressValue(link.ip, link.port, msg.transactionId),
      },
    ],
    key,
  )
  return made.answer
}

function refresh(core: TurnCore, allocation: Allocation, msg: StunMessage, key: Buffer): Buffer {
  const lifetime = lifetimeOf(msg)
  if (lifetime === 0) core.free(allocation)
  else allocation.expiresMs = core.now() + lifetime * 1000
  return answer(msg, [{ type: Attr.Lifetime, value: uint32Value(lifetime) }], key)
}

/** Why a peer may not be relayed to, or null (RFC 8656 §21.1.5 and the app's policy). A
 * peer the allocation already has a permission for was signalled when it was first permitted:
 * its refresh (every few minutes for as long as the connection lives) is not asked again. */
function peerRefusal(core: TurnCore, allocation: Allocation, peerIp: string): RefusalReason | null {
  if (!core.localNetwork && addressKind(peerIp) !== 'public') return 'forbidden-address'
  if (allocation.permitted(peerIp, core.now())) return null
  if (core.mayPermit && !core.mayPermit(allocation.link.ip, peerIp)) return 'not-signalled'
  return null
}

/** The XOR-PEER-ADDRESS values of a request, or the error code to answer. */
function peersOf(
  core: TurnCore,
  allocation: Allocation,
  msg: StunMessage,
): { ip: string; port: number }[] | number {
  const peers: { ip: string; port: number }[] = []
  for (const a of msg.attributes) {
    if (a.type !== Attr.XorPeerAddress) continue
    const peer = readXorAddress(a.value, msg.transactionId)
    if (peer.family !== 4) return 443
    const refusal = peerRefusal(core, allocation, peer.address)
    if (refusal) {
      core.refused(refusal, allocation.link.ip)
      return 403
    }
    peers.push({ ip: peer.address, port: peer.port })
  }
  if (peers.length === 0) {
    core.refused('bad-request', allocation.link.ip)
    return 400
  }
  return peers
}

function createPermission(
  core: TurnCore,
  allocation: Allocation,
  msg: StunMessage,
  key: Buffer,
): Buffer {
  const peers = peersOf(core, allocation, msg)
  if (typeof peers === 'number') return failure(msg, peers, key)
  const ips = peers.map((p) => p.ip)
  if (!allocation.permit(ips, core.now())) return failure(msg, 508, key)
  return answer(msg, [], key)
}

function channelBind(
  core: TurnCore,
  allocation: Allocation,
  msg: StunMessage,
  key: Buffer,
): Buffer {
  const value = attribute(msg, Attr.ChannelNumber)
  const number = value ? readChannelNumber(value) : 0
  if (!isChannelNumber(number)) {
    core.refused('bad-request', allocation.link.ip)
    return failure(msg, 400, key)
  }
  const peers = peersOf(core, allocation, msg)
  if (typeof peers === 'number') return failure(msg, peers, key)
  if (peers.length !== 1) return failure(msg, 400, key)
  const [peer] = peers
  const bound = allocation.bindChannel(number, peer.ip, peer.port, core.now())
  if (bound === 'conflict') {
    core.refused('bad-request', allocation.link.ip)
    return failure(msg, 400, key)
  }
  if (bound === 'full') return failure(msg, 508, key)
  return answer(msg, [], key)
}
