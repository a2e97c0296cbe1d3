// A socket worker (issue 24): one of the processes beside the relay's primary that accept
// connections on the one port (socket-workers.ts), so a connection's accept, read, write and
// close, which cost a Node thread more than the announce itself, run on another core. The
// swarm state stays in the primary: a connection whose first bytes are one whole plain
// tracker request (the fast path's, tracker/http-wire.ts) is answered here with the bytes
// the primary's fast path makes of it, asked over IPC; every other connection (another
// path, WebSocket, TLS, TURN, a head split over reads) goes to the primary with its socket
// and the bytes read, as if the primary had accepted it. Kept connections go on as the fast
// path's do (tracker-fast-path.ts), and go to the primary when they ask for something else.
//
// Budgets here: connections per address and in all, counted from accept to close or hand-off
// (the primary counts a handed connection again from then on, so what an address holds is
// bounded by the cap in every process, and long-lived connections, all in the primary, by
// the cap alone); asks waiting for the primary: past MAX_PENDING_ASKS the request is
// answered 503 and the connection closed ('socket-worker-busy'), so a slow primary costs
// the worker bounded memory.

import type { Server, Socket } from 'node:net'
import { HttpDate, readTrackerHead } from '../tracker/http-wire.ts'
import { Refusals, type RefusalReason } from '../refusals.ts'
import type { LogLevel } from '../config.ts'
import { LISTEN_BACKLOG } from '../limits.ts'
import type { Logger } from '../log.ts'
import { ConnectionBudget } from './connection-budget.ts'
import { TrackerFastPath, socketListener } from './tracker-fast-path.ts'
import { Batcher, decodeReplies, encodeAsks, type TrackerAsk } from './worker-wire.ts'

/** Asks one worker may have waiting for the primary: each holds a request head (at most
 * MAX_FAST_HEAD_BYTES, 4 KiB) and a connection; 1,024 is a tenth of a second of the
 * primary's full rate, far more than a primary keeping up ever leaves waiting. */
export const MAX_PENDING_ASKS = 1024
/** Asks in one IPC message at most: a batch stays well under a megabyte. */
export const MAX_ASKS_PER_BATCH = 128

/** The worker's end of the asks-and-replies pipe: the fd after stdin, stdout, stderr, IPC. */
export const PIPE_FD = 4

/** What the primary tells a worker when it hands it the listening socket. */
export interface SocketWorkerSettings {
  /** The HTTP server's keepAliveTimeout: kept connections idle this long are closed. */
  keepAliveTimeoutMs: number
  /** A connection that sends nothing this long is closed (SNIFF_TIMEOUT_MS). */
  sniffTimeoutMs: number
  maxConnectionsPerAddress: number
  maxConnections: number
  logLevel: LogLevel
}

/** A refusal counted in the primary's /metrics: [reason, source, fields]. */
export type ForwardedRefusal = [RefusalReason, string, Record<string, unknown>]

/** What a worker sends its primary over IPC (asks go over the pipe: PrimaryChannel.ask). */
export type WorkerMessage =
  /** Sent with the connection's socket: `bytes` were read from it, the rest is unread. */
  | { kind: 'handOff'; bytes: Buffer }
  | { kind: 'refused'; refusals: ForwardedRefusal[] }
  /** Listening for the primary's messages: the listening socket may be sent (a message that
   * came before would be lost, and a socket listening with nobody to serve it). */
  | { kind: 'ready' }
  /** A worker started from its bundle (socket-worker-boot.js) waits for its code. */
  | { kind: 'boot' }

/** What the primary sends a worker over IPC (replies go over the pipe). */
export type PrimaryMessage =
  | { kind: 'listen'; settings: SocketWorkerSettings }
  /** socket-worker-main.ts bundled, for a worker that asked with 'boot'. */
  | { kind: 'code'; source: string }

/** The way to the primary (process.send and the pipe in a worker process; a fake in tests). */
export interface PrimaryChannel {
  /** An IPC message, with the socket it hands over; `sent` once the socket is passed. */
  send(message: WorkerMessage, socket?: Socket, sent?: () => void): void
  /** A frame of asks (worker-wire.ts), on the pipe. */
  ask(frame: Buffer): void
}

