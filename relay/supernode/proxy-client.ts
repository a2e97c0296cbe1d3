// Proxied announces to an owner over a few kept connections (issue 24: a proxied announce at
// half a direct one or better). Node's HTTP client costs a ClientRequest, header checks, a
// parser and an IncomingMessage per announce, several times the announce itself; here a
// request is one latin1 string written, and answers are read by ProxyResponseReader.
//
// Per owner origin, at most PROXY_SOCKETS_PER_OWNER connections, each carrying up to
// MAX_PIPELINED_PER_SOCKET requests at once (RFC 9112 §9.3.2 pipelining: answers come back in
// order). Requests written in one tick go out in one write (cork), and the owner's fast path
// answers a read of many requests at once (transport/tracker-fast-path.ts).
//
// A connection that sends bytes no answer is, an answer over its cap, an answer nobody asked
// for, or nothing for the timeout is dropped, and every request on it fails (the proxy then
// asks the next owner or answers itself). One that the owner closes between answers (its
// keep-alive timeout) fails nothing: requests it had not begun to answer are sent once more
// on another connection. Plain HTTP only; HTTPS owners keep node's client (announce-proxy.ts).

import { connect, type Socket } from 'node:net'
import {
  MAX_PIPELINED_PER_SOCKET,
  MAX_PROXY_OWNERS,
  MAX_PROXY_WAITING,
  PROXY_SOCKETS_PER_OWNER,
} from '../limits.ts'
import { ProxyAnswerError, ProxyResponseReader } from './proxy-response.ts'

export interface ProxyClientOptions {
  /** No byte from an owner with requests outstanding for this long: the connection fails. */
  timeoutMs: number
  /** Opens a connection (tests pass their own). */
  connect?: (port: number, host: string) => Socket
  /** Milliseconds, for each request's deadline (an owner trickling bytes still times out). */
  now?: () => number
}

interface Pending {
  bytes: string
  resolve: (body: Buffer) => void
  reject: (err: Error) => void
  /** Sent once more already, after a close that cut it off. */
  retried: boolean
  /** When it was written, for its deadline. */
  sentAt: number
}

/** One kept connection and the requests it carries, oldest first. */
interface Conn {
  socket: Socket
  reader: ProxyResponseReader
  inFlight: Pending[]
  corked: boolean
}

class OwnerPool {
  readonly conns: Conn[] = []
  readonly waiting: Pending[] = []
  constructor(
    readonly host: string,
    readonly port: number,
  ) {}
}

/** Errors of a connection the owner closed under a request, not of the request. */
const RESETS = new Set(['ECONNRESET', 'EPIPE'])

/** Whether `s` may go into a request line or field value as is (no CR, LF, space, controls). */
const SAFE_TARGET = /^\/[\x21-\x7e]*$/
const SAFE_VALUE = /^[\x20-\x7e]*$/

/** Whether `target` goes into a request line as it is (an origin-form path, RFC 9112 §3.2.1,
 * of printable ASCII): what `get` sends. */
export function isSendableTarget(target: string): boolean {
  return SAFE_TARGET.test(target)
}

export class ProxyClient {
  readonly #timeoutMs: number
  readonly #connect: (port: number, host: string) => Socket
  readonly #now: () => number
  readonly #pools = new Map<string, OwnerPool>()

  constructor(options: ProxyClientOptions) {
    this.#timeoutMs = options.timeoutMs
    this.#connect = options.connect ?? ((port, host) => connect({ port, host }))
    this.#now = options.now ?? Date.now
  }

  /** GET `target` of the owner at `origin` (http://host:port) with `field: value`; the body
   * of its 200 answer, or an Error. */
  get(origin: URL, target: string, field: string, value: string): Promise<Buffer> {
    if (!isSendableTarget(target) || !SAFE_VALUE.test(value)) {
      return Promise.reject(new Error('request target or header not sendable as is'))
    }
    const pool = this.#pool(origin)
    const bytes = `GET ${target} HTTP/1.1\r\nHost: ${origin.host}\r\n${field}: ${value}\r\n\r\n`
    return new Promise<Buffer>((resolve, reject) => {
      this.#send(pool, { bytes, resolve, reject, retried: false, sentAt: 0 })
    })
  }

  /** Closes every connection; requests on them fail. */
  close(): void {
    for (const pool of this.#pools.values()) this.#closePool(pool)
    this.#pools.clear()
  }

  #pool(origin: URL): OwnerPool {
    const key = origin.host
    let pool = this.#pools.get(key)
    if (pool) {
      // Most recently used last, so the first is the one to close when over the cap.
      this.#pools.delete(key)
    } else {
      if (this.#pools.size >= MAX_PROXY_OWNERS) {
        const [oldKey, oldest] = this.#pools.entries().next().value as [string, OwnerPool]
        this.#pools.delete(oldKey)
        this.#closePool(oldest)
      }
      pool = new OwnerPool(origin.hostname.replace(/^\[|\]$/g, ''), Number(origin.port) || 80)
    }
    this.#pools.set(key, pool)
    return pool
  }

