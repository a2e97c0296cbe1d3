// What travels inside a sealed envelope (envelope.ts) through a relay's POST /v1/sealed: an
// HTTP request or response reduced to what the API needs. One line of JSON (the head), a
// newline, then the body's bytes as they are (no JSON escaping of a 4 MiB catalog page):
//   request head  {"m": "GET" | "POST", "p": "/v1/…?…", "t"?: content type, "e"?: "gzip"}
//   response head {"s": status, "t"?: content type, "r"?: Retry-After seconds, "e"?: "gzip"}
// "e" in a request says the sender can take a gzip body (Accept-Encoding), and in a response
// that the body is gzip (Content-Encoding): a catalog page is a quarter of its size in gzip,
// and the relay keeps its pages encoded already. gzip only: every browser's
// DecompressionStream has it. A relay that predates "e" ignores it and answers in clear.

import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { SealedError } from './envelope.ts'

export interface InnerRequest {
  method: 'GET' | 'POST'
  /** Path and query, starting with "/". */
  path: string
  contentType?: string
  /** The sender takes a gzip body. */
  acceptEncoding?: InnerCoding
  body: Uint8Array
}

export interface InnerResponse {
  status: number
  contentType?: string
  retryAfter?: string
  /** The body is gzip. */
  contentEncoding?: InnerCoding
  body: Uint8Array
}

/** The one content coding the tunnel carries. */
export type InnerCoding = 'gzip'
export const INNER_CODING: InnerCoding = 'gzip'

/** A head longer than this is not one of ours (a path is at most a few KiB). */
const MAX_HEAD_BYTES = 16 * 1024
const NEWLINE = 0x0a
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeInnerRequest(req: InnerRequest): Uint8Array {
  const head: Record<string, string> = { m: req.method, p: req.path }
  if (req.contentType) head.t = req.contentType
  if (req.acceptEncoding) head.e = req.acceptEncoding
  return join(head, req.body)
}

export function encodeInnerResponse(res: InnerResponse): Uint8Array {
  return concatBytes(...innerResponseParts(res))
}

/** encodeInnerResponse's bytes as its head line and its body, unjoined: sealResponse seals
 * the parts where it came, so a relay does not copy a whole catalog page to join them. */
export function innerResponseParts(res: InnerResponse): [head: Uint8Array, body: Uint8Array] {
  const head: Record<string, string | number> = { s: res.status }
  if (res.contentType) head.t = res.contentType
  if (res.retryAfter) head.r = res.retryAfter
  if (res.contentEncoding) head.e = res.contentEncoding
  return [utf8ToBytes(JSON.stringify(head) + '\n'), res.body]
}

export function decodeInnerRequest(bytes: Uint8Array): InnerRequest {
  const { head, body } = split(bytes)
  const { m, p, t, e } = head
  if (m !== 'GET' && m !== 'POST') throw malformed('method must be GET or POST')
  if (typeof p !== 'string' || !p.startsWith('/') || p.startsWith('//')) {
    throw malformed('path must start with one "/"')
  }
  if (t !== undefined && typeof t !== 'string') throw malformed('content type must be a string')
  // A coding this side does not know is one it cannot send: answered in clear.
  const acceptEncoding = e === INNER_CODING ? INNER_CODING : undefined
  return { method: m, path: p, contentType: t, acceptEncoding, body }
}

export function decodeInnerResponse(bytes: Uint8Array): InnerResponse {
  const { head, body } = split(bytes)
  const { s, t, r, e } = head
  if (typeof s !== 'number' || !Number.isInteger(s) || s < 100 || s > 599) {
    throw malformed('status must be an HTTP status')
  }
  if (t !== undefined && typeof t !== 'string') throw malformed('content type must be a string')
  if (r !== undefined && typeof r !== 'string') throw malformed('retry-after must be a string')
  if (e !== undefined && e !== INNER_CODING) throw malformed('content coding must be gzip')
  return { status: s, contentType: t, retryAfter: r, contentEncoding: e, body }
}

function join(head: object, body: Uint8Array): Uint8Array {
  return concatBytes(utf8ToBytes(JSON.stringify(head)), Uint8Array.of(NEWLINE), body)
}

function split(bytes: Uint8Array): { head: Record<string, unknown>; body: Uint8Array } {
  const end = bytes.subarray(0, MAX_HEAD_BYTES + 1).indexOf(NEWLINE)
  if (end < 0) throw malformed('no head line')
  let head: unknown
  try {
    head = JSON.parse(decoder.decode(bytes.subarray(0, end)))
  } catch {
    throw malformed('head is not JSON')
  }
  if (typeof head !== 'object' || head === null || Array.isArray(head)) {
    throw malformed('head must be an object')
  }
  return { head: head as Record<string, unknown>, body: bytes.subarray(end + 1) }
}

function malformed(message: string): SealedError {
  return new SealedError('malformed', `sealed message: ${message}`)
}
