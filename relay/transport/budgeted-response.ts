// Answers through node's ServerResponse, subclassed through createServer's public
// `ServerResponse` option: one declaring LARGE_RESPONSE_BYTES or more is counted against the
// response budget from writeHead until it is done, and gets 503 with Retry-After instead when
// it does not fit, before a byte is sent; a body given whole to end() (as @hono/node-server
// writes every string or bytes body) is written in pieces of LARGE_RESPONSE_BYTES, each after
// the kernel took the last: backpressure, and progress the stall check can see.

import { ServerResponse } from 'node:http'
import { BUFFER_RETRY_AFTER_SECONDS, LARGE_RESPONSE_BYTES } from '../limits.ts'

/** What the answers ask of the budget (http-budget.ts). */
export interface ResponseBudget {
  /** Counts a large answer of `bytes` until it is done; false if it does not fit. */
  reserveResponse(res: ServerResponse, bytes: number): boolean
}

/** The Content-Length an answer declares, from writeHead's arguments or set headers. */
export function declaredLength(res: ServerResponse, headArgs: unknown[]): number {
  const headers = headArgs.find((a) => typeof a === 'object' && a !== null)
  if (headers && !Array.isArray(headers)) {
    for (const [name, value] of Object.entries(headers)) {
      if (name.length === 14 && name.toLowerCase() === 'content-length') return Number(value)
    }
  }
  const set = res.getHeader('content-length')
  return set === undefined ? 0 : Number(set)
}

const BUSY_BODY = JSON.stringify({ error: 'too many answers in flight; try again', code: 'busy' })

/** node's ServerResponse, with large answers budgeted and written with backpressure. */
export function budgetedResponse(budget: ResponseBudget): typeof ServerResponse {
  // node types the class as generic over the request type; this one serves IncomingMessage.
  return class BudgetedResponse extends ServerResponse {
    #large = false
    #refused = false

    override writeHead(statusCode: number, ...rest: unknown[]): this {
      if (!this.#large && !this.#refused) {
        const length = declaredLength(this, rest)
        if (length >= LARGE_RESPONSE_BYTES) {
          if (!budget.reserveResponse(this, length)) {
            this.#refused = true
            for (const name of this.getHeaderNames()) this.removeHeader(name)
            return super.writeHead(503, {
              'Content-Type': 'application/json',
              'Content-Length': Buffer.byteLength(BUSY_BODY),
              'Cache-Control': 'no-store',
              'Retry-After': String(BUFFER_RETRY_AFTER_SECONDS),
            })
          }
          this.#large = true
        }
      }
      return Reflect.apply(super.writeHead, this, [statusCode, ...rest]) as this
    }

    override write(...args: unknown[]): boolean {
      if (!this.#refused) return Reflect.apply(super.write, this, args) as boolean
      // The refused answer's own body is dropped; its writer is told to go on.
      const callback = args.find((a) => typeof a === 'function') as (() => void) | undefined
      callback?.()
      return true
    }

    override end(...args: unknown[]): this {
      const callback = args.find((a) => typeof a === 'function') as (() => void) | undefined
      if (this.#refused) return super.end(BUSY_BODY, callback)
      if (!this.#large) return Reflect.apply(super.end, this, args) as this
      const [chunk, encoding] = args
      const whole =
        typeof chunk === 'string'
          ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
          : chunk instanceof Uint8Array
            ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
            : undefined
      if (!whole || whole.length <= LARGE_RESPONSE_BYTES) {
        return Reflect.apply(super.end, this, args) as this
      }
      this.#pump(whole, 0, callback)
      return this
    }

    /** Writes `body` from `offset` a piece at a time, each after the socket drained. */
    #pump(body: Buffer, offset: number, callback: (() => void) | undefined): void {
      while (!this.destroyed) {
        const next = offset + LARGE_RESPONSE_BYTES
        if (next >= body.length) {
          super.end(body.subarray(offset), callback)
          return
        }
        const more = super.write(body.subarray(offset, next))
        offset = next
        if (!more) {
          this.once('drain', () => this.#pump(body, offset, callback))
          return
        }
      }
    }
  } as typeof ServerResponse
}