  #closePool(pool: OwnerPool): void {
    for (const conn of [...pool.conns]) conn.socket.destroy(new Error('proxy client closed'))
    for (const p of pool.waiting.splice(0)) p.reject(new Error('proxy client closed'))
  }

  #send(pool: OwnerPool, pending: Pending): void {
    const conn = this.#pick(pool)
    if (conn === undefined) {
      if (pool.waiting.length >= MAX_PROXY_WAITING) {
        pending.reject(new Error('too many proxied requests waiting for this owner'))
      } else pool.waiting.push(pending)
      return
    }
    this.#write(conn, pending)
  }

  /** An idle connection, else a new one while under the cap, else the least busy with room. */
  #pick(pool: OwnerPool): Conn | undefined {
    let best: Conn | undefined
    for (const conn of pool.conns) {
      if (conn.inFlight.length === 0) return conn
      if (best === undefined || conn.inFlight.length < best.inFlight.length) best = conn
    }
    if (pool.conns.length < PROXY_SOCKETS_PER_OWNER) return this.#open(pool)
    return best !== undefined && best.inFlight.length < MAX_PIPELINED_PER_SOCKET ? best : undefined
  }

  #write(conn: Conn, pending: Pending): void {
    if (conn.inFlight.length === 0) conn.socket.setTimeout(this.#timeoutMs)
    pending.sentAt = this.#now()
    conn.inFlight.push(pending)
    // One write for every request of this tick.
    if (!conn.corked) {
      conn.corked = true
      conn.socket.cork()
      process.nextTick(() => {
        conn.corked = false
        conn.socket.uncork()
      })
    }
    conn.socket.write(pending.bytes, 'latin1')
  }

  #open(pool: OwnerPool): Conn {
    const socket = this.#connect(pool.port, pool.host)
    socket.setNoDelay(true)
    const conn: Conn = { socket, reader: new ProxyResponseReader(), inFlight: [], corked: false }
    pool.conns.push(conn)
    socket.on('data', (chunk: Buffer) => this.#onData(pool, conn, chunk))
    socket.on('timeout', () => socket.destroy(new Error('no answer from the owner in time')))
    socket.on('error', () => {})
    socket.on('close', () => this.#onClose(pool, conn))
    return conn
  }

  #onData(pool: OwnerPool, conn: Conn, chunk: Buffer): void {
    let answers
    try {
      answers = conn.reader.push(chunk)
    } catch (err) {
      conn.socket.destroy(err as ProxyAnswerError)
      return
    }
    for (const answer of answers) {
      const pending = conn.inFlight.shift()
      if (pending === undefined) {
        conn.socket.destroy(new ProxyAnswerError('an answer nobody asked for'))
        return
      }
      if (answer.status === 200) pending.resolve(answer.body)
      else pending.reject(new Error(`HTTP ${answer.status} from the owner`))
      if (!answer.keepAlive) {
        // The owner closes after this one: the rest go on another connection (onClose).
        conn.socket.end()
        this.#forget(pool, conn)
        return
      }
    }
    // Bytes that keep coming too slowly still miss the oldest request's deadline.
    const oldest = conn.inFlight[0]
    if (oldest !== undefined && this.#now() - oldest.sentAt > this.#timeoutMs) {
      conn.socket.destroy(new Error('no answer from the owner in time'))
      return
    }
    // The idle timeout counts from now, and stops when nothing is asked.
    conn.socket.setTimeout(conn.inFlight.length === 0 ? 0 : this.#timeoutMs)
    this.#drainWaiting(pool)
  }

  #onClose(pool: OwnerPool, conn: Conn): void {
    this.#forget(pool, conn)
    const cutShort = conn.reader.idle ? undefined : conn.inFlight.shift()
    cutShort?.reject(new Error('the owner closed the connection mid-answer'))
    const failed = conn.socket.errored
    // A reset is how a close races a request written to a connection the owner just dropped.
    const reset = failed !== null && RESETS.has((failed as NodeJS.ErrnoException).code ?? '')
    for (const pending of conn.inFlight.splice(0)) {
      // A close between answers (the owner's keep-alive timeout) is not the request's fault:
      // sent once more. After another error, or a second time, it fails.
      if ((failed && !reset) || pending.retried) {
        pending.reject(failed ?? new Error('the owner closed'))
      } else this.#send(pool, { ...pending, retried: true })
    }
    this.#drainWaiting(pool)
  }

  #forget(pool: OwnerPool, conn: Conn): void {
    const i = pool.conns.indexOf(conn)
    if (i !== -1) pool.conns.splice(i, 1)
  }

  #drainWaiting(pool: OwnerPool): void {
    while (pool.waiting.length > 0) {
      const conn = this.#pick(pool)
      if (conn === undefined) return
      this.#write(conn, pool.waiting.shift()!)
    }
  }
}
