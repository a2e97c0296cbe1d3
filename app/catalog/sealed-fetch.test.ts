import { gzipSync } from 'node:zlib'
import { Hono } from 'hono'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createIdentity } from '../../shared/identity.ts'
import { sealedTunnel } from '../../relay/sealed/tunnel.ts'
import {
  MAX_ANSWER_BYTES,
  RelayError,
  fetchRelayJson,
  fetchRelayText,
  type Inflate,
} from './relay-client.ts'
import { inflateText } from './sealed-fetch.ts'

/** A relay as the page sees it: its record, its API, and the tunnel in front of the API. */
function relay() {
  const identity = createIdentity()
  const api = new Hono()
  api.get('/v1/hello', (c) => c.json({ id: identity.id }))
  api.get('/v1/lookup/:hash', (c) => c.json({ owner: true, hash: c.req.param('hash') }))
  api.post('/v1/listings', async (c) => c.json({ stored: (await c.req.json()).length }))
  // A catalog page, gzip when asked as the relay's page server does, and a gzip bomb: small
  // on the wire, past what the page reads once inflated.
  const gzipped = (value: string) => (c: { req: { header(n: string): string | undefined } }) =>
    c.req.header('accept-encoding') === 'gzip'
      ? new Response(gzipSync(value), { headers: { 'Content-Encoding': 'gzip' } })
      : new Response(value)
  api.get('/v1/page', (c) => gzipped(JSON.stringify({ listings: ['a'.repeat(5000)] }))(c))
  api.get('/v1/bomb', (c) => gzipped(`[${' '.repeat(MAX_ANSWER_BYTES)}]`)(c))
  const tunnel = sealedTunnel({ identity, dispatch: (req, env) => api.fetch(req, env) })
  const wire: string[] = []
  const fetchStub = async (input: string | URL | Request, init?: RequestInit) => {
    const req = new Request(input, init)
    const body = new Uint8Array(await req.clone().arrayBuffer())
    const res = await (req.url.endsWith('/v1/sealed') ? tunnel : api).fetch(req)
    const answer = new Uint8Array(await res.clone().arrayBuffer())
    wire.push(`${req.method} ${new URL(req.url).pathname} ${Buffer.from(body).toString('latin1')}`)
    wire.push(Buffer.from(answer).toString('latin1'))
    return res
  }
  return { wire, fetchStub }
}

afterEach(() => vi.unstubAllGlobals())

describe('fetchRelayJson to a relay on plain HTTP', () => {
  it('seals every API request after reading the relay id once', async () => {
    const { wire, fetchStub } = relay()
    vi.stubGlobal('fetch', fetchStub)
    const hash = 'ab'.repeat(20)
    expect(await fetchRelayJson(`http://relay-a.test:8080/v1/lookup/${hash}`)).toEqual({
      owner: true,
      hash,
    })
    const posted = await fetchRelayJson('http://relay-a.test:8080/v1/listings', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '[1,2,3]',
    })
    expect(posted).toEqual({ stored: 3 })
    expect(wire.filter((line) => line.startsWith('GET /v1/hello'))).toHaveLength(1)
    expect(wire.filter((line) => line.startsWith('POST /v1/sealed'))).toHaveLength(2)
    expect(wire.join('\n')).not.toContain(hash)
    expect(wire.join('\n')).not.toContain('stored')
  })

  it('takes pages gzip inside the seal, and stops reading one that inflates past the cap', async () => {
    const { wire, fetchStub } = relay()
    vi.stubGlobal('fetch', fetchStub)
    expect(await fetchRelayJson('http://relay-c.test:8080/v1/page')).toEqual({
      listings: ['a'.repeat(5000)],
    })
    const sealedAnswer = wire.at(-1)!
    expect(sealedAnswer.length).toBeLessThan(1000)
    const bomb = fetchRelayJson('http://relay-c.test:8080/v1/bomb')
    await expect(bomb).rejects.toThrow(RelayError)
    await expect(bomb).rejects.toThrow(/too large/)
  })

  it('hands a page gzip inside the seal to the inflate it is given, with the same errors', async () => {
    const { fetchStub } = relay()
    vi.stubGlobal('fetch', fetchStub)
    const given: number[] = []
    const inflate: Inflate = (gzip, maxBytes) => {
      given.push(gzip.length, maxBytes)
      return inflateText(gzip, maxBytes)
    }
    const page = await fetchRelayText('http://relay-d.test:8080/v1/page', {}, 5000, inflate)
    expect(JSON.parse(page)).toEqual({ listings: ['a'.repeat(5000)] })
    expect(given[0]).toBeLessThan(1000)
    expect(given[1]).toBe(MAX_ANSWER_BYTES)
    const bomb = fetchRelayText('http://relay-d.test:8080/v1/bomb', {}, 5000, inflate)
    await expect(bomb).rejects.toThrow(/too large/)
    // Not gzip after all: no answer, as a body cut off midway reads.
    const junk = fetchRelayText('http://relay-d.test:8080/v1/page', {}, 5000, async () => {
      throw new TypeError('not gzip')
    })
    expect(await junk).toBe('')
    // An answer not in gzip never goes to it.
    expect(await fetchRelayText('http://relay-d.test:8080/v1/hello', {}, 5000, inflate)).toMatch(
      /"id"/,
    )
    expect(given).toHaveLength(4)
  })

  it('asks the id again after an outage, so a relay back under another key is never sealed to with the old one', async () => {
    // Another node on the same origin once it answers again: the relay restarted with a new
    // key, or another took its port. Sealing to the old id would cost a 421, which the browser
    // logs as an error in the console, before the id is asked again.
    const before = relay()
    const after = relay()
    let up: typeof before | null = before
    vi.stubGlobal('fetch', (input: string | URL | Request, init?: RequestInit) =>
      up ? up.fetchStub(input, init) : Promise.reject(new TypeError('Failed to fetch')),
    )
    const origin = 'http://relay-d.test:8080'
    const hash = 'cd'.repeat(20)
    expect(await fetchRelayJson(`${origin}/v1/lookup/${hash}`)).toEqual({ owner: true, hash })
    up = null
    await expect(fetchRelayJson(`${origin}/v1/lookup/${hash}`)).rejects.toThrow(RelayError)
    up = after
    expect(await fetchRelayJson(`${origin}/v1/lookup/${hash}`)).toEqual({ owner: true, hash })
    expect(after.wire.filter((line) => line.includes('wrong-receiver'))).toEqual([])
    expect(after.wire.filter((line) => line.startsWith('GET /v1/hello'))).toHaveLength(1)
  })

  it('asks a relay over https as it is', async () => {
    const calls: string[] = []
    vi.stubGlobal('fetch', async (input: string) => {
      calls.push(String(input))
      return new Response('{"ok":true}', { headers: { 'content-type': 'application/json' } })
    })
    expect(await fetchRelayJson('https://relay-b.test/v1/supernodes')).toEqual({ ok: true })
    expect(calls).toEqual(['https://relay-b.test/v1/supernodes'])
  })
})
