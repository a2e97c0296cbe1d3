// The DoH client over real loopback HTTP: against the relay's own DoH handler (GET and
// POST), and against a server that answers badly (an error status, an endless body, another
// query's id, a cut packet, a redirect, silence).

import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import dnsPacket from 'dns-packet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dohHandler } from '../../relay/dns/doh.ts'
import type { Zone } from '../../relay/dns/zone.ts'
import { BodyTooLargeError, HttpStatusError } from '../capped-body.ts'
import { lookupSupernodes, lookupTxt, MAX_DOH_ANSWER_BYTES } from './client.ts'
import { DnsError } from './codec.ts'

const ZONE: Zone = {
  origins: ['monsoon.test'],
  nameServers: ['ns.monsoon.test'],
  ttl: 45,
  serial: 1,
  supernodes: [{ id: 'a'.repeat(64), urls: ['http://127.0.0.1:8080', 'https://a.test'] }],
}
const NAME = '_supernodes.monsoon.test'
const relayDoh = dohHandler(() => ZONE)

function reply(id: number): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id,
    questions: [{ name: NAME, type: 'TXT', class: 'IN' }],
    answers: [{ type: 'TXT', name: NAME, ttl: 60, data: 'http://x.test' }],
  })
}

const server = createServer((req, res) => {
  const { pathname: path, search } = new URL(req.url ?? '/', 'http://x')
  if (path === '/dns-query') return relayDoh(req, res)
  if (path === '/error') return res.writeHead(503).end('busy')
  if (path === '/huge') {
    // No Content-Length: only counting the bytes stops it.
    res.writeHead(200, { 'Content-Type': 'application/dns-message' })
    const chunk = Buffer.alloc(16 * 1024)
    const more = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', more)
    }
    return more()
  }
  if (path === '/wrong-id') return res.end(reply(7))
  if (path === '/cut') return res.end(reply(0).subarray(0, 30))
  if (path === '/redirect') return res.writeHead(302, { Location: `/dns-query${search}` }).end()
  // '/silent': never answers.
})
let base = ''
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

describe('DoH client', () => {
  it("reads the supernode URLs from a relay's DoH, over GET and POST", async () => {
    const urls = ['http://127.0.0.1:8080', 'https://a.test']
    expect(await lookupSupernodes(`${base}/dns-query`, 'monsoon.test')).toEqual(urls)
    const post = await lookupSupernodes(`${base}/dns-query`, 'monsoon.test', { method: 'POST' })
    expect(post).toEqual(urls)
  })

  it('refuses an error status, an answer over its cap, and a redirect if told to', async () => {
    await expect(lookupTxt(`${base}/error`, NAME)).rejects.toThrow(HttpStatusError)
    const huge = await lookupTxt(`${base}/huge`, NAME).catch((err: unknown) => err)
    expect(huge).toBeInstanceOf(BodyTooLargeError)
    expect(huge).toMatchObject({ maxBytes: MAX_DOH_ANSWER_BYTES })
    await expect(lookupTxt(`${base}/huge`, NAME, { maxBytes: 1000 })).rejects.toMatchObject({
      maxBytes: 1000,
    })
    const redirect = lookupTxt(`${base}/redirect`, NAME, { redirect: 'error' })
    await expect(redirect).rejects.toThrow(TypeError)
    expect(await lookupTxt(`${base}/redirect`, NAME)).toContain('https://a.test')
  })

  it("refuses another query's answer and a cut packet with DnsError", async () => {
    await expect(lookupTxt(`${base}/wrong-id`, NAME)).rejects.toThrow(/another query/)
    await expect(lookupTxt(`${base}/cut`, NAME)).rejects.toThrow(DnsError)
  })

  it('gives up on a silent endpoint after its timeout, or when stopped', async () => {
    await expect(lookupTxt(`${base}/silent`, NAME, { timeoutMs: 200 })).rejects.toMatchObject({
      name: 'TimeoutError',
    })
    const stop = new AbortController()
    const stopped = lookupTxt(`${base}/silent`, NAME, { signal: stop.signal, timeoutMs: 60_000 })
    stop.abort()
    await expect(stopped).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('refuses a name that is not a DNS name before asking', async () => {
    await expect(lookupTxt(`${base}/dns-query`, 'bad name.test')).rejects.toThrow(DnsError)
  })
})
