// DNS-over-HTTPS (RFC 8484) on the relay's one port: GET /dns-query?dns=<base64url> (§4.1,
// RFC 4648 §5 alphabet, no padding) and POST /dns-query with a body of Content-Type
// application/dns-message. Every DNS outcome, NXDOMAIN and REFUSED included, is HTTP 200
// with an application/dns-message body; Cache-Control max-age is the smallest TTL in the
// answer, or the SOA MINIMUM of a negative one (§5.1). What is not a DNS query at all gets
// an HTTP error with a short text body: 400 (no or bad `dns`, not a DNS query), 405, 413
// (over MAX_DNS_QUERY_BYTES), 415 (another content type). Read-only and credential-free, so
// any origin may use it (CORS), as the app does when it resolves through another relay.
//
// A plain node:http handler, like the tracker's hot path (server.ts): it also serves
// HTTP/2 through node:http2's compatible request and response (h2c.ts), and skips building
// a fetch Request per query, which cost more than the query itself (bench/dns).

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import { MAX_DNS_QUERY_BYTES } from '../limits.ts'
import { AnswerCache } from './answer-cache.ts'
import type { DnsResponse } from './message.ts'
import type { Zone } from './zone.ts'

export const DNS_MESSAGE_TYPE = 'application/dns-message'
export const DOH_PATH = '/dns-query'
/** Longest `dns` parameter: MAX_DNS_QUERY_BYTES in base64url. */
const MAX_DNS_PARAM_CHARS = Math.ceil((MAX_DNS_QUERY_BYTES * 4) / 3)
const BASE64URL = /^[A-Za-z0-9_-]+$/
const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST',
  'Access-Control-Allow-Headers': 'Content-Type',
  'Access-Control-Max-Age': '86400',
}

type Request = IncomingMessage | Http2ServerRequest
type Response = ServerResponse | Http2ServerResponse

/** Whether a request path (with its query) is DoH's. */
export function isDohPath(url: string): boolean {
  return url === DOH_PATH || url.startsWith(`${DOH_PATH}?`)
}

/** A handler for requests to DOH_PATH, answering from `zone()`. */
export function dohHandler(zone: () => Zone): (req: Request, res: Response) => void {
  const cache = new AnswerCache()
  return (req, res) => {
    if (req.method === 'OPTIONS') return send(res, 204, CORS)
    if (req.method === 'GET' || req.method === 'HEAD') {
      const query = new URL(req.url ?? '/', 'http://x').searchParams.get('dns')
      if (query === null) return problem(res, 400, 'missing the dns parameter (RFC 8484 §4.1)')
      if (query.length > MAX_DNS_PARAM_CHARS) {
        return problem(res, 413, `query is over ${MAX_DNS_QUERY_BYTES} bytes`)
      }
      if (!BASE64URL.test(query)) {
        return problem(res, 400, 'dns parameter is not base64url without padding (RFC 4648 §5)')
      }
      return answer(res, cache.respond(Buffer.from(query, 'base64url'), zone(), 'https'))
    }
    if (req.method !== 'POST') return problem(res, 405, 'DoH takes GET or POST')
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
    if (type !== DNS_MESSAGE_TYPE) {
      return problem(res, 415, `Content-Type must be ${DNS_MESSAGE_TYPE}`)
    }
    readBody(req, (body) => {
      if (!body) return problem(res, 413, `query is over ${MAX_DNS_QUERY_BYTES} bytes`)
      answer(res, cache.respond(body, zone(), 'https'))
    })
  }
}

/** /dns-query on a relay that serves no zone: a clear 404 rather than the app's page. */
export function noZoneHandler(_req: Request, res: Response): void {
  problem(res, 404, 'this relay answers no DNS zone (it runs without --dns-zone)')
}

/** Reads a POST body up to MAX_DNS_QUERY_BYTES; null past it (the rest is not read). */
function readBody(req: Request, done: (body: Buffer | null) => void): void {
  if (Number(req.headers['content-length']) > MAX_DNS_QUERY_BYTES) return done(null)
  const chunks: Buffer[] = []
  let size = 0
  let over = false
  req.on('data', (chunk: Buffer) => {
    if (over) return
    size += chunk.length
    if (size > MAX_DNS_QUERY_BYTES) {
      over = true
      done(null)
      // The rest of the body is not wanted: drop the connection (or HTTP/2 stream) once
      // the 413 is out, instead of reading on.
      req.destroy()
      return
    }
    chunks.push(chunk)
  })
  req.on('end', () => {
    if (!over) done(Buffer.concat(chunks))
  })
  req.on('error', () => undefined)
}

function answer(res: Response, response: DnsResponse | null): void {
  if (!response) return problem(res, 400, 'not a DNS query')
  send(
    res,
    200,
    {
      'Content-Type': DNS_MESSAGE_TYPE,
      'Cache-Control': `max-age=${response.minTtl}`,
      'Access-Control-Allow-Origin': '*',
    },
    response.bytes,
  )
}

function problem(res: Response, status: number, message: string): void {
  const headers = {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    'Access-Control-Allow-Origin': '*',
  }
  send(res, status, headers, Buffer.from(`${message}\n`))
}

function send(res: Response, status: number, headers: Record<string, string>, body?: Buffer) {
  const all = body ? { ...headers, 'Content-Length': String(body.length) } : headers
  // Both node:http and node:http2's compatibility response take this call.
  ;(res as ServerResponse).writeHead(status, all)
  ;(res as ServerResponse).end(body)
}
