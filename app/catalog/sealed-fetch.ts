// The app's requests to relays on plain HTTP, sealed (ARCHITECTURE.md, "Transport and
// encryption"; shared/sealed/): an X25519 key made for this page session against the
// relay's node id, read once from its signed record (GET /v1/hello, the one call in clear),
// then every API request through its POST /v1/sealed. Over https: the request goes as it is.
// A server that gives no node id is not a relay of ours and is asked in clear; once a relay
// has given one it is never asked in clear again in this session.

import { ephemeralSession, SealedError, type SealedSession } from '../../shared/sealed/envelope.ts'
import { BoundedMap } from '../../shared/bounded-map.ts'
import { readCappedText } from '../../shared/capped-body.ts'
import { helloNodeId, sealedFetch } from '../../shared/sealed/client.ts'
import { INNER_CODING } from '../../shared/sealed/inner.ts'

/** Relays whose id was asked for in this session: more than any page talks to. */
const MAX_SESSIONS = 256
const random = (n: number) => crypto.getRandomValues(new Uint8Array(n))
const sessions = new BoundedMap<string, Promise<SealedSession | null>>({
  maxSize: MAX_SESSIONS,
  order: 'oldest',
})

/** A sealed answer whose body is still gzip, for its reader to inflate where it likes (a
 * sync page's, in a verify worker: catalog-verify-pool.ts). */
export interface GzipAnswer {
  status: number
  headers: Headers
  gzip: Uint8Array
}

/** fetch() for relay API URLs, sealed over plain HTTP. Same answers, same errors. */
export async function relayFetch(
  url: string,
  init: RequestInit & { signal: AbortSignal; maxBytes: number },
): Promise<Response> {
  const answer = await relayFetchGzip(url, init)
  return answer instanceof Response ? answer : inflatedResponse(answer)
}

/** A gzip answer as the Response relayFetch gives: inflated as it is read, so the caller's
 * cap on what it reads bounds the inflated bytes too. */
export function inflatedResponse(answer: GzipAnswer): Response {
  return new Response(inflating(answer.gzip), { status: answer.status, headers: answer.headers })
}

/** relayFetch, but a sealed answer in gzip comes as its bytes, not inflated. */
export async function relayFetchGzip(
  url: string,
  init: RequestInit & { signal: AbortSignal; maxBytes: number },
): Promise<Response | GzipAnswer> {
  const { origin, protocol, pathname, search } = new URL(url)
  const body = init.body
  if (protocol !== 'http:' || (body !== undefined && body !== null && typeof body !== 'string')) {
    return fetch(url, init)
  }
  let session = await sessionFor(origin, init.signal)
  if (!session) return fetch(url, init)
  const inner = {
    method: init.method === 'POST' ? ('POST' as const) : ('GET' as const),
    path: pathname + search,
    contentType: new Headers(init.headers).get('content-type') ?? undefined,
    acceptEncoding: INNER_CODING,
    body: new TextEncoder().encode(body ?? ''),
  }
  const options = { maxBytes: init.maxBytes, signal: init.signal }
  let answer
  try {
    answer = await sealedFetch(origin, session, inner, options)
  } catch (err) {
    // Unreachable: it may come back as another node (a new key, or another relay on its
    // port), so its id is asked again first rather than answered with a 421 (which the
    // browser logs as an error).
    if (!(err instanceof SealedError) && !init.signal.aborted) forgetSession(origin, session)
    if (!(err instanceof SealedError) || err.code !== 'wrong-receiver') throw err
    // The relay has another key now: ask its id again, once.
    sessions.delete(origin)
    session = await sessionFor(origin, init.signal)
    if (!session) throw err
    answer = await sealedFetch(origin, session, inner, options)
  }
  const headers = new Headers()
  if (answer.contentType) headers.set('content-type', answer.contentType)
  if (answer.retryAfter) headers.set('retry-after', answer.retryAfter)
  if (answer.contentEncoding) return { status: answer.status, headers, gzip: answer.body }
  return new Response(answer.body as BodyInit, { status: answer.status, headers })
}

/** gzip bytes inflated as they are read. Streamed from a Response of them, not a Blob: a
 * Blob's stream is read back from the browser's blob registry through another process,
 * which put 6–10 ms on every 1,000-listing page (Chromium 156: 20–27 ms a page inflated,
 * decoded and parsed through a Blob, 15–20 through a Response). */
function inflating(gzip: Uint8Array): ReadableStream<Uint8Array> {
  return new Response(gzip as BodyInit).body!.pipeThrough(new DecompressionStream('gzip'))
}

/** gzip bytes inflated and read as UTF-8, at most `maxBytes` of them inflated
 * (BodyTooLargeError past that: a small answer can inflate a thousandfold). */
export function inflateText(gzip: Uint8Array, maxBytes: number): Promise<string> {
  return readCappedText(inflating(gzip), maxBytes)
}

/** Drops the origin's session if it is still `session` (not a newer one asked meanwhile). */
function forgetSession(origin: string, session: SealedSession): void {
  void sessions.get(origin)?.then(
    (kept) => kept === session && sessions.delete(origin),
    () => {}, // a failed hello is dropped by sessionFor
  )
}

function sessionFor(origin: string, signal: AbortSignal): Promise<SealedSession | null> {
  let session = sessions.get(origin)
  if (!session) {
    session = helloId(origin, signal).then((id) => (id ? ephemeralSession(id, random) : null))
    // A failure is not remembered: the next request asks again.
    session.catch(() => sessions.delete(origin))
    sessions.set(origin, session)
  }
  return session
}

/** The relay's node id from its signed record; null when it answers without one. */
async function helloId(origin: string, signal: AbortSignal): Promise<string | null> {
  return helloNodeId(await fetch(`${origin}/v1/hello`, { signal }))
}
