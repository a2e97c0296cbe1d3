// The relay's one port (ARCHITECTURE.md, "Transport and encryption"): HTTP, TLS and TURN over
// TCP share it, told apart by a connection's first bytes, which are read, put back (unshift)
// and the socket handed on:
//   0x16 0x03 …                         a TLS record (RFC 8446 §5.1)    → TLS, then again:
//   top two bits 0, bytes 4-7 2112A442   a STUN message (RFC 8489 §5)    → TURN ('tcp'/'tls')
//   anything else: HTTP requests (RFC 9112 §3), and garbage             → HTTP
// ChannelData (RFC 8656 §12) never opens a connection: it needs an allocation, made by a STUN
// Allocate on that same connection first. TLS or TURN on a relay without them also goes to
// HTTP, whose parser answers it with a 400 and closes, like any garbage. Reading is bounded:
// at most 8 bytes (a ClientHello record when ACME is on) and SNIFF_TIMEOUT_MS.
//
// The HTTP server never listens: it gets each HTTP(S) connection as a 'connection' event, so
// its request, upgrade (WebSocket) and clientError (h2c hand-off) handlers work unchanged.
// Except a connection opening with one whole plain announce or scrape: the tracker's fast
// path answers it without the HTTP server (tracker-fast-path.ts), which gets it only later
// if it asks for something else.
// TLS is ended here (a tls.Server that never listens either); its certificate is swapped with
// setTls() for new connections, and a ClientHello offering "acme-tls/1" for a name with a
// pending TLS-ALPN-01 challenge (RFC 8737 §3) gets the challenge certificate instead.
//
// Every connection counts against its address's budget (connection-budget.ts) from accept,
// before a byte is read: one over the cap, or over the total, is closed at once.

import type { Server as HttpServer } from 'node:http'
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net'
import {
  TLSSocket,
  createServer as createTlsServer,
  type SecureContext,
  type Server as TlsServer,
} from 'node:tls'
import { LISTEN_BACKLOG, MAX_HELLO_BYTES, SNIFF_TIMEOUT_MS } from '../limits.ts'
import type { Logger } from '../log.ts'
import type { ConnectionBudget } from './connection-budget.ts'
import { ClientHelloError, firstRecordLength, parseClientHello } from '../tls/client-hello.ts'
import type { TlsMaterial } from '../tls/tls.ts'
import type { TrackerFront } from '../tracker/http-front.ts'
import { TrackerFastPath } from './tracker-fast-path.ts'

/** RFC 8489 §6. */
const STUN_MAGIC_COOKIE = 0x2112a442
/** RFC 8737 §6.2. */
export const ACME_TLS_ALPN = 'acme-tls/1'
/** HTTP/1.1 for HTTPS, and "stun.turn" (RFC 7443 §4) for TURN clients that name it. */
const ALPN_PROTOCOLS = ['http/1.1', 'stun.turn']

export type Traffic = 'tls' | 'turn' | 'http'

/**
 * What a connection that began with `head` carries; undefined while more bytes are needed.
 * `insideTls` is the second look, after the handshake: TLS within TLS goes to HTTP (a 400).
 * TURN is a STUN message: a TURN client's first message on a connection is a STUN request
 * (Allocate, or Binding; RFC 8656 §5), never ChannelData, which needs an allocation made on
 * that very connection. So a connection opening with ChannelData's bytes (0x40-0x4F, also
 * the first letters of GET, HEAD, OPTIONS, DELETE) is HTTP, and garbage gets HTTP's 400.
 */
export function classify(head: Uint8Array, insideTls = false): Traffic | undefined {
  if (head.length === 0) return undefined
  const first = head[0]
  if (first === 0x16 && !insideTls) {
    if (head.length < 2) return undefined
    return head[1] === 0x03 ? 'tls' : 'http'
  }
  // RFC 8489 §5: the two top bits of a STUN message are 0, and bytes 4-7 the magic cookie.
  if (first < 0x40) {
    if (head.length < 8) return undefined
    const cookie = ((head[4] << 24) | (head[5] << 16) | (head[6] << 8) | head[7]) >>> 0
    return cookie === STUN_MAGIC_COOKIE ? 'turn' : 'http'
  }
  return 'http'
}

