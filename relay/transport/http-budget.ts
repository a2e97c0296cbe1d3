// What HTTP requests and answers may make the relay hold in memory, bounded by construction
// (issue 20: 300 slow readers of a catalog page took 1.9 GB; 600 held sealed bodies 3.2 GB).
//
// Request bodies (for Hono and /v1/sealed) are read here before the handler runs: counted as
// they arrive against a budget in total and per address (the Content-Length up front), over
// MAX_REQUEST_BODY_BYTES refused with 413, stalled (no byte for the stall timeout) with 408,
// over budget with 503 and Retry-After; the memory is given back when the answer is done or
// the connection drops. Handlers then read the body from `rawBody`, which @hono/node-server
// takes instead of the socket (its listener runs with autoCleanupIncoming off).
//
// Answers go through budgeted-response.ts: a large one is counted against a response budget
// from writeHead until it is done (503 with Retry-After when it does not fit), and written
// with backpressure. A large answer whose socket takes no byte for the stall timeout is
// destroyed and its memory freed. An address holding half its share gets 503 for new API
// requests before any work is done.
//
// Requests pipelined on one connection are served one after the other (node answers them in
// order anyway): otherwise one read of 64 KiB could start ~1,000 catalog pages at once, each
// built before its answer could be counted.

import { ServerResponse, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import {
  BUFFER_ADDRESS_SHARE,
  BUFFER_RETRY_AFTER_SECONDS,
  MAX_REQUEST_BODY_BYTES,
  STALL_CHECK_INTERVAL_MS,
} from '../limits.ts'
import type { Logger } from '../log.ts'
import type { MetricFamily } from '../metrics.ts'
import type { RefusalReason, Refusals } from '../refusals.ts'
import { addressKey } from '../tracker/holdings.ts'
import { clientIp } from '../tracker/tracker.ts'
import { budgetedResponse, type ResponseBudget } from './budgeted-response.ts'
import { ByteBudget } from './byte-budget.ts'

export interface HttpBudgetOptions {
  refusals: Refusals
  log: Logger
  trustProxy: boolean
  /** Bytes of request bodies held at once in all (--max-request-buffer). */
  maxRequestBuffer: number
  /** Bytes of large answers in flight at once in all (--max-response-buffer). */
  maxResponseBuffer: number
  /** A body or an answer that moves no byte for this long is dropped (--stall-timeout). */
  stallTimeoutMs: number
  maxBodyBytes?: number
  addressShare?: number
}

/** A large answer in flight: what it holds, and when its socket last took a byte. */
interface InFlight {
  address: string
  flushed: number
  sinceMs: number
}

/** A request whose body was read here; @hono/node-server reads `rawBody` instead of the socket. */
type ReadRequest = IncomingMessage & { rawBody?: Buffer }

export class HttpBudget implements ResponseBudget {
  readonly requests: ByteBudget
  readonly responses: ByteBudget
  /** Give to node's createServer as `ServerResponse`. */
  readonly ServerResponse: typeof ServerResponse
  readonly #options: Required<HttpBudgetOptions>
  readonly #inFlight = new Map<ServerResponse, InFlight>()
  /** Requests waiting for the one being served on their connection. */
  readonly #waiting = new WeakMap<Socket, (() => void)[]>()
  readonly #timer: NodeJS.Timeout

  constructor(options: HttpBudgetOptions) {
    this.#options = {
      maxBodyBytes: MAX_REQUEST_BODY_BYTES,
      addressShare: BUFFER_ADDRESS_SHARE,
      ...options,
    }
    const { maxRequestBuffer, maxResponseBuffer, addressShare } = this.#options
    this.requests = new ByteBudget({
      maxTotal: maxRequestBuffer,
      maxPerAddress: Math.floor(maxRequestBuffer * addressShare),
    })
    this.responses = new ByteBudget({
      maxTotal: maxResponseBuffer,
      maxPerAddress: Math.floor(maxResponseBuffer * addressShare),
    })
    this.ServerResponse = budgetedResponse(this)
    this.#timer = setInterval(() => this.sweep(Date.now()), STALL_CHECK_INTERVAL_MS)
    this.#timer.unref()
  }

  /** Large answers in flight now. */
  get inFlight(): number {
    return this.#inFlight.size
  }

  /** The key a request's budgets are kept under: its client address (/64 for IPv6). */
  addressOf(req: IncomingMessage): string {
    const { trustProxy } = this.#options
    const forwarded = trustProxy ? req.headers['x-forwarded-for'] : undefined
    return addressKey(clientIp(req.socket?.remoteAddress ?? '', forwarded, trustProxy))
  }

  /** Serves `req` with `listener` once the requests before it on its connection are done:
   * admitted (or 503), its body read under budget (or 408, 413, 503), then handed on. */
  serve(
    req: IncomingMessage,
    res: ServerResponse,
    listener: (req: IncomingMessage, res: ServerResponse) => void,
  ): void {
    const run = () => {
      whenDone(res, () => {
        const next = this.#waiting.get(req.socket)?.shift()
        if (next) next()
        else this.#waiting.delete(req.socket)
      })
      if (!this.admit(req, res)) return
      if (req.method === 'GET' || req.method === 'HEAD') listener(req, res)
      else this.readBody(req, res, () => listener(req, res))
    }
    const waiting = this.#waiting.get(req.socket)
    if (waiting) {
      waiting.push(run)
      return
    }
    this.#waiting.set(req.socket, [])
    run()
  }

  /** False, with a 503 sent, when the request's address holds half its share of answers in
   * flight or more: one large answer being read (a catalog page, ~4 MiB) leaves room for
   * anything else; beyond two, no more work is done for it (building a page it would be
   * refused costs CPU) until some drain or stall out. */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    const address = this.addressOf(req)
    if (!this.responses.holdsShare(address, 0.5)) return true
    this.#refuse('response-budget', address, { path: pathOf(req) })
    busy(res, 'too many answers in flight for this address')
    return false
  }

  /** Reads the whole body of `req` under the request budget, then calls `next` with it set as
   * `rawBody`; or answers 408 (and closes), 413 or 503 itself, the rest of the body dropped. */
  readBody(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    const { maxBodyBytes, stallTimeoutMs, log } = this.#options
    const address = this.addressOf(req)
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > maxBodyBytes) {
      this.#refuse('body-too-large', address, { path: pathOf(req), bytes: declared })
      answer(res, 413, `body is over ${maxBodyBytes} bytes`, 'too-large')
      this.#discard(req)
      return
    }
    if (!this.requests.reserve(address, declared)) {
      this.#refuse('request-budget', address, { path: pathOf(req), bytes: declared })
      busy(res, 'too many request bodies held; try again')
      this.#discard(req)
      return
    }
    let reserved = declared
    let received = 0
    let chunks: Buffer[] = []
    const release = () => {
      this.requests.release(address, reserved)
      reserved = 0
    }
    const stop = () => {
      clearTimeout(timer)
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('close', onClose)
    }
    const fail = (status: number, reason: RefusalReason, error: string, code: string) => {
      stop()
      chunks = []
      release()
      this.#refuse(reason, address, { path: pathOf(req), bytes: received })
      if (status === 408) {
        answer(res, status, error, code, { Connection: 'close' })
        return
      }
      if (status === 503) busy(res, error)
      else answer(res, status, error, code)
      this.#discard(req)
    }
    const onData = (chunk: Buffer) => {
      received += chunk.length
      if (received > maxBodyBytes) {
        fail(413, 'body-too-large', `body is over ${maxBodyBytes} bytes`, 'too-large')
        return
      }
      if (received > reserved) {
        if (!this.requests.reserve(address, received - reserved)) {
          fail(503, 'request-budget', 'too many request bodies held; try again', 'busy')
          return
        }
        reserved = received
      }
      chunks.push(chunk)
      timer.refresh()
    }
    const onEnd = () => {
      stop()
      ;(req as ReadRequest).rawBody = Buffer.concat(chunks, received)
      chunks = []
      whenDone(res, release)
      next()
    }
    const onClose = () => {
      stop()
      chunks = []
      release()
      log.debug('request body aborted', { ip: address, path: pathOf(req), received })
    }
    const timer = setTimeout(
      () => fail(408, 'body-stalled', 'request body stalled', 'timeout'),
      stallTimeoutMs,
    )
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('close', onClose)
    // A reset connection destroys the request with an error; this keeps it a debug line.
    req.on('error', (err) => log.debug('request error', { ip: address, error: err.message }))
  }

  /** Destroys large answers whose socket took no byte for the stall timeout. */
  sweep(nowMs: number): void {
    for (const [res, flight] of this.#inFlight) {
      const socket = res.socket
      if (!socket || socket.destroyed) continue
      const pending = socket.writableLength
      const flushed = (socket.bytesWritten ?? 0) - pending
      if (pending === 0 || flushed !== flight.flushed) {
        flight.flushed = flushed
        flight.sinceMs = nowMs
      } else if (nowMs - flight.sinceMs >= this.#options.stallTimeoutMs) {
        this.#refuse('response-stalled', flight.address, { pending })
        socket.destroy()
      }
    }
  }

  close(): void {
    clearInterval(this.#timer)
  }

  /** `monsoon_http_buffered_bytes`: request bodies held and large answers in flight. */
  metrics(): MetricFamily[] {
    return [
      {
        name: 'monsoon_http_buffered_bytes',
        help: 'Bytes of request bodies held and of large answers in flight, counted by budget.',
        type: 'gauge',
        samples: [
          { labels: { kind: 'request' }, value: this.requests.total },
          { labels: { kind: 'response' }, value: this.responses.total },
        ],
      },
    ]
  }

  /** Counts a large answer of `bytes` for its address until it is done; false if it does not
   * fit (the caller answers 503 instead). */
  reserveResponse(res: ServerResponse, bytes: number): boolean {
    const address = this.addressOf(res.req)
    if (!this.responses.reserve(address, bytes)) {
      this.#refuse('response-budget', address, { path: pathOf(res.req), bytes })
      return false
    }
    this.#inFlight.set(res, { address, flushed: 0, sinceMs: Date.now() })
    whenDone(res, () => {
      this.#inFlight.delete(res)
      this.responses.release(address, bytes)
    })
    return true
  }

  /** Reads the rest of a refused body and drops it, so the client, still sending, gets to
   * read the answer (closing now would reset the connection under it); a body that stalls
   * meanwhile has its connection closed. Nothing is kept. */
  #discard(req: IncomingMessage): void {
    if (req.complete) return
    const timer = setTimeout(() => req.socket.destroy(), this.#options.stallTimeoutMs)
    const done = () => clearTimeout(timer)
    req.on('data', () => timer.refresh())
    req.once('end', done)
    req.once('close', done)
  }

  #refuse(reason: RefusalReason, address: string, fields: Record<string, unknown>): void {
    this.#options.refusals.refuse(reason, address, fields)
  }
}

/** Calls `done` once, when `res` is done or its connection closes: an answer queued behind
 * another on a connection that drops never emits its own 'close'. */
function whenDone(res: ServerResponse, done: () => void): void {
  const socket = res.req.socket
  if (!socket || socket.destroyed) {
    done()
    return
  }
  const once = () => {
    res.off('close', once)
    socket.off('close', once)
    done()
  }
  res.once('close', once)
  socket.once('close', once)
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0].slice(0, 200)
}

/** A short JSON error. */
function answer(
  res: ServerResponse,
  status: number,
  error: string,
  code: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ error, code })
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...headers,
  })
  res.end(body)
}

function busy(res: ServerResponse, error: string): void {
  answer(res, 503, error, 'busy', { 'Retry-After': String(BUFFER_RETRY_AFTER_SECONDS) })
}
