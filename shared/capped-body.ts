// Reads a response body (or any byte stream) up to a byte cap, for the app and the relay
// alike: a declared Content-Length over the cap is refused before a byte is read, and the
// count is kept as chunks arrive, since a body may carry no length or a false one. Past the
// cap the rest is cancelled, so a hostile server costs at most `maxBytes` of memory.

export class BodyTooLargeError extends RangeError {
  override name = 'BodyTooLargeError'
  constructor(
    readonly maxBytes: number,
    /** The Content-Length the server declared, when that is what was over. */
    readonly declared?: number,
  ) {
    super(
      declared === undefined
        ? `answer is over ${maxBytes} bytes`
        : `answer of ${declared} bytes is over ${maxBytes}`,
    )
  }
}

/** The body of `source`, at most `maxBytes` of it; throws BodyTooLargeError past that. A
 * stream that fails midway rejects with its own error. */
export async function readCappedBody(
  source: Response | ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<Uint8Array> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError(`maxBytes must be a whole number of bytes, not ${maxBytes}`)
  }
  let stream = source
  // Not `instanceof Response`: @hono/node-server swaps the global Response for a class of
  // its own, of which fetch's answers are not instances.
  if (source && !isStream(source)) {
    const declared = Number(source.headers.get('content-length'))
    if (declared > maxBytes) {
      await source.body?.cancel()
      throw new BodyTooLargeError(maxBytes, declared)
    }
    stream = source.body
  }
  if (!stream) return new Uint8Array(0)
  const reader = (stream as ReadableStream<Uint8Array>).getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.length
    if (size > maxBytes) {
      await reader.cancel()
      throw new BodyTooLargeError(maxBytes)
    }
    chunks.push(value)
  }
  if (chunks.length === 1) return chunks[0]
  const out = new Uint8Array(size)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

function isStream(source: Response | ReadableStream<Uint8Array>): source is ReadableStream {
  return typeof (source as ReadableStream).getReader === 'function'
}

/** readCappedBody decoded as UTF-8 (malformed sequences become U+FFFD, as Response.text()). */
export async function readCappedText(
  source: Response | ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<string> {
  return new TextDecoder().decode(await readCappedBody(source, maxBytes))
}

export class HttpStatusError extends Error {
  override name = 'HttpStatusError'
  constructor(
    readonly status: number,
    url: string,
  ) {
    super(`HTTP ${status} from ${url}`)
  }
}

export interface CappedFetchOptions {
  maxBytes: number
  /** Gives up after this long (a TimeoutError); the caller's `signal` stops it too. */
  timeoutMs?: number
  signal?: AbortSignal
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: Uint8Array | string
  /** 'error' where a redirect could lead a server's request somewhere it must not go. */
  redirect?: RequestRedirect
  fetch?: typeof fetch
}

/** The body of a 2xx answer from `url`, read up to `maxBytes`; any other status throws
 * HttpStatusError with the body left unread. */
export async function fetchCapped(url: string, options: CappedFetchOptions): Promise<Uint8Array> {
  const { timeoutMs, signal } = options
  const timeout = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs)
  const res = await (options.fetch ?? fetch)(url, {
    method: options.method,
    headers: options.headers,
    body: options.body as BodyInit | undefined,
    redirect: options.redirect,
    signal: signal && timeout ? AbortSignal.any([signal, timeout]) : (signal ?? timeout),
  })
  if (!res.ok) {
    await res.body?.cancel()
    throw new HttpStatusError(res.status, url)
  }
  return readCappedBody(res, options.maxBytes)
}
