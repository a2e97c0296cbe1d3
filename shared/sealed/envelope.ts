// Sealed messages (ARCHITECTURE.md, "Transport and encryption"): what a node sends another
// over plain HTTP so that an observer on the wire reads nothing of it. Key agreement is
// X25519 (RFC 7748) against the receiver's node id (an Ed25519 public key, mapped to X25519),
// expanded with HKDF-SHA256 (RFC 5869); each message is XChaCha20-Poly1305 (draft-irtf-cfrg-
// xchacha, 24-byte random nonces, so no counter state) with its whole header as associated
// data.
//
// Two kinds of sender:
// - a relay (KIND_NODE) puts its own node id in `sender`; both sides compute the pair key of
//   shared/pair-key.ts (static-static, purpose "sealed"), so the receiver also knows which
//   node sealed it;
// - a browser (KIND_EPHEMERAL) puts an X25519 public key made for this session; the key is
//   HKDF(x25519(e, receiver)), salted by both public keys.
//
// Request, bytes:
//   v (1) | kind (1) | sender (32) | to (32: receiver node id) | ts (4: unix s, BE) |
//   nonce (24) | ciphertext + tag (16)
// Response, sealed under the request's key:
//   v (1) | KIND_RESPONSE (1) | ts (4) | nonce (24) | ciphertext + tag (16)
//   with the request's nonce appended to the associated data, so a response answers exactly
//   one request and can neither be replayed for another nor reflected as a request.
//
// Pure: keys, clock and randomness come from the caller. Freshness and the nonce cache
// (replay) are the receiver's (relay/sealed/), which checks them only after the tag.

import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { pairKey, type SharedSecret } from '../pair-key.ts'

export const SEALED_VERSION = 1
export const KIND_NODE = 1
export const KIND_EPHEMERAL = 2
export const KIND_RESPONSE = 3
export const REQUEST_HEADER_BYTES = 1 + 1 + 32 + 32 + 4 + 24
export const RESPONSE_HEADER_BYTES = 1 + 1 + 4 + 24
export const TAG_BYTES = 16
/** Bytes a request envelope adds to its plaintext. */
export const REQUEST_OVERHEAD = REQUEST_HEADER_BYTES + TAG_BYTES
export const RESPONSE_OVERHEAD = RESPONSE_HEADER_BYTES + TAG_BYTES
/** The pair-key purpose of relay-to-relay sealing (unrelated to the announce MAC's key). */
export const SEALED_PURPOSE = 'sealed'

export type SealedErrorCode =
  | 'malformed'
  | 'truncated'
  | 'too-large'
  | 'unsupported-version'
  | 'wrong-receiver'
  /** The tag does not check: tampered with, or sealed under another key. */
  | 'unauthentic'
  | 'stale'
  | 'replayed'
  | 'busy'
  /** Opened, but not something this channel carries (a path outside the API). */
  | 'forbidden'

export class SealedError extends Error {
  override name = 'SealedError'
  constructor(
    readonly code: SealedErrorCode,
    message: string,
    /** The HTTP status, when a relay refused the message. */
    readonly status?: number,
  ) {
    super(message)
  }
}

export type RandomBytes = (n: number) => Uint8Array

/** An XChaCha20-Poly1305 implementation: @noble/ciphers' by default; a relay passes one
 * that gives the same bytes faster (relay/sealed/native-crypto.ts). */
export type Aead = (
  key: Uint8Array,
  nonce: Uint8Array,
  aad?: Uint8Array,
) => {
  /** `output`, when given, receives the ciphertext and tag (exactly plaintext.length +
   * TAG_BYTES) and is returned: a relay seals catalog pages of a megabyte or more, and
   * each whole-page copy and allocation showed in its profile (issue 23). */
  encrypt(plaintext: Uint8Array, output?: Uint8Array): Uint8Array
  /** encrypt of the parts' concatenation, into `output`, without making it (an AEAD that
   * can; sealResponse joins the parts for one that cannot). */
  encryptParts?(parts: readonly Uint8Array[], output: Uint8Array): Uint8Array
  decrypt(sealed: Uint8Array): Uint8Array
}