/** TURN over TCP and TLS on this port (relay/turn/): the socket arrives with its first bytes
 * unread. */
export interface TurnStreams {
  handleStream(socket: Socket, transport: 'tcp' | 'tls'): void
}

/** TLS-ALPN-01 challenge certificates (relay/tls/acme.ts). */
export interface AlpnChallenges {
  /** The challenge certificate for this SNI name, while a challenge for it is pending. */
  alpnContext(serverName: string): SecureContext | undefined
}

export interface OnePortOptions {
  /** Gets every HTTP and HTTPS connection as a 'connection' event; it never listens. */
  http: HttpServer
  /** Certificate for TLS; without it (and until setTls) TLS connections are closed. */
  tls?: TlsMaterial
  /** Without it STUN and ChannelData connections are closed. */
  turn?: TurnStreams
  acme?: AlpnChallenges
  log?: Logger
  sniffTimeoutMs?: number
  /** Connections open per address and in all; without it, no cap. */
  connections?: ConnectionBudget
  /** The tracker's answers, given to plain announces and scrapes without the HTTP server
   * (tracker-fast-path.ts); without it, the HTTP server gets them all. */
  tracker?: Pick<TrackerFront, 'answer'>
}

export class OnePort {
  /** The listening socket; `address()` once listen() resolved. */
  readonly server: Server
  readonly #http: HttpServer
  readonly #turn: TurnStreams | undefined
  readonly #acme: AlpnChallenges | undefined
  readonly #log: Logger | undefined
  readonly #timeoutMs: number
  readonly #connections: ConnectionBudget | undefined
  readonly #tracker: TrackerFastPath | undefined
  readonly #sockets = new Set<Socket>()
  #tls: TlsServer | undefined

