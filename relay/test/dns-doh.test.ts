// DoH's HTTP rules (RFC 8484) from code, through the handler (relay/dns/doh.ts) on a
// loopback node:http server: GET
// with base64url, POST with application/dns-message, the answer's media type and max-age,
// and clear 400/413/415 answers for what is not a DNS query. The same rules over real
// sockets and real clients are in dns-clients.test.ts. Also: the UDP token buckets, and
// bootstrap lists (shared/bootstrap-list.ts).

import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import dnsPacket from 'dns-packet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BootstrapListError, parseBootstrapList } from '../../shared/bootstrap-list.ts'
import { txtQuery, txtStrings } from '../../shared/doh/codec.ts'
import { AnswerCache } from '../dns/answer-cache.ts'
import { dohHandler } from '../dns/doh.ts'
import { RateLimiter } from '../budget/quotas.ts'
import type { Zone } from '../dns/zone.ts'

const ZONE: Zone = {
  origins: ['monsoon.test'],
  nameServers: ['ns.monsoon.test'],
  ttl: 45,
  serial: 1,
  supernodes: [{ id: 'a'.repeat(64), urls: ['http://127.0.0.1:8080'] }],
}
const server = createServer(dohHandler(() => ZONE))
let base = ''
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))
const app = { request: (path: string, init?: RequestInit) => fetch(`${base}${path}`, init) }
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')

describe('DoH (RFC 8484)', () => {
  it('answers GET ?dns= with an application/dns-message and max-age of the TTL', async () => {
    const res = await app.request(`/dns-query?dns=${b64(txtQuery('_supernodes.monsoon.test'))}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/dns-message')
    expect(res.headers.get('cache-control')).toBe('max-age=45')
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    const body = new Uint8Array(await res.arrayBuffer())
    expect(txtStrings(body, '_supernodes.monsoon.test')).toEqual(['http://127.0.0.1:8080'])
  })

  it('answers POST, and gives negative answers the SOA minimum as max-age', async () => {
    const query = dnsPacket.encode({
      type: 'query',
      id: 0,
      questions: [{ name: 'missing.monsoon.test', type: 'A' }],
    })
    const res = await app.request('/dns-query', {
      method: 'POST',
      headers: { 'Content-Type': 'application/dns-message' },
      body: new Uint8Array(query),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('max-age=45')
    const packet = dnsPacket.decode(Buffer.from(await res.arrayBuffer())) as { rcode?: string }
    expect(packet.rcode).toBe('NXDOMAIN')
  })

  it('refuses bad base64url, a missing parameter and a non-query with 400', async () => {
    for (const [url, text] of [
      ['/dns-query?dns=ab+c/d==', 'not base64url'],
      ['/dns-query', 'missing the dns parameter'],
      [`/dns-query?dns=${b64(Buffer.alloc(5))}`, 'not a DNS query'],
    ]) {
      const res = await app.request(url)
      expect(res.status).toBe(400)
      expect(await res.text()).toContain(text)
    }
  })

  it('refuses oversized queries with 413, GET or POST, with or without a length', async () => {
    const big = new Uint8Array(4096)
    expect((await app.request(`/dns-query?dns=${b64(big)}`)).status).toBe(413)
    const res = await app.request('/dns-query', {
      method: 'POST',
      headers: { 'Content-Type': 'application/dns-message' },
      body: big,
    })
    expect(res.status).toBe(413)
    expect(await res.text()).toContain('over 512 bytes')
    const chunked = new ReadableStream({
      start(c) {
        for (let i = 0; i < 8; i++) c.enqueue(new Uint8Array(100))
        c.close()
      },
    })
    const streamed = await app.request('/dns-query', {
      method: 'POST',
      headers: { 'Content-Type': 'application/dns-message' },
      body: chunked,
      duplex: 'half',
    } as RequestInit)
    expect(streamed.status).toBe(413)
  })

  it('lets any origin POST (CORS preflight) and refuses other methods with 405', async () => {
    const pre = await app.request('/dns-query', { method: 'OPTIONS' })
    expect(pre.status).toBe(204)
    expect(pre.headers.get('access-control-allow-headers')).toBe('Content-Type')
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST')
    expect((await app.request('/dns-query', { method: 'DELETE' })).status).toBe(405)
  })

  it('refuses another content type with 415', async () => {
    const res = await app.request('/dns-query', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: txtQuery('_supernodes.monsoon.test'),
    })
    expect(res.status).toBe(415)
    expect(await res.text()).toContain('application/dns-message')
  })
})

describe('answer cache', () => {
  const ask = (id: number, name: string) =>
    dnsPacket.encode({ type: 'query', id, questions: [{ name, type: 'TXT' }] })
  const decode = (b: Buffer) => dnsPacket.decode(b) as { id: number; answers?: unknown[] }

  it('gives each query its own id, and forgets answers when the zone changes', () => {
    const cache = new AnswerCache()
    const first = cache.respond(ask(1, '_supernodes.monsoon.test'), ZONE, 'udp')!
    const second = cache.respond(ask(2, '_supernodes.monsoon.test'), ZONE, 'udp')!
    expect(decode(first.bytes).id).toBe(1)
    expect(decode(second.bytes).id).toBe(2)
    expect(cache.size).toBe(1)
    const grown = {
      ...ZONE,
      supernodes: [...ZONE.supernodes, { id: 'b'.repeat(64), urls: ['http://127.0.0.2:1'] }],
    }
    const third = cache.respond(ask(3, '_supernodes.monsoon.test'), grown, 'udp')!
    expect(decode(third.bytes).answers).toHaveLength(2)
  })

  it('stays bounded whatever is asked', () => {
    const cache = new AnswerCache()
    for (let i = 0; i < 5000; i++) cache.respond(ask(i, `n${i}.monsoon.test`), ZONE, 'tcp')
    expect(cache.size).toBeLessThanOrEqual(1024)
    expect(cache.respond(Buffer.alloc(3), ZONE, 'udp')).toBeNull()
  })
})

describe('UDP token buckets', () => {
  it('grants a burst, then the rate, and keeps at most maxKeys addresses', () => {
    const buckets = new RateLimiter({ perMinute: 600, burst: 3, maxKeys: 2 })
    const takes = [0, 0, 0, 0].map(() => buckets.takeAll('a', 1, 1000))
    expect(takes).toEqual([true, true, true, false])
    expect(buckets.takeAll('a', 1, 1100)).toBe(true)
    expect(buckets.takeAll('a', 1, 1100)).toBe(false)
    for (let i = 0; i < 1000; i++) buckets.takeAll(`10.0.0.${i}`, 1, 2000)
    expect(buckets.size).toBe(2)
  })
})

describe('bootstrap lists', () => {
  it('reads the origins of a version 1 list, skipping what is not one', () => {
    const urls = parseBootstrapList({
      v: 1,
      supernodes: ['https://a.example', 'https://a.example/', 'ftp://x', 7, 'http://b.example:81'],
      updated: 1,
    })
    expect(urls).toEqual(['https://a.example', 'http://b.example:81'])
  })

  it('refuses what is not a list', () => {
    for (const bad of [null, [], 'x', { v: 2, supernodes: [] }, { v: 1, supernodes: 'x' }]) {
      expect(() => parseBootstrapList(bad)).toThrow(BootstrapListError)
    }
  })
})