/** A sender's side of a channel to one receiver: the key and what goes in the header. */
export interface SealedSession {
  readonly kind: typeof KIND_NODE | typeof KIND_EPHEMERAL
  readonly sender: Uint8Array
  readonly to: Uint8Array
  readonly key: Uint8Array
}

/** A relay's session to another relay: the static pair key of the two node keys. */
export function nodeSession(mySecretKey: Uint8Array, myId: string, peerId: string): SealedSession {
  return {
    kind: KIND_NODE,
    sender: hexToBytes(myId),
    to: hexToBytes(peerId),
    key: pairKey(mySecretKey, myId, peerId, SEALED_PURPOSE),
  }
}

/** A browser's session to a relay: a fresh X25519 key pair, its secret forgotten here. */
export function ephemeralSession(peerId: string, randomBytes: RandomBytes): SealedSession {
  const secret = randomBytes(32)
  const sender = x25519.getPublicKey(secret)
  const to = hexToBytes(peerId)
  const shared = x25519.getSharedSecret(secret, ed25519.utils.toMontgomery(to))
  return { kind: KIND_EPHEMERAL, sender, to, key: ephemeralKey(shared, sender, to) }
}

function ephemeralKey(shared: Uint8Array, sender: Uint8Array, to: Uint8Array): Uint8Array {
  const info = utf8ToBytes('monsoon-sealed-v1:ephemeral')
  return hkdf(sha256, shared, concatBytes(sender, to), info, 32)
}

/** A request as read off the wire, before it is opened. */
export interface SealedRequest {
  kind: typeof KIND_NODE | typeof KIND_EPHEMERAL
  sender: Uint8Array
  /** Hex of `sender`: the node id for KIND_NODE. */
  senderHex: string
  to: string
  ts: number
  nonce: Uint8Array
  header: Uint8Array
  sealed: Uint8Array
}

export function sealRequest(
  session: SealedSession,
  plaintext: Uint8Array,
  nowSeconds: number,
  randomBytes: RandomBytes,
  aead: Aead = xchacha20poly1305,
): Uint8Array {
  const header = new Uint8Array(REQUEST_HEADER_BYTES)
  header[0] = SEALED_VERSION
  header[1] = session.kind
  header.set(session.sender, 2)
  header.set(session.to, 34)
  new DataView(header.buffer).setUint32(66, nowSeconds >>> 0)
  header.set(randomBytes(24), 70)
  const sealed = aead(session.key, header.subarray(70), header).encrypt(plaintext)
  return concatBytes(header, sealed)
}

/** Reads a request's header; throws SealedError for anything not shaped like one. */
export function parseRequest(bytes: Uint8Array, maxBytes: number): SealedRequest {
  if (bytes.length > maxBytes) throw new SealedError('too-large', `over ${maxBytes} bytes`)
  if (bytes.length < 1) throw new SealedError('truncated', 'empty message')
  if (bytes[0] !== SEALED_VERSION) {
    throw new SealedError('unsupported-version', `version ${bytes[0]} is not ${SEALED_VERSION}`)
  }
  if (bytes.length < REQUEST_OVERHEAD) {
    throw new SealedError('truncated', `shorter than the ${REQUEST_OVERHEAD}-byte envelope`)
  }
  const kind = bytes[1]
  if (kind !== KIND_NODE && kind !== KIND_EPHEMERAL) {
    throw new SealedError('malformed', `kind ${kind} is not a request`)
  }
  const header = bytes.subarray(0, REQUEST_HEADER_BYTES)
  const sender = header.subarray(2, 34)
  return {
    kind,
    sender,
    senderHex: bytesToHex(sender),
    to: bytesToHex(header.subarray(34, 66)),
    ts: new DataView(header.buffer, header.byteOffset).getUint32(66),
    nonce: header.subarray(70, 94),
    header,
    sealed: bytes.subarray(REQUEST_HEADER_BYTES),
  }
}

