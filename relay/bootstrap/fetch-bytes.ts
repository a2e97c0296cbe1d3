// One bounded GET for the bootstrap: a timeout (and the caller's stop signal), a byte cap on
// the body, an error for any non-2xx answer. peer-fetch.ts does the same for JSON between
// relays; the bootstrap also reads DNS messages, hence bytes.

export interface FetchBytesOptions {
  timeoutMs: number
  maxBytes: number
  signal?: AbortSignal
  headers?: Record<string, string>
}

export async function fetchBytes(url: string, options: FetchBytesOptions): Promise<Uint8Array> {
  const timeout = AbortSignal.timeout(options.timeoutMs)
  const res = await fetch(url, {
    headers: options.headers,
    signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
    redirect: 'error',
  })
  if (!res.ok) {
    await res.body?.cancel()
    throw new Error(`HTTP ${res.status} from ${url}`)
  }
  if (Number(res.headers.get('content-length')) > options.maxBytes) {
    await res.body?.cancel()
    throw new Error(`${url}: answer is over ${options.maxBytes} bytes`)
  }
  const chunks: Uint8Array[] = []
  let size = 0
  if (res.body) {
    const reader = res.body.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.length
      if (size > options.maxBytes) {
        await reader.cancel()
        throw new Error(`${url}: answer is over ${options.maxBytes} bytes`)
      }
      chunks.push(value)
    }
  }
  return Buffer.concat(chunks)
}
