// Announces answered on the one port without node's HTTP server (issue 24). Classic clients
// open a connection per announce, and node's HTTP machinery for each (parser, IncomingMessage,
// ServerResponse, their timers) cost several times the announce itself. When a connection's
// first bytes are one whole plain tracker request (tracker/http-wire.ts), it is answered here
// through the same TrackerFront as onRequest, in one write, and the connection closed or kept
// as the client asked. While kept, each read is answered here too while it holds whole such
// requests: pipelined ones in turn (another relay's proxy client sends many at once,
// supernode/proxy-client.ts), and a head cut off at the end of a read is kept, up to
// MAX_FAST_HEAD_BYTES, for the next read to complete. Anything else (another path, bytes
// after a request that closes, a head the next read did not finish) goes to the HTTP server with its bytes put back, so nothing
// is lost or reordered: what was answered here was written before the HTTP server gets the
// rest. A connection answered and closed here is closed at
// once when the kernel took the whole answer, without waiting for the client's FIN.
//
// A client that does not read: after a write the kernel did not take whole, the socket is not
// read again until it drains (node's HTTP server does the same), so at most one answer waits
// in memory per connection; a kept connection that moves no byte for the keep-alive timeout
// is closed.

import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import {
  HttpDate,
  mayBeTrackerHead,
  okResponse,
  readTrackerHead,
  tooManyResponse,
} from '../tracker/http-wire.ts'
import type { TrackerFront } from '../tracker/http-front.ts'

/** Gives a socket to the HTTP server with `rest` put back unread. */
export type HandOff = (socket: Socket, rest: Buffer) => void

export interface TrackerFastPathOptions {
  /** The tracker's answers, as onRequest gives them. */
  front: Pick<TrackerFront, 'answer'>
  /** Where a connection goes once it asks for something this path does not answer. */
  handOff: HandOff
  /** The HTTP server's keepAliveTimeout: a kept connection idle this long is closed, and
   * answers say so (Keep-Alive: timeout=…), as node's do. */
  keepAliveTimeoutMs: number
  /** Milliseconds since the epoch, for Date. */
  now?: () => number
}

/** What the fast path makes of a request's bytes. */
export interface FastAnswer {
  /** The whole HTTP answer, to write at once (a Promise when other relays are asked). */
  response: Uint8Array | Promise<Uint8Array>
  /** Whether the connection stays open after it. */
  keepAlive: boolean
  /** Bytes the request took; any after them are the next request's. */
  consumed: number
}

/** Pipelined requests answered in one turn of the event loop before the rest wait for the
 * next: a 64 KiB read of 40-byte scrapes would otherwise nest ~1,600 answers deep. */
const MAX_PIPELINED_IN_TURN = 64

// Listeners shared by every connection (`this` is the socket): none is made per request.
function destroyIdle(this: Socket): void {
  this.destroy()
}
function resumeDrained(this: Socket): void {
  this.resume()
}
function uncork(socket: Socket): void {
  socket.uncork()
}
export function socketListener(
  listener: (socket: Socket, chunk: Buffer) => void,
): (this: Socket, chunk: Buffer) => void {
  return function (this: Socket, chunk: Buffer) {
    listener(this, chunk)
  }
}

export class TrackerFastPath {
  readonly #front: Pick<TrackerFront, 'answer'>
  readonly #handOff: HandOff
  readonly #keepAliveMs: number
  /** Keep-Alive's timeout, as node writes it: none when the server has none. */
  readonly #keepAliveSeconds: number | undefined
  readonly #now: () => number
  readonly #date = new HttpDate()
  /** The next read of a kept connection (`this` is its socket). */
  readonly #onKeptData: (this: Socket, chunk: Buffer) => void
  /** The start of a request a kept connection's last read cut off (under MAX_FAST_HEAD_BYTES). */
  readonly #partial = new WeakMap<Socket, Buffer>()
  /** Pipelined requests answered one inside the other in this turn (each answer calls for
   * the next): bounded, so a read of many tiny requests cannot exhaust the stack. */
  #depth = 0

  constructor(options: TrackerFastPathOptions) {
    this.#front = options.front
    this.#handOff = options.handOff
    this.#keepAliveMs = options.keepAliveTimeoutMs
    this.#keepAliveSeconds =
      options.keepAliveTimeoutMs > 0 ? Math.floor(options.keepAliveTimeoutMs / 1000) : undefined
    this.#now = options.now ?? Date.now
    this.#onKeptData = socketListener((socket, chunk) => this.#next(socket, chunk))
  }