/** The 503 a worker answers when its primary has MAX_PENDING_ASKS unanswered. */
export function busyResponse(date: string): Buffer {
  return Buffer.from(
    'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n' +
      `Date: ${date}\r\nContent-Length: 0\r\n\r\n`,
    'latin1',
  )
}

/** Node listens again on a server handle it receives, with its default backlog of 511, and
 * that is the one socket all processes accept on: listen(2) once more sets LISTEN_BACKLOG
 * back (limits.ts: 511 overflowed when a thousand browsers connected at once). */
export function keepBacklog(received: Server): void {
  const handle = (received as unknown as { _handle?: { listen?(backlog: number): number } })._handle
  const err = handle?.listen?.(LISTEN_BACKLOG)
  if (err) process.emitWarning(`socket worker: listen backlog not set (${err})`)
}

/** Refusals counted by the primary: sent there once per turn of the event loop. */
class ForwardedRefusals extends Refusals {
  readonly #batcher: Batcher<ForwardedRefusal>

  constructor(log: Logger, channel: PrimaryChannel) {
    super(log)
    this.#batcher = new Batcher(
      (refusals) => channel.send({ kind: 'refused', refusals }),
      MAX_ASKS_PER_BATCH,
    )
  }

  override refuse(reason: RefusalReason, source: string, fields: Record<string, unknown> = {}) {
    this.#batcher.add([reason, source, fields])
  }
}

/** A request asked of the primary: its connection, paused until the answer is written. */
interface Pending {
  socket: Socket
  /** The bytes read, the request first. */
  bytes: Buffer
  /** The request's length in `bytes`. */
  consumed: number
}

/** The fast path with its answers made by the primary: a request is asked of it, and the
 * answer written when its reply comes (SocketWorker.onReplies), no Promise in between. */
class ForwardingFastPath extends TrackerFastPath {
  readonly #ask: (socket: Socket, bytes: Buffer, consumed: number) => void
  readonly #busy: (remoteAddress: string) => boolean
  readonly #date = new HttpDate()

  constructor(
    settings: SocketWorkerSettings,
    handOff: (socket: Socket, rest: Buffer) => void,
    ask: (socket: Socket, bytes: Buffer, consumed: number) => void,
    busy: (remoteAddress: string) => boolean,
  ) {
    super({
      front: { answer: () => null },
      handOff,
      keepAliveTimeoutMs: settings.keepAliveTimeoutMs,
    })
    this.#ask = ask
    this.#busy = busy
  }

  override serve(socket: Socket, bytes: Buffer): boolean {
    const head = readTrackerHead(bytes)
    if (head === undefined) return false
    if (!head.keepAlive && head.length < bytes.length) return false
    // Another relay's proxied announces come pipelined on a few kept connections: the
    // primary's fast path answers them in turn in-process, not one IPC round trip each.
    if (head.proxied !== undefined) return false
    if (this.#busy(socket.remoteAddress ?? '')) {
      const response = busyResponse(this.#date.at(Date.now()))
      this.respond(socket, bytes, head.length, false, response)
      return true
    }
    // Nothing more is read until this answer is written: the next one must follow it.
    socket.pause()
    this.#ask(socket, bytes, head.length)
    return true
  }
}

// Listeners shared by every connection (`this` is the socket): none is made per connection.
/** Nothing read within the sniff timeout, or a socket error. */
function destroySocket(this: Socket): void {
  this.destroy()
}

/** A 'close' listener that takes its socket out of `sockets`. */
function forgetter(sockets: Set<Socket>): (this: Socket) => void {
  return function (this: Socket) {
    sockets.delete(this)
  }
}

export class SocketWorker {
  readonly #channel: PrimaryChannel
  readonly #settings: SocketWorkerSettings
  readonly #budget: ConnectionBudget
  readonly #fastPath: ForwardingFastPath
  readonly #asks: Batcher<TrackerAsk>
  readonly #pending = new Map<number, Pending>()
  readonly #refusals: Refusals
  readonly #sockets = new Set<Socket>()
  readonly #forget = forgetter(this.#sockets)
  readonly #onFirstData: (this: Socket, chunk: Buffer) => void
  #nextId = 1