  constructor(options: OnePortOptions) {
    this.#http = options.http
    this.#turn = options.turn
    this.#acme = options.acme
    this.#log = options.log
    this.#timeoutMs = options.sniffTimeoutMs ?? SNIFF_TIMEOUT_MS
    this.#connections = options.connections
    this.#tracker =
      options.tracker &&
      new TrackerFastPath({
        front: options.tracker,
        handOff: this.#toHttp,
        keepAliveTimeoutMs: this.#http.keepAliveTimeout,
      })
    this.server = createNetServer((socket) => this.#accept(socket))
    if (this.#connections) {
      const connections = this.#connections
      this.server.maxConnections = connections.options.maxTotal
      this.server.on('drop', (data) => connections.dropped(data?.remoteAddress))
    }
    if (options.tls) this.setTls(options.tls)
  }

  /** Serves TLS with this certificate from the next handshake on; connections already open
   * keep theirs. */
  setTls(material: TlsMaterial): void {
    if (this.#tls) {
      this.#tls.setSecureContext({ cert: material.cert, key: material.key })
      return
    }
    this.#tls = createTlsServer({
      cert: material.cert,
      key: material.key,
      ALPNProtocols: ALPN_PROTOCOLS,
      handshakeTimeout: this.#timeoutMs,
    })
    this.#tls.on('secureConnection', (socket: TLSSocket) => this.#sniff(socket, true))
    this.#tls.on('tlsClientError', (err, socket) => {
      this.#log?.debug('tls handshake failed', { ip: socket.remoteAddress, error: err.message })
      socket.destroy()
    })
  }

  get tls(): boolean {
    return this.#tls !== undefined
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
        this.server.off('error', reject)
        // The HTTP server starts its request/headers timeout checks on 'listening'.
        this.#http.emit('listening')
        resolve(this.server.address() as AddressInfo)
      })
    })
  }

  /** Stops listening and destroys every connection, whatever it carries. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#http.closeAllConnections()
      // Stops the HTTP server's timeout checks; it was never listening, so the error is moot.
      this.#http.close(() => {})
      this.server.close(() => resolve())
      for (const socket of this.#sockets) socket.destroy()
    })
  }

  /** Takes a connection another process accepted on this port (socket-workers.ts), with the
   * bytes it read from it, as if it had been accepted here. */
  adopt(socket: Socket, bytes: Buffer): void {
    if (bytes.length) socket.unshift(bytes)
    this.#accept(socket)
  }

  #accept(socket: Socket): void {
    if (this.#connections && !this.#connections.admit(socket)) {
      socket.destroy()
      return
    }
    this.#sockets.add(socket)
    socket.on('close', () => this.#sockets.delete(socket))
    // Errors after the hand-off are also the new owner's to report; this keeps an early reset
    // from being an unhandled 'error'.
    socket.on('error', () => socket.destroy())
    this.#sniff(socket, false)
  }

  /** Reads the first bytes of `socket`, puts them back and hands it on. */
  #sniff(socket: Socket, insideTls: boolean): void {
    let head: Buffer = Buffer.alloc(0)
    const timer = setTimeout(() => socket.destroy(), this.#timeoutMs)
    const stop = () => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('close', stop)
    }
    const onData = (chunk: Buffer) => {
      head = head.length ? Buffer.concat([head, chunk]) : chunk
      let kind = classify(head, insideTls)
      if (kind === undefined) return
      let challenge: SecureContext | undefined
      if (kind === 'tls' && this.#acme) {
        const hello = this.#readHello(head)
        if (hello === 'more') return
        challenge = hello
      }
      if ((kind === 'tls' && !this.#tls && !challenge) || (kind === 'turn' && !this.#turn)) {
        kind = 'http'
      }
      stop()
      if (kind === 'http') {
        if (!this.#tracker?.serve(socket, head)) this.#toHttp(socket, head)
        return
      }
      socket.pause()
      socket.unshift(head)
      if (challenge) this.#answerChallenge(socket, challenge)
      else if (kind === 'tls') this.#tls!.emit('connection', socket)
      else this.#turn!.handleStream(socket, insideTls ? 'tls' : 'tcp')
      // Handlers attach their listeners synchronously; the bytes put back flow after that.
      process.nextTick(() => socket.resume())
    }
    socket.on('data', onData)
    socket.on('close', stop)
  }

  /** Hands `socket` to the HTTP server with `bytes` put back unread. */
  readonly #toHttp = (socket: Socket, bytes: Buffer): void => {
    socket.pause()
    socket.unshift(bytes)
    this.#http.emit('connection', socket)
    // The server attaches its listeners synchronously; the bytes put back flow after that.
    process.nextTick(() => socket.resume())
  }

  /** 'more' until the first record is in; then the challenge context it asks for, if any. */
  #readHello(head: Buffer): SecureContext | undefined | 'more' {
    try {
      const need = firstRecordLength(head)
      if (need === undefined || (head.length < need && head.length < MAX_HELLO_BYTES)) {
        return 'more'
      }
      const hello = parseClientHello(head)
      if (!hello.alpn.includes(ACME_TLS_ALPN) || hello.serverName === undefined) return undefined
      return this.#acme!.alpnContext(hello.serverName)
    } catch (err) {
      if (!(err instanceof ClientHelloError)) throw err
      return undefined // OpenSSL will refuse it with the proper alert.
    }
  }

  /** RFC 8737 §3: the challenge certificate, "acme-tls/1" negotiated, then nothing else. */
  #answerChallenge(socket: Socket, secureContext: SecureContext): void {
    const tls = new TLSSocket(socket, {
      isServer: true,
      secureContext,
      ALPNProtocols: [ACME_TLS_ALPN],
    })
    const timer = setTimeout(() => tls.destroy(), this.#timeoutMs)
    tls.on('secure', () => {
      this.#log?.debug('acme tls-alpn-01 challenge answered', { ip: socket.remoteAddress })
      tls.end()
    })
    tls.on('error', () => tls.destroy())
    tls.on('close', () => clearTimeout(timer))
  }
}
