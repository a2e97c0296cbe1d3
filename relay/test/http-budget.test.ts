// Connections and HTTP memory against one source (issue 20, findings 2 and 3 and the smaller
// ones), on real relay processes; attackers come from 127.0.0.0/8 aliases, honest clients
// from other addresses. Before: 300 slow readers of a 5.9 MB catalog page took RSS from
// 218 MB to 1,975 MB and /health down; 600 held sealed bodies 3.2 GB; 4,296 half-sent
// requests from one address stopped /health; every aborted POST printed a stack trace.

import { Agent, request } from 'node:http'
import { connect, type Socket } from 'node:net'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { FastSigner, sampleDraft } from '../catalog/test-support.ts'
import { MAX_REQUEST_BODY_BYTES, MAX_REQUEST_BUFFER_BYTES } from '../limits.ts'
import { removeTempDirs, waitFor } from './catalog-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { requestFrom } from './from-address.ts'
import { metricValue, refusalsFor } from './relay-metrics.ts'

/** RSS the relay may grow by through an attack: the 64 MiB buffer of large answers (or of
 * request bodies), the page being built and the garbage collector's slack. Before the
 * budgets, the same attacks grew it by over 1 GB. */
const MAX_RSS_GROWTH_BYTES = 160 * 1024 * 1024

const running: RelayProcess[] = []
const sockets: Socket[] = []

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await Promise.all(running.splice(0).map((r) => r.stop()))
})
afterAll(() => removeTempDirs())

async function relay(...args: string[]): Promise<RelayProcess> {
  const r = await startRelay({ args: ['--no-turn', '--no-stun', ...args] })
  running.push(r)
  return r
}

const metric = metricValue
const refused = refusalsFor
const rss = (r: RelayProcess) => metric(r, 'monsoon_process_resident_memory_bytes')
const buffered = (r: RelayProcess, kind: 'request' | 'response') =>
  metric(r, 'monsoon_http_buffered_bytes', `kind="${kind}"`)

