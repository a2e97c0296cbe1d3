// Signed messages from one relay to another (promotions, swarm handoffs):
// what the sender's node key vouches for, addressed to one receiver, fresh, and not
// replayable. Supernode records (shared/supernode.ts) say who a relay is; these say what it
// asks of another one.
//
// On the wire (JSON):
//   { v: 1, typ, from, to, ts, nonce, body, sig }
// `from` and `to` are node ids (64 hex), `ts` unix seconds, `nonce` 32 hex chars (16 random
// bytes), `body` a JSON text (the typed payload, parsed only after the signature checks).
// The Ed25519 signature covers the bencode (BEP 3 canonical: sorted keys) of
//   { body, from: 32 bytes, nonce: 16 bytes, to: 32 bytes, ts, typ: "monsoon-msg:" + typ, v }
// — the "monsoon-msg:" tag keeps these bytes from ever reading as a listing or a record.
//
// A receiver refuses a message not addressed to it, signed more than MESSAGE_WINDOW_SECONDS
// away from its clock, or whose nonce it has seen within that window (ReplayGuard). Whether
// the sender may ask this at all (a live supernode it knows) is the caller's check.
//
// Signing uses OpenSSL (relay/openssl-signer.ts: noble signs ~800/s); verifying uses the
// relay's fast verifier (signatures/verify.ts). Proxied announces, one per client request, are
// MACed instead (announce-proxy.ts).

import { randomBytes } from 'node:crypto'
import bencode from 'bencode'
import { hexToBytes, type SignatureVerifier } from '../../shared/identity.ts'
import { MAX_NODE_MESSAGE_BYTES, MAX_REPLAY_NONCES, MESSAGE_WINDOW_SECONDS } from '../limits.ts'
import type { OpenSslSigner } from '../openssl-signer.ts'

export const NODE_MESSAGE_VERSION = 1
export const NODE_MESSAGE_TYPES = ['promotion', 'handoff'] as const
export type NodeMessageType = (typeof NODE_MESSAGE_TYPES)[number]

export interface NodeMessage {
  v: typeof NODE_MESSAGE_VERSION
  typ: NodeMessageType
  from: string
  to: string
  ts: number
  nonce: string
  body: string
  sig: string
}

export type NodeMessageErrorCode =
  | 'malformed'
  | 'too-large'
  | 'wrong-receiver'
  | 'stale'
  | 'bad-signature'
  | 'replayed'
  | 'busy'
  /** Well signed, but by a node the receiver does not know (or not in the needed role). */
  | 'unknown-sender'

export class NodeMessageError extends Error {
  override name = 'NodeMessageError'
  constructor(
    readonly code: NodeMessageErrorCode,
    message: string,
  ) {
    super(message)
  }
}

const KEYS = ['v', 'typ', 'from', 'to', 'ts', 'nonce', 'body', 'sig']
const HEX64 = /^[0-9a-f]{64}$/
const HEX32 = /^[0-9a-f]{32}$/
const HEX128 = /^[0-9a-f]{128}$/

export function nodeMessageSigningBytes(m: Omit<NodeMessage, 'sig'>): Uint8Array {
  return bencode.encode({
    body: m.body,
    from: hexToBytes(m.from),
    nonce: hexToBytes(m.nonce),
    to: hexToBytes(m.to),
    ts: m.ts,
    typ: `monsoon-msg:${m.typ}`,
    v: m.v,
  })
}

/** Signs `payload` (JSON-encoded into `body`) from `signer` to node `to`. */
export function signNodeMessage(
  signer: OpenSslSigner,
  typ: NodeMessageType,
  to: string,
  payload: unknown,
  nowSeconds = Math.floor(Date.now() / 1000),
): NodeMessage {
  const unsigned: Omit<NodeMessage, 'sig'> = {
    v: NODE_MESSAGE_VERSION,
    typ,
    from: signer.id,
    to,
    ts: nowSeconds,
    nonce: randomBytes(16).toString('hex'),
    body: JSON.stringify(payload),
  }
  return { ...unsigned, sig: signer.signHex(nodeMessageSigningBytes(unsigned)) }
}