  constructor(
    server: Server,
    settings: SocketWorkerSettings,
    channel: PrimaryChannel,
    log: Logger,
  ) {
    this.#channel = channel
    this.#settings = settings
    this.#refusals = new ForwardedRefusals(log, channel)
    this.#budget = new ConnectionBudget({
      maxPerAddress: settings.maxConnectionsPerAddress,
      maxTotal: settings.maxConnections,
      refusals: this.#refusals,
    })
    this.#asks = new Batcher((asks) => channel.ask(encodeAsks(asks)), MAX_ASKS_PER_BATCH)
    this.#fastPath = new ForwardingFastPath(
      settings,
      this.#handOff,
      (socket, bytes, consumed) => this.#ask(socket, bytes, consumed),
      (remoteAddress) => this.#shed(remoteAddress),
    )
    this.#onFirstData = socketListener((socket, chunk) => this.#first(socket, chunk))
    server.maxConnections = settings.maxConnections
    server.on('drop', (data) => this.#budget.dropped(data?.remoteAddress))
    server.on('connection', (socket: Socket) => this.#accept(socket))
  }

  /** Connections open here (not yet closed or handed to the primary). */
  get connections(): number {
    return this.#budget.total
  }

  /** Asks sent and not yet answered. */
  get pending(): number {
    return this.#pending.size
  }

  /** The primary's answers: a batch off the pipe (FrameReader). */
  onReplies(batch: Buffer): void {
    for (const reply of decodeReplies(batch)) {
      const pending = this.#pending.get(reply.id)
      if (pending === undefined) continue
      this.#pending.delete(reply.id)
      const { socket, bytes, consumed } = pending
      if (reply.outcome === 'answered') {
        this.#fastPath.respond(socket, bytes, consumed, reply.keepAlive, reply.response)
      } else if (reply.outcome === 'declined') {
        // The primary's fast path does not take it: its HTTP server will.
        this.#handOff(socket, bytes)
      } else {
        socket.destroy()
      }
    }
  }

  /** Destroys every connection held here. */
  close(): void {
    for (const socket of this.#sockets) socket.destroy()
    this.#pending.clear()
  }

  #accept(socket: Socket): void {
    if (!this.#budget.admit(socket)) {
      socket.destroy()
      return
    }
    this.#sockets.add(socket)
    socket.on('close', this.#forget)
    socket.on('error', destroySocket)
    socket.setTimeout(this.#settings.sniffTimeoutMs)
    socket.on('timeout', destroySocket)
    socket.on('data', this.#onFirstData)
  }

  #first(socket: Socket, chunk: Buffer): void {
    socket.off('data', this.#onFirstData)
    socket.off('timeout', destroySocket)
    socket.setTimeout(0)
    if (!this.#fastPath.serve(socket, chunk)) this.#handOff(socket, chunk)
  }

  #ask(socket: Socket, bytes: Buffer, consumed: number): void {
    const id = this.#nextId
    this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1
    this.#pending.set(id, { socket, bytes, consumed })
    const remoteAddress = socket.remoteAddress ?? ''
    this.#asks.add({ id, remoteAddress, bytes: bytes.subarray(0, consumed) })
  }

  /** Whether a request must be shed: the primary already has MAX_PENDING_ASKS of ours. */
  #shed(remoteAddress: string): boolean {
    if (this.#pending.size < MAX_PENDING_ASKS) return false
    this.#refusals.refuse('socket-worker-busy', remoteAddress, { pending: this.#pending.size })
    return true
  }

  /** Gives `socket` to the primary with `bytes` (read from it) to be read first. */
  readonly #handOff = (socket: Socket, bytes: Buffer): void => {
    if (socket.destroyed) return
    socket.pause()
    // A socket's handle is closed here once sent: answers not yet written would be lost.
    if (socket.writableLength > 0) {
      socket.once('drain', () => this.#handOff(socket, bytes))
      return
    }
    // Bytes already read but not yet taken (a kept connection paused while its answer
    // drained) go with the rest.
    let more: Buffer | null
    while ((more = socket.read() as Buffer | null) !== null) bytes = Buffer.concat([bytes, more])
    // Then nothing more is read here, until and after the handle is sent (Node queues a
    // handle while the last one is unacknowledged): what the kernel holds goes with it.
    // Node's pause() stops reading the handle only for sockets made with `onread`.
    ;(socket as unknown as { _handle?: { readStop?(): number } })._handle?.readStop?.()
    this.#channel.send({ kind: 'handOff', bytes }, socket, () => socket.destroy())
  }
}
