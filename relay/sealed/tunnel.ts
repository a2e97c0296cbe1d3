// POST /v1/sealed: the receiver's side of sealed messages (shared/sealed/envelope.ts). The
// body is one sealed inner request {method, path and query, body}; it is opened, checked
// (addressed to this relay, fresh, never seen), dispatched to this relay's own API in
// process, and the answer is sealed back under the same key. Over plain HTTP an observer
// sees a POST of random-looking bytes and an answer of the same, both to /v1/sealed.
//
// Order of checks: shape, receiver, tag, clock, nonce. The nonce is remembered only once the
// tag has checked, so a forger cannot fill the cache (as node-message.ts does). A sender's
// key is derived within the sending address's budget of new sessions (session-budget.ts),
// and kept only once its envelope opened: junk neither costs others nor evicts their keys.
//
// Through the tunnel go the API's paths (/v1/…, /health) and nothing else: not the app's
// pages, not the tunnel itself. A POST inside is refused when the outer request comes from
// another origin's page (browsers send Origin): the API's writes stay same-origin.

import { randomBytes as nodeRandomBytes } from 'node:crypto'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { cors } from 'hono/cors'
import { BoundedMap } from '../../shared/bounded-map.ts'
import { readCappedBody } from '../../shared/capped-body.ts'
import type { NodeIdentity } from '../../shared/identity.ts'
import {
  SealedError,
  openRequest,
  parseRequest,
  receiverKey,
  sealResponse,
  type Aead,
  type SealedErrorCode,
  type SealedRequest,
} from '../../shared/sealed/envelope.ts'
import { SEALED_PATH } from '../../shared/sealed/client.ts'
import {
  decodeInnerRequest,
  innerResponseParts,
  type InnerCoding,
} from '../../shared/sealed/inner.ts'
import {
  MAX_REPLAY_NONCES,
  MAX_SEALED_REQUEST_BYTES,
  MAX_SEALED_SESSIONS,
  MESSAGE_WINDOW_SECONDS,
} from '../limits.ts'
import { requestAddress } from '../post-body.ts'
import { NodeMessageError, ReplayGuard } from '../supernode/node-message.ts'
import { addressKey } from '../tracker/holdings.ts'
import { relayAead, relayX25519 } from './native-crypto.ts'
import { SealedSessionBudget } from './session-budget.ts'

export interface SealedTunnelDeps {
  identity: NodeIdentity
  /** This relay's API (the Hono app's fetch): inner requests are answered by it. */
  dispatch: (req: Request, env: unknown) => Response | Promise<Response>
  nowSeconds?: () => number
  randomBytes?: (n: number) => Uint8Array
  maxSessions?: number
  maxNonces?: number
  /** New sender keys derived, per address and in all (session-budget.ts): the relay's
   * one budget, shared with sealed tracker sockets. */
  budget?: SealedSessionBudget
  /** Without a budget: new sender keys per second, per address and in all (tests). */
  newSessionsPerSecond?: number
  /** Take the client address from X-Forwarded-For (--trust-proxy). */
  trustProxy?: boolean
  /** XChaCha20-Poly1305 implementation (default: OpenSSL's, native-crypto.ts). */
  aead?: Aead
}

export const SEALED_STATUS: Record<SealedErrorCode, 400 | 403 | 409 | 413 | 421 | 503> = {
  malformed: 400,
  truncated: 400,
  'unsupported-version': 400,
  unauthentic: 400,
  stale: 400,
  'too-large': 413,
  // RFC 9110 §15.5.20: sealed to another node; the sender fetches this relay's id again.
  'wrong-receiver': 421,
  replayed: 409,
  busy: 503,
  forbidden: 403,
}

