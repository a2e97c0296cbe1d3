// The relay's end of sealed tracker signalling (shared/sealed/stream.ts): a browser on a
// plain-HTTP relay opens the WebSocket tracker with the subprotocol SEALED_WS_PROTOCOL, and
// every frame each way is a sealed envelope (binary) whose plaintext is the usual tracker
// JSON. The stock WebTorrent client asks for no subprotocol and is served in clear.
//
// The opening frame is checked as POST /v1/sealed checks a request (relay/sealed/tunnel.ts):
// shape, receiver, tag, clock, then that its nonce was never seen (remembered only once the
// tag checked, so a forger cannot fill the cache). New keys cost an X25519 each and come out
// of the relay's budget of new sealed sessions, per address and in all
// (relay/sealed/session-budget.ts); an opening that fails its tag costs its address again.
// Later frames must each be the next of the stream and fresh. Anything else closes the
// socket: a stream that lost a frame cannot carry on.

import { randomBytes as nodeRandomBytes } from 'node:crypto'
import type { NodeIdentity } from '../../shared/identity.ts'
import {
  KIND_EPHEMERAL,
  SealedError,
  parseRequest,
  receiverKey,
  type Aead,
  type SealedErrorCode,
} from '../../shared/sealed/envelope.ts'
import { SealedStream } from '../../shared/sealed/stream.ts'
import { MAX_REPLAY_NONCES, MAX_WS_MESSAGE_BYTES, MESSAGE_WINDOW_SECONDS } from '../limits.ts'
import { relayAead, relayX25519 } from '../sealed/native-crypto.ts'
import { SealedSessionBudget } from '../sealed/session-budget.ts'
import { NodeMessageError, ReplayGuard } from '../supernode/node-message.ts'

export { SEALED_WS_PROTOCOL } from '../../shared/sealed/stream.ts'

export interface SealedSignallingDeps {
  identity: NodeIdentity
  nowSeconds?: () => number
  randomBytes?: (n: number) => Uint8Array
  /** Openings remembered within the clock window (replays refused). */
  maxOpenings?: number
  /** New streams (one X25519 each), per address and in all: the relay's one budget of new
   * sealed sessions, shared with POST /v1/sealed. */
  budget?: SealedSessionBudget
  /** Without a budget: new streams per second, per address and in all (tests). */
  newStreamsPerSecond?: number
  aead?: Aead
}

/** WebSocket close codes (RFC 6455 §7.4): 1008 policy violation, 1013 try again later, and
 * 4421 (private use, after HTTP 421) sealed to another node id: the client asks for the
 * relay's id again before it reconnects. */
export const SEALED_CLOSE: Record<SealedErrorCode, number> = {
  malformed: 1008,
  truncated: 1008,
  'too-large': 1009,
  'unsupported-version': 1008,
  'wrong-receiver': 4421,
  unauthentic: 1008,
  stale: 1008,
  replayed: 1008,
  busy: 1013,
  forbidden: 1008,
}

/** Why a sealed socket is being closed: a WebSocket close code and reason. */
export interface SealedRefusal {
  code: number
  reason: string
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()

/** What every sealed tracker socket of one relay shares: its key, the openings seen, the
 * budget of new streams. */
export class SealedSignalling {
  readonly #identity: NodeIdentity
  readonly #now: () => number
  readonly #random: (n: number) => Uint8Array
  readonly #openings: ReplayGuard
  readonly #budget: SealedSessionBudget
  readonly #aead: Aead

  constructor(deps: SealedSignallingDeps) {
    this.#identity = deps.identity
    this.#now = deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000))
    this.#random = deps.randomBytes ?? ((n) => new Uint8Array(nodeRandomBytes(n)))
    this.#openings = new ReplayGuard(deps.maxOpenings ?? MAX_REPLAY_NONCES)
    const rate = deps.newStreamsPerSecond
    this.#budget =
      deps.budget ??
      new SealedSessionBudget(
        undefined,
        rate ? { perSecond: rate, perAddressPerSecond: rate, perAddressBurst: rate } : {},
      )
    this.#aead = deps.aead ?? relayAead
  }