/** The key a receiver opens `req` with (cache it by kind and sender). A sender key that is
 * not a curve point, or of small order (noble refuses an all-zero shared secret), is
 * refused as SealedError('unauthentic'). */
export function receiverKey(
  mySecretKey: Uint8Array,
  myId: string,
  req: SealedRequest,
  dh: SharedSecret = x25519.getSharedSecret,
) {
  try {
    if (req.kind === KIND_NODE) {
      return pairKey(mySecretKey, myId, req.senderHex, SEALED_PURPOSE, dh)
    }
    const mine = ed25519.utils.toMontgomerySecret(mySecretKey)
    return ephemeralKey(dh(mine, req.sender), req.sender, hexToBytes(myId))
  } catch {
    throw new SealedError('unauthentic', 'sender key is not usable')
  }
}

/** Opens a parsed request with `key`; throws SealedError('unauthentic') when it fails. */
export function openRequest(
  req: SealedRequest,
  key: Uint8Array,
  aead: Aead = xchacha20poly1305,
): Uint8Array {
  try {
    return aead(key, req.nonce, req.header).decrypt(req.sealed)
  } catch {
    throw new SealedError('unauthentic', 'cannot open: tampered with, or sealed under another key')
  }
}

/** Seals a response to the request whose nonce is `requestNonce`: `plaintext`, or the
 * concatenation of its parts. */
export function sealResponse(
  key: Uint8Array,
  requestNonce: Uint8Array,
  plaintext: Uint8Array | readonly Uint8Array[],
  nowSeconds: number,
  randomBytes: RandomBytes,
  aead: Aead = xchacha20poly1305,
): Uint8Array {
  const parts = plaintext instanceof Uint8Array ? [plaintext] : plaintext
  let length = 0
  for (const part of parts) length += part.length
  // Header and ciphertext written into one buffer, not sealed and then joined.
  const out = new Uint8Array(RESPONSE_OVERHEAD + length)
  const header = out.subarray(0, RESPONSE_HEADER_BYTES)
  header[0] = SEALED_VERSION
  header[1] = KIND_RESPONSE
  new DataView(out.buffer, out.byteOffset).setUint32(2, nowSeconds >>> 0)
  const nonce = randomBytes(24)
  header.set(nonce, 6)
  const aad = concatBytes(header, requestNonce)
  const cipher = aead(key, nonce, aad)
  const sealed = out.subarray(RESPONSE_HEADER_BYTES)
  if (parts.length === 1) cipher.encrypt(parts[0], sealed)
  else if (cipher.encryptParts) cipher.encryptParts(parts, sealed)
  else cipher.encrypt(concatBytes(...parts), sealed)
  return out
}

/** Opens the response to the request whose nonce is `requestNonce`; returns it and its ts. */
export function openResponse(
  key: Uint8Array,
  requestNonce: Uint8Array,
  bytes: Uint8Array,
  aead: Aead = xchacha20poly1305,
): { plaintext: Uint8Array; ts: number } {
  if (bytes.length < 1) throw new SealedError('truncated', 'empty response')
  if (bytes[0] !== SEALED_VERSION) {
    throw new SealedError('unsupported-version', `version ${bytes[0]} is not ${SEALED_VERSION}`)
  }
  if (bytes.length < RESPONSE_OVERHEAD) {
    throw new SealedError('truncated', `shorter than the ${RESPONSE_OVERHEAD}-byte envelope`)
  }
  if (bytes[1] !== KIND_RESPONSE) throw new SealedError('malformed', 'not a sealed response')
  const header = bytes.subarray(0, RESPONSE_HEADER_BYTES)
  const ts = new DataView(header.buffer, header.byteOffset).getUint32(2)
  try {
    const aad = concatBytes(header, requestNonce)
    const cipher = aead(key, header.subarray(6), aad)
    return { plaintext: cipher.decrypt(bytes.subarray(RESPONSE_HEADER_BYTES)), ts }
  } catch {
    throw new SealedError('unauthentic', 'cannot open the response: tampered with or misdirected')
  }
}
