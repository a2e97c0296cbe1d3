import { gunzipSync, gzipSync } from 'node:zlib'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { createIdentity } from '../../shared/identity.ts'
import { SEALED_PATH, sealedFetch } from '../../shared/sealed/client.ts'
import {
  SealedError,
  ephemeralSession,
  nodeSession,
  sealRequest,
} from '../../shared/sealed/envelope.ts'
import { encodeInnerRequest } from '../../shared/sealed/inner.ts'
import { MAX_SEALED_REQUEST_BYTES, MESSAGE_WINDOW_SECONDS } from '../limits.ts'
import { quietRefusals } from '../refusals.ts'
import { SealedSessionBudget } from './session-budget.ts'
import { sealedTunnel } from './tunnel.ts'

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n))
const relay = createIdentity()
const peer = createIdentity()

/** A stand-in for the relay's API: echoes what it was asked, as the tunnel passed it on. */
function api() {
  const app = new Hono()
  app.get('/v1/listings', (c) => c.json({ after: c.req.query('after'), listings: ['Secret Film'] }))
  app.post('/v1/listings', async (c) => {
    const text = await c.req.text()
    const got: unknown = text ? JSON.parse(text) : null
    return c.json({ got, type: c.req.header('content-type') }, 201)
  })
  app.get('/v1/busy', (c) => c.json({ error: 'slow down' }, 429, { 'Retry-After': '7' }))
  app.get('/index.html', (c) => c.text('the app'))
  // As the catalog's page server: gzip to a request that takes it.
  app.get('/v1/page', (c) =>
    c.req.header('accept-encoding') === 'gzip'
      ? c.body(gzipSync('{"page":1}'), 200, { 'Content-Encoding': 'gzip' })
      : c.json({ page: 1, coding: c.req.header('accept-encoding') ?? null }),
  )
  return app
}

function tunnel(now = () => 1_764_115_200, maxNonces?: number, newSessionsPerSecond?: number) {
  const inner = api()
  return sealedTunnel({
    identity: relay,
    dispatch: (req, env) => inner.fetch(req, env),
    nowSeconds: now,
    maxNonces,
    newSessionsPerSecond,
  })
}

const post = (app: Hono, body: Uint8Array, headers: Record<string, string> = {}) =>
  app.request(`http://relay.test${SEALED_PATH}`, {
    method: 'POST',
    body: body as BufferSource,
    headers: { 'content-type': 'text/plain', ...headers },
  })

const request = (path: string, ts = 1_764_115_200, session = ephemeralSession(relay.id, random)) =>
  sealRequest(
    session,
    encodeInnerRequest({ method: 'GET', path, body: new Uint8Array(0) }),
    ts,
    random,
  )

