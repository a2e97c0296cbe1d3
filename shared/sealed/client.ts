// The sender's side of a relay's sealed tunnel (POST /v1/sealed), for relays and the app
// alike: seals one inner request to the relay at `origin`, posts it, opens the answer and
// checks it is fresh. The caller decides when to seal (plain http: and a known node id).

import { SealedError, openResponse, sealRequest, type Aead, type RandomBytes } from './envelope.ts'
import type { SealedSession } from './envelope.ts'
import {
  decodeInnerResponse,
  encodeInnerRequest,
  type InnerRequest,
  type InnerResponse,
} from './inner.ts'
import { RESPONSE_OVERHEAD } from './envelope.ts'
import { BodyTooLargeError, readCappedBody, readCappedText } from '../capped-body.ts'

export const SEALED_PATH = '/v1/sealed'
/** text/plain keeps a browser's cross-origin POST "simple" (no CORS preflight). */
export const SEALED_CONTENT_TYPE = 'text/plain'
/** How far a response's clock may be from ours (seconds); as for node messages. */
export const SEALED_WINDOW_SECONDS = 60

export interface SealedFetchOptions {
  /** The most response bytes read (the inner body's cap plus the envelope). */
  maxBytes: number
  signal?: AbortSignal
  nowSeconds?: () => number
  randomBytes?: RandomBytes
  fetch?: typeof fetch
  aead?: Aead
}

const defaultRandom: RandomBytes = (n) => crypto.getRandomValues(new Uint8Array(n))
const defaultNow = () => Math.floor(Date.now() / 1000)

/** Sends `inner` sealed to the relay at `origin`; throws SealedError if the tunnel refuses it
 * or the answer does not open. An inner status other than 2xx is returned, not thrown. */
export async function sealedFetch(
  origin: string,
  session: SealedSession,
  inner: InnerRequest,
  options: SealedFetchOptions,
): Promise<InnerResponse> {
  const random = options.randomBytes ?? defaultRandom
  const now = options.nowSeconds ?? defaultNow
  const envelope = sealRequest(session, encodeInnerRequest(inner), now(), random, options.aead)
  const res = await (options.fetch ?? fetch)(`${origin}${SEALED_PATH}`, {
    method: 'POST',
    headers: { 'Content-Type': SEALED_CONTENT_TYPE },
    body: envelope as BufferSource,
    signal: options.signal,
  })
  const bytes = await readCappedBody(res, options.maxBytes + RESPONSE_OVERHEAD + 1024).catch(
    (err: unknown) => {
      if (!(err instanceof BodyTooLargeError)) throw err
      throw new SealedError('too-large', err.message)
    },
  )
  if (!res.ok) {
    let refusal: { error?: unknown; code?: unknown } = {}
    try {
      refusal = JSON.parse(new TextDecoder().decode(bytes)) as typeof refusal
    } catch {
      // Not ours: a proxy's page, or a relay without the tunnel.
    }
    const code = typeof refusal.code === 'string' ? refusal.code : 'malformed'
    const error = typeof refusal.error === 'string' ? refusal.error : `HTTP ${res.status}`
    throw new SealedError(code as SealedError['code'], `${origin} refused: ${error}`, res.status)
  }
  const nonce = envelope.subarray(70, 94)
  const { plaintext, ts } = openResponse(session.key, nonce, bytes, options.aead)
  if (Math.abs(ts - now()) > SEALED_WINDOW_SECONDS) {
    throw new SealedError('stale', `response is more than ${SEALED_WINDOW_SECONDS} s off`)
  }
  return decodeInnerResponse(plaintext)
}

/** A relay's hello (its signed record) is ~1.3 KiB; anything much bigger is not one. */
const MAX_HELLO_BYTES = 16 * 1024
const HEX64 = /^[0-9a-f]{64}$/

/** The node id in an answer to GET /v1/hello, which a sealed session is made against; null
 * when the answer is not a relay's hello (an error status, not JSON, too large, no id). */
export async function helloNodeId(res: Response): Promise<string | null> {
  let id: unknown
  try {
    id = (JSON.parse(await readCappedText(res, MAX_HELLO_BYTES)) as { id?: unknown } | null)?.id
  } catch (err) {
    if (err instanceof SyntaxError || err instanceof BodyTooLargeError) return null
    throw err
  }
  return res.ok && typeof id === 'string' && HEX64.test(id) ? id : null
}