/** One request on its own connection from `localAddress`; the body read whole. */
function call(
  r: RelayProcess,
  localAddress: string,
  path: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  const agent = new Agent({ localAddress })
  return new Promise((resolve, reject) => {
    const req = request(
      `${r.url}${path}`,
      {
        method: body === undefined ? 'GET' : 'POST',
        agent,
        headers: { 'Content-Type': 'application/json' },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
        res.on('end', () => {
          agent.destroy()
          resolve({ status: res.statusCode ?? 0, text })
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** A raw connection from `localAddress`, its bytes read into `received` while it flows. */
function rawConnection(r: RelayProcess, localAddress: string) {
  const socket = connect({ host: '127.0.0.1', port: r.port, localAddress })
  sockets.push(socket)
  const state = { received: '', closed: false, socket }
  socket.setEncoding('latin1')
  socket.on('data', (chunk: string) => {
    // Keep only the head: the answer's status line is all a test needs.
    if (state.received.length < 256) state.received += chunk.slice(0, 256)
  })
  socket.on('error', () => {})
  socket.on('close', () => (state.closed = true))
  return state
}

/** Publishes `count` listings of ~8 KiB (long description and file list) from `address`. */
async function seed(r: RelayProcess, address: string, salt: number, count: number) {
  const signer = new FastSigner()
  const ts = Math.floor(Date.now() / 1000)
  const listings = Array.from({ length: count }, (_, i) => {
    const draft = sampleDraft(i, salt)
    draft.description = 'A long description. '.repeat(99)
    draft.fileList = Array.from({ length: 30 }, (_, f) => ({
      path: `release-${salt}-${i}/disc ${f}/${'track name '.repeat(14)}${f}.flac`,
      size: 1000 + f,
    }))
    draft.files = draft.fileList.length
    return signer.listing(draft, { seq: 1, ts })
  })
  const answer = await call(r, address, '/v1/listings', JSON.stringify({ listings }))
  expect(answer.status, answer.text).toBe(200)
  expect((JSON.parse(answer.text) as { stored: number }).stored).toBe(count)
}

describe('large answers to slow readers', () => {
  it('budgets them per address and in all, and closes the stalled ones', async () => {
    const r = await relay('--stall-timeout', '2')
    // ~4 MiB of listings (one full page), from three addresses: within each one's quota.
    for (let i = 0; i < 3; i++) {
      await seed(r, `127.0.0.${20 + i}`, i, 170)
      await seed(r, `127.0.0.${20 + i}`, i + 10, 5)
    }
    const page = await call(r, '127.0.0.2', '/v1/listings?limit=1000')
    expect(page.status).toBe(200)
    expect(page.text.length).toBeGreaterThan(3_000_000)
    const baseline = await rss(r)

    // 200 connections from one address ask for the page (five times each, pipelined) and
    // never read.
    const ask = 'GET /v1/listings?limit=1000 HTTP/1.1\r\nHost: relay\r\n\r\n'
    const readers = Array.from({ length: 200 }, () => {
      const c = rawConnection(r, '127.0.0.9')
      c.socket.write(ask.repeat(5))
      c.socket.pause()
      return c
    })
    let maxRss = baseline
    await waitFor('the stalled answers to be dropped', async () => {
      const health = await call(r, '127.0.0.1', '/health')
      expect(health.status).toBe(200)
      maxRss = Math.max(maxRss, await rss(r))
      return (await refused(r, 'response-stalled')) >= 1
    })
    expect(await refused(r, 'response-budget')).toBeGreaterThan(100)
    // Another address reads the whole page meanwhile.
    const honest = await call(r, '127.0.0.3', '/v1/listings?limit=1000')
    expect(honest.status).toBe(200)
    expect(honest.text).toBe(page.text)
    maxRss = Math.max(maxRss, await rss(r))
    expect(maxRss - baseline).toBeLessThan(MAX_RSS_GROWTH_BYTES)

    // Every reader got a 503 or was closed: reading now finds each connection ended.
    for (const c of readers) c.socket.resume()
    await waitFor('every slow reader closed', async () => readers.every((c) => c.closed), 20_000)
    const statuses = readers.map((c) => c.received.slice(0, 12))
    expect(statuses.filter((s) => s === 'HTTP/1.1 503').length).toBeGreaterThan(100)
    expect(statuses.every((s) => s === 'HTTP/1.1 503' || s === 'HTTP/1.1 200')).toBe(true)
    expect(await buffered(r, 'response')).toBe(0)
  }, 60_000)
})

describe('held request bodies', () => {
  it('answers 408 to stalled bodies and 503 past the budget, with memory bounded', async () => {
    const r = await relay('--stall-timeout', '2')
    const baseline = await rss(r)
    const length = MAX_REQUEST_BODY_BYTES - 1
    // Six addresses, 10 connections each, declaring a body just under the cap: three fit in
    // each address's share (16 MiB), twelve in all (64 MiB).
    const holders = Array.from({ length: 60 }, (_, i) => {
      const c = rawConnection(r, `127.0.0.${30 + (i % 6)}`)
      c.socket.write(
        `POST /v1/sealed HTTP/1.1\r\nHost: relay\r\nContent-Type: application/octet-stream\r\n` +
          `Content-Length: ${length}\r\n\r\n`,
      )
      return c
    })
    // Those not refused at once send all but the last byte, and hold it.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const admitted = holders.filter((c) => c.received === '' && !c.closed)
    expect(admitted.length).toBe(Math.floor(MAX_REQUEST_BUFFER_BYTES / length))
    for (const c of admitted) c.socket.write(Buffer.alloc(length - 1, 0x61))
    let maxRss = baseline
    await waitFor('the held bodies to be dropped', async () => {
      const health = await call(r, '127.0.0.1', '/health')
      expect(health.status).toBe(200)
      maxRss = Math.max(maxRss, await rss(r))
      return admitted.every((c) => c.closed)
    })
    expect(maxRss - baseline).toBeLessThan(MAX_RSS_GROWTH_BYTES)
    expect(admitted.every((c) => c.received.startsWith('HTTP/1.1 408'))).toBe(true)
    const refusedAtOnce = holders.filter((c) => !admitted.includes(c))
    expect(refusedAtOnce.every((c) => c.received.startsWith('HTTP/1.1 503'))).toBe(true)
    expect(await refused(r, 'body-stalled')).toBe(admitted.length)
    expect(await refused(r, 'request-budget')).toBe(refusedAtOnce.length)
    expect(await buffered(r, 'request')).toBe(0)

    // Over the cap: 413 before a byte of the body is read.
    const big = rawConnection(r, '127.0.0.36')
    big.socket.write(
      `POST /v1/listings HTTP/1.1\r\nHost: relay\r\nContent-Length: ${length + 2}\r\n\r\n`,
    )
    await waitFor('the 413', async () => big.closed)
    expect(big.received).toMatch(/^HTTP\/1\.1 413/)
    expect(await refused(r, 'body-too-large')).toBe(1)
    // The budget was given back: another address posts as usual.
    const posted = await call(r, '127.0.0.30', '/v1/listings', '{"not":"a listing"}')
    expect(posted.status).toBe(400)
  }, 60_000)
})

describe('connections per address', () => {
  it('closes those over the cap at once, and half-sent requests after the headers timeout', async () => {
    const r = await relay('--max-connections-per-address', '20')
    const held = Array.from({ length: 30 }, () => {
      const c = rawConnection(r, '127.0.0.40')
      c.socket.write('GET /health HTTP/1.1\r\nHost: rel')
      return c
    })
    await waitFor('the extra connections closed', async () => {
      return held.filter((c) => c.closed).length === 10
    })
    expect(await refused(r, 'connections-per-address')).toBe(10)
    // Another address is served meanwhile.
    expect((await call(r, '127.0.0.41', '/health')).status).toBe(200)
    // The 20 it holds never finish their headers: 408 and closed.
    await waitFor('the half-sent requests closed', async () => held.every((c) => c.closed), 25_000)
    const timedOut = held.filter((c) => c.received.startsWith('HTTP/1.1 408'))
    expect(timedOut.length).toBe(20)
    expect(await refused(r, 'request-stalled')).toBe(20)
    // Only the connection asking for /metrics is open now (and any the relay keeps to itself).
    expect(await metric(r, 'monsoon_connections_open')).toBeLessThan(5)
    // Its share is free again.
    expect((await call(r, '127.0.0.40', '/health')).status).toBe(200)
  }, 60_000)
})

describe('connections in all', () => {
  it('closes those over --max-connections at accept, and counts them', async () => {
    const r = await relay('--max-connections', '6')
    const held = Array.from({ length: 6 }, (_, i) => rawConnection(r, `127.0.0.${60 + i}`))
    await waitFor('six connections open', async () => {
      const extra = rawConnection(r, '127.0.0.70')
      await waitFor('the extra one closed', async () => extra.closed)
      return held.every((c) => !c.closed)
    })
    for (const c of held) c.socket.destroy()
    await waitFor('a free slot', async () => (await call(r, '127.0.0.71', '/health')).status)
    expect(await refused(r, 'connections-full')).toBeGreaterThan(0)
  }, 30_000)
})

describe('aborted requests', () => {
  it('print nothing but JSON lines', async () => {
    const r = await relay('--log-level', 'debug')
    let stdout = ''
    let stderr = ''
    r.child.stdout!.on('data', (chunk: string) => (stdout += chunk))
    r.child.stderr!.on('data', (chunk: string) => (stderr += chunk))
    for (const path of ['/v1/sealed', '/v1/listings', '/v1/supernodes', '/v1/promote']) {
      const c = rawConnection(r, '127.0.0.50')
      c.socket.write(
        `POST ${path} HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n` +
          `Content-Length: 1000\r\n\r\n{"a":`,
      )
      await new Promise((resolve) => setTimeout(resolve, 100))
      c.socket.destroy()
    }
    // Answers cut off while they are being sent: a catalog page, and the app's largest
    // script (streamed from disk) when the app is built.
    const index = await call(r, '127.0.0.51', '/')
    const script = /\/assets\/[\w.-]+\.js/.exec(index.text)?.[0]
    for (const path of ['/v1/listings?limit=1000', ...(script ? [script] : [])]) {
      const cut = rawConnection(r, '127.0.0.50')
      cut.socket.write(`GET ${path} HTTP/1.1\r\nHost: relay\r\n\r\n`)
      await new Promise((resolve) => setTimeout(resolve, 20))
      cut.socket.destroy()
    }
    await waitFor('the aborts logged', async () => stdout.includes('request body aborted'))
    expect((await call(r, '127.0.0.51', '/health')).status).toBe(200)
    const lines = stdout.split('\n').filter((l) => l.trim() !== '')
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow()
    expect(stderr).toBe('')
  }, 30_000)

  it('holds one address to its request rate: 429, then its new connections closed, while another address is served', async () => {
    const r = await relay('--max-requests-per-address', '5')
    // The burst is ten seconds' worth (50); one address asks for far more, one at a time.
    const statuses: (number | 'closed')[] = []
    for (let i = 0; i < 80; i++) {
      try {
        statuses.push((await requestFrom('127.0.0.9', `${r.url}/health`)).status)
      } catch {
        statuses.push('closed')
      }
    }
    const ok = statuses.filter((s) => s === 200).length
    // The burst, and what refilled meanwhile (5 a second), and no more.
    expect(ok).toBeGreaterThanOrEqual(50)
    expect(ok).toBeLessThan(80)
    expect(statuses).toContain(429)
    // Right after a 429, a new connection from that address is closed before it is read.
    expect(statuses.slice(statuses.indexOf(429) + 1)).toContain('closed')
    // Another address is served throughout, and the refusals are counted and said.
    expect((await requestFrom('127.0.0.10', `${r.url}/health`)).status).toBe(200)
    expect(await refused(r, 'request-rate')).toBeGreaterThan(0)
    expect(
      r.logs.some(
        (l) => l.msg === 'refused' && l.reason === 'request-rate' && l.source === '127.0.0.9',
      ),
    ).toBe(true)
  }, 30_000)
})
