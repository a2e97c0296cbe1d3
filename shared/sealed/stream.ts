// Sealed streams: the frames of one WebSocket sealed with the envelope of envelope.ts
// (ARCHITECTURE.md, "Transport and encryption"). The app's WebTorrent tracker signalling to a
// relay on plain HTTP travels this way, so an observer reads no SDP (ICE addresses, DTLS
// fingerprints) and cannot swap a fingerprint without the frame failing to open.
//
// The client's first frame is a sealed request (an ephemeral X25519 key against the relay's
// node id, as for POST /v1/sealed); it fixes the stream's key and its opening nonce. Every
// later frame, either way, is sealed as a response to that request, with the direction and
// the frame's number appended to the bound nonce. The numbers are not sent: each end counts.
// So a frame replayed, dropped, reordered, reflected back to its sender or taken from another
// stream does not open. A WebSocket is one ordered, reliable TCP stream: an honest peer
// never skips a number.
//
// Pure: clock and randomness come from the caller. The relay checks the opening's freshness
// and that it was never seen before (relay/tracker/ws-sealed.ts).

import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { concatBytes } from '@noble/hashes/utils.js'
import {
  openRequest,
  openResponse,
  sealRequest,
  sealResponse,
  type Aead,
  type RandomBytes,
  type SealedRequest,
  type SealedSession,
} from './envelope.ts'

/** The WebSocket subprotocol of a sealed stream (RFC 6455 §1.9). A client that asks for none
 * (the stock WebTorrent client) speaks the tracker protocol in clear. */
export const SEALED_WS_PROTOCOL = 'monsoon-sealed.1'

const UP = 0x75 // 'u': client to relay
const DOWN = 0x64 // 'd': relay to client

export class SealedStream {
  #sent: number
  #received: number

  private constructor(
    readonly key: Uint8Array,
    /** The nonce of the opening request. */
    readonly opening: Uint8Array,
    readonly role: 'client' | 'relay',
    sent: number,
    received: number,
  ) {
    this.#sent = sent
    this.#received = received
  }

  /** The client's side: seals `first` as the opening request (frame 0 up). */
  static open(
    session: SealedSession,
    first: Uint8Array,
    nowSeconds: number,
    randomBytes: RandomBytes,
    aead: Aead = xchacha20poly1305,
  ): { stream: SealedStream; frame: Uint8Array } {
    const frame = sealRequest(session, first, nowSeconds, randomBytes, aead)
    const nonce = frame.slice(70, 94)
    return { stream: new SealedStream(session.key, nonce, 'client', 1, 0), frame }
  }

  /** The relay's side, from an opening request it parsed and holds the key of: the opening's
   * plaintext and the stream. Throws SealedError('unauthentic') when it does not open. */
  static accept(
    req: SealedRequest,
    key: Uint8Array,
    aead: Aead = xchacha20poly1305,
  ): { stream: SealedStream; plaintext: Uint8Array } {
    const plaintext = openRequest(req, key, aead)
    return { stream: new SealedStream(key, req.nonce.slice(), 'relay', 0, 1), plaintext }
  }

  /** Seals the next frame this end sends. */
  seal(
    plaintext: Uint8Array,
    nowSeconds: number,
    randomBytes: RandomBytes,
    aead: Aead = xchacha20poly1305,
  ): Uint8Array {
    const binding = this.#binding(this.role === 'client' ? UP : DOWN, this.#sent)
    const frame = sealResponse(this.key, binding, plaintext, nowSeconds, randomBytes, aead)
    this.#sent++
    return frame
  }

  /** Opens the next frame this end receives; throws SealedError when it is not that frame. */
  open(bytes: Uint8Array, aead: Aead = xchacha20poly1305): { plaintext: Uint8Array; ts: number } {
    const binding = this.#binding(this.role === 'client' ? DOWN : UP, this.#received)
    const opened = openResponse(this.key, binding, bytes, aead)
    this.#received++
    return opened
  }

  #binding(direction: number, n: number): Uint8Array {
    const tail = new Uint8Array(9)
    tail[0] = direction
    const view = new DataView(tail.buffer)
    view.setUint32(1, Math.floor(n / 2 ** 32))
    view.setUint32(5, n >>> 0)
    return concatBytes(this.opening, tail)
  }
}