  /** The ends of one new sealed socket, from a client at `address`. */
  channel(address = ''): SealedChannel {
    return new SealedChannel(this, address)
  }

  /** Opens a stream's first frame, from `address`; throws SealedError. */
  accept(bytes: Uint8Array, address = ''): { stream: SealedStream; plaintext: Uint8Array } {
    const req = parseRequest(bytes, MAX_WS_MESSAGE_BYTES)
    if (req.kind !== KIND_EPHEMERAL) {
      throw new SealedError('malformed', 'a tracker stream opens with an ephemeral key')
    }
    const id = this.#identity.id
    if (req.to !== id) {
      throw new SealedError('wrong-receiver', `sealed to node ${req.to.slice(0, 16)}…, not ${id}`)
    }
    this.#budget.take(address)
    const key = receiverKey(this.#identity.secretKey, id, req, relayX25519)
    let opened: { stream: SealedStream; plaintext: Uint8Array }
    try {
      opened = SealedStream.accept(req, key, this.#aead)
    } catch (err) {
      this.#budget.junk(address)
      throw err
    }
    const now = this.#now()
    this.#checkClock(req.ts, now)
    let nonce = ''
    for (const byte of req.nonce) nonce += byte.toString(16).padStart(2, '0')
    try {
      this.#openings.check(`${req.senderHex}:${nonce}`, req.ts, now)
    } catch (err) {
      if (!(err instanceof NodeMessageError)) throw err
      if (err.code === 'replayed') throw new SealedError('replayed', 'stream opened before')
      throw new SealedError('busy', 'too many sealed streams opening; retry later')
    }
    return opened
  }

  /** Opens a later frame of `stream`; throws SealedError. */
  next(stream: SealedStream, bytes: Uint8Array): Uint8Array {
    if (bytes.length > MAX_WS_MESSAGE_BYTES) {
      throw new SealedError('too-large', `over ${MAX_WS_MESSAGE_BYTES} bytes`)
    }
    const { plaintext, ts } = stream.open(bytes, this.#aead)
    this.#checkClock(ts, this.#now())
    return plaintext
  }

  seal(stream: SealedStream, message: string): Uint8Array {
    return stream.seal(encoder.encode(message), this.#now(), this.#random, this.#aead)
  }

  #checkClock(ts: number, now: number): void {
    if (Math.abs(ts - now) > MESSAGE_WINDOW_SECONDS) {
      throw new SealedError('stale', `sealed more than ${MESSAGE_WINDOW_SECONDS} s from now`)
    }
  }
}

/** One sealed tracker socket: frames in, tracker JSON out, and back. */
export class SealedChannel {
  readonly #signalling: SealedSignalling
  readonly #address: string
  #stream: SealedStream | null = null
  #refused: SealedRefusal | null = null

  constructor(signalling: SealedSignalling, address: string) {
    this.#signalling = signalling
    this.#address = address
  }

  /** The tracker JSON in one received frame, or why the socket must now be closed (then
   * every later frame is refused too). */
  open(data: Uint8Array, isBinary: boolean): string | SealedRefusal {
    if (this.#refused) return this.#refused
    try {
      if (!isBinary) throw new SealedError('malformed', 'a sealed stream sends binary frames')
      let plaintext: Uint8Array
      if (this.#stream) {
        plaintext = this.#signalling.next(this.#stream, data)
      } else {
        const opened = this.#signalling.accept(data, this.#address)
        this.#stream = opened.stream
        plaintext = opened.plaintext
      }
      try {
        return utf8.decode(plaintext)
      } catch {
        throw new SealedError('malformed', 'the tracker message is not UTF-8')
      }
    } catch (err) {
      if (!(err instanceof SealedError)) throw err
      this.#refused = { code: SEALED_CLOSE[err.code], reason: `sealed: ${err.code}` }
      return this.#refused
    }
  }

  /** `message` sealed as the next frame; null before the stream has opened (the tracker only
   * ever answers, so nothing is lost) or once it was refused. */
  seal(message: string): Uint8Array | null {
    if (!this.#stream || this.#refused) return null
    return this.#signalling.seal(this.#stream, message)
  }
}
