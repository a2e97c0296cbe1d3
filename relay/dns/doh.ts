// DNS-over-HTTPS (RFC 8484) on the relay's one port: GET /dns-query?dns=<base64url> (§4.1,
// RFC 4648 §5 alphabet, no padding) and POST /dns-query with a body of Content-Type
// application/dns-message. Every DNS outcome, NXDOMAIN and REFUSED included, is HTTP 200
// with an application/dns-message body; Cache-Control max-age is the smallest TTL in the
// answer, or the SOA MINIMUM of a negative one (§5.1). What is not a DNS query at all gets
// an HTTP error with a short text body: 400 (no or bad `dns`, not a DNS query), 413 (over
// MAX_DNS_QUERY_BYTES), 415 (another content type). Read-only and credential-free, so any
// origin may use it (CORS), as the app does when it resolves through another relay.

import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { cors } from 'hono/cors'
import { MAX_DNS_QUERY_BYTES } from '../limits.ts'
import { respond } from './message.ts'
import type { Zone } from './zone.ts'

export const DNS_MESSAGE_TYPE = 'application/dns-message'
/** Longest `dns` parameter: MAX_DNS_QUERY_BYTES in base64url. */
const MAX_DNS_PARAM_CHARS = Math.ceil((MAX_DNS_QUERY_BYTES * 4) / 3)
const BASE64URL = /^[A-Za-z0-9_-]+$/

export interface DohDeps {
  /** The zone as it stands now (rebuilt from the live supernodes). */
  zone: () => Zone
}

export function dohRoutes({ zone }: DohDeps): Hono {
  const app = new Hono()
  app.use(
    '/dns-query',
    cors({ origin: '*', allowMethods: ['GET', 'POST'], allowHeaders: ['Content-Type'] }),
  )

  app.get('/dns-query', (c) => {
    const param = c.req.query('dns')
    if (param === undefined) return problem(c, 400, 'missing the dns parameter (RFC 8484 §4.1)')
    if (param.length > MAX_DNS_PARAM_CHARS) {
      return problem(c, 413, `query is over ${MAX_DNS_QUERY_BYTES} bytes`)
    }
    if (!BASE64URL.test(param)) {
      return problem(c, 400, 'dns parameter is not base64url without padding (RFC 4648 §5)')
    }
    return answer(c, Buffer.from(param, 'base64url'), zone())
  })

  app.post(
    '/dns-query',
    bodyLimit({
      maxSize: MAX_DNS_QUERY_BYTES,
      onError: (c) => problem(c, 413, `query is over ${MAX_DNS_QUERY_BYTES} bytes`),
    }),
    async (c) => {
      const type = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase()
      if (type !== DNS_MESSAGE_TYPE) {
        return problem(c, 415, `Content-Type must be ${DNS_MESSAGE_TYPE}`)
      }
      return answer(c, new Uint8Array(await c.req.arrayBuffer()), zone())
    },
  )
  return app
}

function answer(c: Context, query: Uint8Array, zone: Zone): Response {
  const response = respond(query, zone, 'https')
  if (!response) return problem(c, 400, 'not a DNS query')
  c.header('Content-Type', DNS_MESSAGE_TYPE)
  c.header('Cache-Control', `max-age=${response.minTtl}`)
  return c.body(new Uint8Array(response.bytes), 200)
}

function problem(c: Context, status: 400 | 413 | 415, message: string): Response {
  c.header('Cache-Control', 'no-store')
  return c.text(`${message}\n`, status)
}
