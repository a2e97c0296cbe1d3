// What every JSON POST of the relay's API shares: a byte cap checked before the body is
// read, one record or a `{"<key>": [...]}` batch with a count cap, and the client address
// the request counts against for quotas.

import type { Context, MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { getConnInfo } from '@hono/node-server/conninfo'
import { clientIp } from './tracker/tracker.ts'

/** Refuses bodies over `maxBytes` with 413, with or without a Content-Length. */
export function jsonBodyLimit(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => c.json({ error: `body is over ${maxBytes} bytes`, code: 'too-large' }, 413),
  })
}

export interface PostedBatch {
  values: unknown[]
  /** Sent as `{"<key>": [...]}` (answered per item) rather than as one record. */
  batch: boolean
}

/**
 * Reads one record or a batch `{"<key>": [...]}` (that key alone) of at most `maxItems`.
 * Returns the values, or the 400/413 answer to send.
 */
export async function readPostedBatch(
  c: Context,
  key: string,
  maxItems: number,
  noun: string,
): Promise<PostedBatch | Response> {
  let body: unknown
  try {
    body = JSON.parse(await c.req.text())
  } catch {
    return c.json({ error: 'body is not JSON', code: 'malformed' }, 400)
  }
  const items = (body as Record<string, unknown> | null)?.[key]
  const batch =
    typeof body === 'object' &&
    body !== null &&
    Array.isArray(items) &&
    Object.keys(body).length === 1
  const values = batch ? (items as unknown[]) : [body]
  if (values.length > maxItems) {
    return c.json({ error: `at most ${maxItems} ${noun} in one request`, code: 'too-large' }, 413)
  }
  return { values, batch }
}

/** The address a request counts against: the socket's, or the proxy's word with trustProxy. */
export function requestAddress(c: Context, trustProxy: boolean): string {
  let remote = ''
  try {
    remote = getConnInfo(c).remote.address ?? ''
  } catch {
    // Not behind node:http (tests with app.request): no address.
  }
  return clientIp(remote, c.req.header('x-forwarded-for'), trustProxy)
}