  /**
   * The answer to the tracker request `bytes` open with, from a client at `remoteAddress`;
   * undefined when they do not open with one whole plain request (the HTTP server's then).
   * Touches no socket: a socket worker could run it.
   */
  answer(bytes: Uint8Array, remoteAddress: string): FastAnswer | undefined {
    const head = readTrackerHead(bytes)
    if (head === undefined) return undefined
    // Bytes after a request that closes the connection: node's parser answers them (400).
    if (!head.keepAlive && head.length < bytes.length) return undefined
    const { url, proxied, forwardedFor, keepAlive } = head
    const body = this.#front.answer({ url, remoteAddress, proxied, forwardedFor })
    if (body === null) {
      const response = tooManyResponse(this.#date.at(this.#now()))
      return { response, keepAlive: false, consumed: head.length }
    }
    return {
      response:
        body instanceof Uint8Array
          ? this.#frame(body, keepAlive)
          : body.then((b) => this.#frame(b, keepAlive)),
      keepAlive,
      consumed: head.length,
    }
  }

  /**
   * Answers `socket`, whose first bytes read are `head`, when they are a tracker request this
   * path takes: true, and the socket is this path's (or the HTTP server's, later). False
   * leaves socket and bytes untouched.
   */
  serve(socket: Socket, head: Buffer): boolean {
    const answer = this.answer(head, socket.remoteAddress ?? '')
    if (answer === undefined) return false
    const { response } = answer
    if (response instanceof Uint8Array) {
      this.respond(socket, head, answer.consumed, answer.keepAlive, response)
    } else {
      // Nothing more is read until this answer is written: the next one must follow it.
      socket.pause()
      response.then(
        (r) => this.respond(socket, head, answer.consumed, answer.keepAlive, r),
        () => socket.destroy(),
      )
    }
    return true
  }

  #frame(body: Uint8Array, keepAlive: boolean): Buffer {
    return okResponse(body, keepAlive, this.#date.at(this.#now()), this.#keepAliveSeconds)
  }

  /**
   * Writes `response`, the answer to the request that took the first `consumed` of `bytes`
   * (read from `socket`), then closes the connection or reads the next request as
   * `keepAlive` says. A socket worker calls it when its primary's answer comes.
   */
  respond(
    socket: Socket,
    bytes: Buffer,
    consumed: number,
    keepAlive: boolean,
    response: Uint8Array,
  ): void {
    if (socket.destroyed) return
    if (!keepAlive) {
      // RFC 9112 §9.6: nothing after a request that closes the connection is answered.
      // Flowing, so whatever the client sends later is read and dropped.
      socket.resume()
      const flushed = socket.write(response) && socket.writableLength === 0
      // The kernel took the whole answer (and the request was all there was): closing now
      // sends it and the FIN, without waiting to read the client's FIN (as node's end() does).
      // Not through TLS, whose close_notify is still to be written.
      const plain = (socket as TLSSocket).encrypted !== true
      if (flushed && plain) socket.destroy()
      else socket.end()
      return
    }
    if (consumed < bytes.length) {
      // Pipelined: the answers to one read go out in one write, at once: Nagle would hold
      // each small one back until the client acknowledged the last (delayed ACK, ~40 ms).
      socket.setNoDelay(true)
      socket.cork()
      process.nextTick(uncork, socket)
    }
    const drained = socket.write(response)
    if (consumed < bytes.length) {
      // The next request once this answer is on its way (one waits at most).
      const rest = bytes.subarray(consumed)
      if (drained && this.#depth < MAX_PIPELINED_IN_TURN) this.#take(socket, rest)
      else if (drained) {
        // Many tiny requests in one read: the rest in the next turn, not ever deeper.
        socket.pause()
        setImmediate(() => this.#take(socket, rest))
      } else {
        socket.pause()
        socket.once('drain', () => this.#take(socket, rest))
      }
      return
    }
    this.#awaitNext(socket, drained)
  }

  /** Reads a kept connection's next request, when it comes. */
  #awaitNext(socket: Socket, drained: boolean): void {
    socket.on('data', this.#onKeptData)
    socket.on('timeout', destroyIdle)
    socket.setTimeout(this.#keepAliveMs)
    if (drained) socket.resume()
    else {
      socket.pause()
      socket.once('drain', resumeDrained)
    }
  }

  /** The next read of a kept connection: answered here when it is one whole request. */
  #next(socket: Socket, chunk: Buffer): void {
    socket.off('data', this.#onKeptData)
    socket.off('timeout', destroyIdle)
    socket.setTimeout(0)
    const partial = this.#partial.get(socket)
    if (partial === undefined) this.#take(socket, chunk)
    else {
      this.#partial.delete(socket)
      this.#take(socket, Buffer.concat([partial, chunk]), true)
    }
  }

  /** Answers `bytes`, a kept connection's, here; keeps a head they only begin for one more
   * read; else hands them to the HTTP server. `continued`: they are a head kept from the last
   * read and this one's bytes. A head still unfinished then goes to the HTTP server, whose
   * headers timeout ends it: kept from read to read, a client sending a byte now and then
   * could hold its connection here for hours under the idle timeout alone. */
  #take(socket: Socket, bytes: Buffer, continued = false): void {
    if (socket.destroyed) return
    this.#depth++
    try {
      if (this.serve(socket, bytes)) return
    } finally {
      this.#depth--
    }
    if (!continued && mayBeTrackerHead(bytes)) {
      this.#partial.set(socket, bytes)
      this.#awaitNext(socket, true)
    } else {
      // The answers corked above go out first: a socket worker hands a socket over only once
      // its writes are done, and corked ones would never drain.
      while (socket.writableCorked > 0) socket.uncork()
      this.#handOff(socket, bytes)
    }
  }
}