describe('POST /v1/sealed', () => {
  it('answers a sealed GET and POST through the API, sealed back, for a browser and a relay', async () => {
    const app = tunnel()
    const fetchVia = ((url: string, init: RequestInit) => app.request(url, init)) as typeof fetch
    const options = { maxBytes: 1 << 20, nowSeconds: () => 1_764_115_200, fetch: fetchVia }
    for (const session of [
      ephemeralSession(relay.id, random),
      nodeSession(peer.secretKey, peer.id, relay.id),
    ]) {
      const get = await sealedFetch(
        'http://relay.test',
        session,
        { method: 'GET', path: '/v1/listings?after=5', body: new Uint8Array(0) },
        options,
      )
      expect(get.status).toBe(200)
      expect(get.contentType).toMatch(/application\/json/)
      expect(JSON.parse(new TextDecoder().decode(get.body))).toEqual({
        after: '5',
        listings: ['Secret Film'],
      })
      const posted = await sealedFetch(
        'http://relay.test',
        session,
        {
          method: 'POST',
          path: '/v1/listings',
          contentType: 'application/json',
          body: new TextEncoder().encode('{"name":"x"}'),
        },
        options,
      )
      expect(posted.status).toBe(201)
      expect(JSON.parse(new TextDecoder().decode(posted.body))).toEqual({
        got: { name: 'x' },
        type: 'application/json',
      })
      const busy = await sealedFetch(
        'http://relay.test',
        session,
        { method: 'GET', path: '/v1/busy', body: new Uint8Array(0) },
        options,
      )
      expect(busy).toMatchObject({ status: 429, retryAfter: '7' })
    }
  })

  it('carries a gzip answer to a request that takes gzip, and a clear one otherwise', async () => {
    const app = tunnel()
    const fetchVia = ((url: string, init: RequestInit) => app.request(url, init)) as typeof fetch
    const options = { maxBytes: 1 << 20, nowSeconds: () => 1_764_115_200, fetch: fetchVia }
    const session = ephemeralSession(relay.id, random)
    const get = { method: 'GET' as const, path: '/v1/page', body: new Uint8Array(0) }
    const zipped = await sealedFetch(
      'http://relay.test',
      session,
      {
        ...get,
        acceptEncoding: 'gzip',
      },
      options,
    )
    expect(zipped.contentEncoding).toBe('gzip')
    expect(JSON.parse(gunzipSync(zipped.body).toString())).toEqual({ page: 1 })
    const clear = await sealedFetch('http://relay.test', session, get, options)
    expect(clear.contentEncoding).toBeUndefined()
    expect(JSON.parse(new TextDecoder().decode(clear.body))).toEqual({ page: 1, coding: null })
  })

  it('refuses a replay, a stale or misdirected message, tampering and truncation with 4xx JSON', async () => {
    const app = tunnel()
    const sealed = request('/v1/listings')
    expect((await post(app, sealed)).status).toBe(200)
    const replay = await post(app, sealed)
    expect(replay.status).toBe(409)
    expect(await replay.json()).toEqual({
      code: 'replayed',
      error: 'sealed message was seen before',
    })
    const stale = await post(
      app,
      request('/v1/listings', 1_764_115_200 - MESSAGE_WINDOW_SECONDS - 1),
    )
    expect([stale.status, (await stale.json()).code]).toEqual([400, 'stale'])
    const other = createIdentity()
    const misdirected = await post(
      app,
      sealRequest(ephemeralSession(other.id, random), new Uint8Array(1), 1_764_115_200, random),
    )
    expect([misdirected.status, (await misdirected.json()).code]).toEqual([421, 'wrong-receiver'])
    const tampered = request('/v1/listings')
    tampered[tampered.length - 20] ^= 1
    const bad = await post(app, tampered)
    expect([bad.status, (await bad.json()).code]).toEqual([400, 'unauthentic'])
    const cut = await post(app, request('/v1/listings').subarray(0, 50))
    expect([cut.status, (await cut.json()).code]).toEqual([400, 'truncated'])
    // The tampered message's nonce was never remembered: the untampered one still goes.
    tampered[tampered.length - 20] ^= 1
    expect((await post(app, tampered)).status).toBe(200)
  })

  it('refuses oversize bodies before reading them, and says so', async () => {
    const app = tunnel()
    const res = await post(app, new Uint8Array(MAX_SEALED_REQUEST_BYTES + 1))
    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({ code: 'too-large' })
  })

  it('carries only the API: not the app, not itself, and writes only from its own pages', async () => {
    const app = tunnel()
    for (const path of [
      '/index.html',
      SEALED_PATH,
      '//evil.example/v1/x',
      '/v1/../index.html',
      '/v1/%2e%2e/index.html',
    ]) {
      const res = await post(app, request(path))
      expect([path, res.status]).toEqual([path, path.startsWith('//') ? 400 : 403])
    }
    const write = () =>
      sealRequest(
        ephemeralSession(relay.id, random),
        encodeInnerRequest({ method: 'POST', path: '/v1/listings', body: new Uint8Array(0) }),
        1_764_115_200,
        random,
      )
    const foreign = await post(app, write(), { origin: 'http://elsewhere.test' })
    expect([foreign.status, (await foreign.json()).code]).toEqual([403, 'forbidden'])
    const own = await post(app, write(), { origin: 'http://relay.test' })
    expect(own.status).toBe(200)
  })

  it('keeps its nonce cache bounded: refuses with 503 when full of fresh nonces', async () => {
    const app = tunnel(undefined, 2)
    expect((await post(app, request('/v1/listings'))).status).toBe(200)
    expect((await post(app, request('/v1/listings'))).status).toBe(200)
    const full = await post(app, request('/v1/listings'))
    expect([full.status, (await full.json()).code]).toEqual([503, 'busy'])
  })

  it('bounds the new sender keys it derives a second; known senders still get through', async () => {
    const app = tunnel(undefined, undefined, 2)
    const known = ephemeralSession(relay.id, random)
    expect((await post(app, request('/v1/listings', undefined, known))).status).toBe(200)
    expect((await post(app, request('/v1/listings'))).status).toBe(200)
    const flood = await post(app, request('/v1/listings'))
    expect([flood.status, (await flood.json()).code]).toEqual([503, 'busy'])
    expect((await post(app, request('/v1/listings', undefined, known))).status).toBe(200)
  })

  it('charges junk to the address sending it: others still open sessions', async () => {
    const refusals = quietRefusals()
    const inner = api()
    const app = sealedTunnel({
      identity: relay,
      dispatch: (req, env) => inner.fetch(req, env),
      nowSeconds: () => 1_764_115_200,
      trustProxy: true,
      budget: new SealedSessionBudget(refusals, { perAddressPerSecond: 1, perAddressBurst: 4 }),
    })
    const from = (address: string, body: Uint8Array) =>
      post(app, body, { 'x-forwarded-for': address })
    const junk = () => {
      const bytes = request('/v1/listings')
      bytes[bytes.length - 1] ^= 1
      return bytes
    }
    const statuses = []
    for (let i = 0; i < 10; i++) statuses.push((await from('10.0.0.9', junk())).status)
    // Two junk envelopes spend its burst of four (each costs it twice); then 503.
    expect(statuses).toEqual([400, 400, ...Array(8).fill(503)])
    expect(refusals.count('sealed-sessions-per-address')).toBe(8)
    for (let i = 0; i < 4; i++) {
      expect((await from('10.0.0.10', request('/v1/listings'))).status).toBe(200)
    }
    // Known senders are never refused for the budget, even from the junk address.
    const known = ephemeralSession(relay.id, random)
    expect((await from('10.0.0.11', request('/v1/listings', undefined, known))).status).toBe(200)
    expect((await from('10.0.0.9', request('/v1/listings', undefined, known))).status).toBe(200)
  })

  it('gives the sender a SealedError with the code and status', async () => {
    const app = tunnel()
    const fetchVia = ((url: string, init: RequestInit) => app.request(url, init)) as typeof fetch
    const err = await sealedFetch(
      'http://relay.test',
      ephemeralSession(createIdentity().id, random),
      { method: 'GET', path: '/v1/listings', body: new Uint8Array(0) },
      { maxBytes: 1024, nowSeconds: () => 1_764_115_200, fetch: fetchVia },
    ).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SealedError)
    expect(err).toMatchObject({ code: 'wrong-receiver', status: 421 })
  })
})