export function sealedTunnel(deps: SealedTunnelDeps): Hono {
  const { identity, dispatch } = deps
  const now = deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000))
  const random = deps.randomBytes ?? ((n: number) => new Uint8Array(nodeRandomBytes(n)))
  const replay = new ReplayGuard(deps.maxNonces ?? MAX_REPLAY_NONCES)
  const maxSessions = deps.maxSessions ?? MAX_SEALED_SESSIONS
  const rate = deps.newSessionsPerSecond
  const budget =
    deps.budget ??
    new SealedSessionBudget(
      undefined,
      rate ? { perSecond: rate, perAddressPerSecond: rate, perAddressBurst: rate } : {},
    )
  const aead = deps.aead ?? relayAead
  /** Keys by kind and sender. */
  const keys = new BoundedMap<string, Uint8Array>({ maxSize: maxSessions, order: 'lru' })
  /** The request's plaintext and key; a new sender's key is kept only once it opened. */
  const open = (req: SealedRequest, address: string) => {
    const id = `${req.kind}:${req.senderHex}`
    const known = keys.get(id)
    if (known) {
      const plaintext = openRequest(req, known, aead)
      return { plaintext, key: known }
    }
    // Each new sender costs an X25519 (and, for a node id, a point conversion): bounded per
    // address and in all, so a flood of fresh keys cannot take the CPU; known senders are
    // not affected.
    budget.take(address)
    const key = receiverKey(identity.secretKey, identity.id, req, relayX25519)
    let plaintext: Uint8Array
    try {
      plaintext = openRequest(req, key, aead)
    } catch (err) {
      budget.junk(address)
      throw err
    }
    keys.set(id, key)
    return { plaintext, key }
  }

  const app = new Hono()
  // Another relay's page may read through the tunnel, as it reads the API (api.ts).
  app.use(SEALED_PATH, cors({ origin: '*', allowMethods: ['POST'], maxAge: 86400 }))
  app.post(
    SEALED_PATH,
    bodyLimit({
      maxSize: MAX_SEALED_REQUEST_BYTES,
      onError: (c) => c.json(refusal(new SealedError('too-large', tooLarge())), 413),
    }),
    async (c) => {
      try {
        const req = parseRequest(
          new Uint8Array(await c.req.arrayBuffer()),
          MAX_SEALED_REQUEST_BYTES,
        )
        if (req.to !== identity.id) {
          throw new SealedError(
            'wrong-receiver',
            `sealed to node ${req.to.slice(0, 16)}…, not this relay: read its id from GET /health`,
          )
        }
        const address = addressKey(requestAddress(c, deps.trustProxy ?? false))
        const { plaintext, key } = open(req, address)
        const nowSeconds = now()
        if (Math.abs(req.ts - nowSeconds) > MESSAGE_WINDOW_SECONDS) {
          throw new SealedError('stale', `sealed more than ${MESSAGE_WINDOW_SECONDS} s from now`)
        }
        checkReplay(replay, req, nowSeconds)
        const inner = decodeInnerRequest(plaintext)
        // Checked as it will be routed: "/v1/../x" and "%2e%2e" resolve before the check.
        const target = new URL(inner.path, c.req.url)
        const path = target.pathname
        if (!(path === '/health' || path.startsWith('/v1/')) || path === SEALED_PATH) {
          throw new SealedError('forbidden', `${path} is not part of the API`)
        }
        const origin = c.req.header('origin')
        if (inner.method !== 'GET' && origin && !sameHost(origin, c.req.url)) {
          throw new SealedError('forbidden', 'writes are taken from this relay’s own pages only')
        }
        const headers = new Headers()
        if (inner.contentType) headers.set('content-type', inner.contentType)
        if (inner.acceptEncoding) headers.set('accept-encoding', inner.acceptEncoding)
        const forwarded = c.req.header('x-forwarded-for')
        if (forwarded) headers.set('x-forwarded-for', forwarded)
        const answer = await dispatch(
          new Request(target, {
            method: inner.method,
            headers,
            body: inner.method === 'GET' ? undefined : (inner.body as BufferSource),
          }),
          c.env,
        )
        // Its chunks as they are (one, for a page): arrayBuffer() joined them into a copy of
        // every page sealed (issue 23). The API's own answers are bounded by its routes.
        const body = await readCappedBody(answer, Number.MAX_SAFE_INTEGER)
        const sealed = sealResponse(
          key,
          req.nonce,
          innerResponseParts({
            status: answer.status,
            contentType: answer.headers.get('content-type') ?? undefined,
            retryAfter: answer.headers.get('retry-after') ?? undefined,
            // Only what the sender said it takes (the dispatch saw its Accept-Encoding alone).
            contentEncoding: answerCoding(answer, inner.acceptEncoding),
            body,
          }),
          now(),
          random,
          aead,
        )
        c.header('Cache-Control', 'no-store')
        return c.body(sealed as Uint8Array<ArrayBuffer>, 200, {
          'Content-Type': 'application/octet-stream',
        })
      } catch (err) {
        if (!(err instanceof SealedError)) throw err
        return c.json(refusal(err), SEALED_STATUS[err.code])
      }
    },
  )
  return app
}

/** The inner coding of `answer`'s body: gzip when the API answered in gzip to a request that
 * takes it; anything else is a route answering in a coding it was not asked for, refused. */
function answerCoding(
  answer: Response,
  accepted: InnerCoding | undefined,
): InnerCoding | undefined {
  const coding = answer.headers.get('content-encoding')
  if (!coding || coding === 'identity') return undefined
  if (coding === accepted) return accepted
  throw new Error(`the API answered in ${coding}, which the sealed request did not take`)
}

function checkReplay(replay: ReplayGuard, req: SealedRequest, nowSeconds: number): void {
  let nonce = ''
  for (const byte of req.nonce) nonce += byte.toString(16).padStart(2, '0')
  try {
    replay.check(`${req.kind}:${req.senderHex}:${nonce}`, req.ts, nowSeconds)
  } catch (err) {
    if (!(err instanceof NodeMessageError)) throw err
    if (err.code === 'replayed') throw new SealedError('replayed', 'sealed message was seen before')
    throw new SealedError('busy', 'too many sealed messages in flight; retry later')
  }
}

function refusal(err: SealedError): { error: string; code: SealedErrorCode } {
  return { error: err.message, code: err.code }
}

function tooLarge(): string {
  return `sealed message is over ${MAX_SEALED_REQUEST_BYTES} bytes`
}

function sameHost(origin: string, url: string): boolean {
  try {
    return new URL(origin).host === new URL(url).host
  } catch {
    return false
  }
}