export interface VerifyNodeMessageOptions {
  /** The receiver's node id. */
  self: string
  /** The one type this endpoint takes. */
  typ: NodeMessageType
  nowSeconds: number
  verify: SignatureVerifier
  /** Omit only where a replay is harmless; then no nonce is kept. */
  replay?: ReplayGuard
}

/**
 * Checks an untrusted value (parsed JSON) is a message of type `typ` to `self`, fresh, signed
 * by its `from`, and new. Returns it with the body parsed. Throws NodeMessageError.
 */
export function verifyNodeMessage(
  value: unknown,
  opts: VerifyNodeMessageOptions,
): { message: NodeMessage; payload: unknown } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    malformed('message must be an object')
  }
  const m = value as Record<string, unknown>
  for (const key of Object.keys(m)) if (!KEYS.includes(key)) malformed(`unknown field "${key}"`)
  if (m.v !== NODE_MESSAGE_VERSION) malformed('unsupported version')
  if (m.typ !== opts.typ) malformed(`this endpoint takes "${opts.typ}" messages`)
  if (typeof m.from !== 'string' || !HEX64.test(m.from)) malformed('from must be a node id')
  if (typeof m.to !== 'string' || !HEX64.test(m.to)) malformed('to must be a node id')
  if (typeof m.nonce !== 'string' || !HEX32.test(m.nonce)) malformed('nonce must be 32 hex chars')
  if (typeof m.sig !== 'string' || !HEX128.test(m.sig)) malformed('sig must be 128 hex chars')
  if (typeof m.body !== 'string') malformed('body must be a string')
  if (typeof m.ts !== 'number' || !Number.isSafeInteger(m.ts) || m.ts < 0) {
    malformed('ts must be unix seconds')
  }
  if (m.body.length > MAX_NODE_MESSAGE_BYTES) {
    throw new NodeMessageError('too-large', `body is over ${MAX_NODE_MESSAGE_BYTES} bytes`)
  }
  if (m.to !== opts.self) {
    throw new NodeMessageError('wrong-receiver', 'message is addressed to another node')
  }
  if (Math.abs(m.ts - opts.nowSeconds) > MESSAGE_WINDOW_SECONDS) {
    throw new NodeMessageError('stale', `ts is more than ${MESSAGE_WINDOW_SECONDS} s off`)
  }
  const message = m as unknown as NodeMessage
  const bytes = nodeMessageSigningBytes(message)
  if (!opts.verify(hexToBytes(message.sig), bytes, hexToBytes(message.from))) {
    throw new NodeMessageError('bad-signature', 'signature does not match from')
  }
  // Only after the signature: a forger cannot fill the nonce cache.
  opts.replay?.check(message.from + message.nonce, message.ts, opts.nowSeconds)
  let payload: unknown
  try {
    payload = JSON.parse(message.body)
  } catch {
    malformed('body is not JSON')
  }
  return { message, payload }
}

/** Nonces seen within the message window, bounded: when full of unexpired nonces it refuses
 * new messages ('busy') rather than forget one that could then be replayed. */
export class ReplayGuard {
  readonly #seen = new Map<string, number>()
  readonly #max: number

  constructor(max = MAX_REPLAY_NONCES) {
    this.#max = max
  }

  get size(): number {
    return this.#seen.size
  }

  check(key: string, ts: number, nowSeconds: number): void {
    if (this.#seen.has(key)) throw new NodeMessageError('replayed', 'message was seen before')
    if (this.#seen.size >= this.#max) this.#prune(nowSeconds)
    if (this.#seen.size >= this.#max) {
      throw new NodeMessageError('busy', 'too many messages in flight; retry later')
    }
    this.#seen.set(key, ts)
  }

  #prune(nowSeconds: number): void {
    for (const [key, ts] of this.#seen) {
      if (ts < nowSeconds - MESSAGE_WINDOW_SECONDS) this.#seen.delete(key)
    }
  }
}

/** The HTTP status for a refused message. */
export function nodeMessageStatus(code: NodeMessageErrorCode): 400 | 403 | 409 | 413 | 503 {
  if (code === 'unknown-sender') return 403
  if (code === 'replayed') return 409
  if (code === 'too-large') return 413
  if (code === 'busy') return 503
  return 400
}

function malformed(message: string): never {
  throw new NodeMessageError('malformed', message)
}
