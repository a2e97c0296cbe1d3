// AnnounceProxy between real HTTP servers on 127.0.0.1: a classic client's announce taken by a
// relay that does not own the hash reaches an owner with the client's address vouched for,
// the owner's answer comes back byte for byte, and failing, hostile or silent owners end in
// the next owner or a local answer, never a failed client.

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  MAX_PROXY_ANSWER_BYTES,
  MAX_REPLICAS_IN_FLIGHT,
  MESSAGE_WINDOW_SECONDS,
  PROXY_SOCKETS_PER_OWNER,
} from '../limits.ts'
import { createLogger } from '../log.ts'
import { directTransport } from '../peering/peer-fetch.ts'
import { AnnounceProxy, PROXY_HEADER } from './announce-proxy.ts'
import { SupernodeDirectory } from './directory.ts'
import { NodeMessageError } from './node-message.ts'
import { RecordSigner } from './test-support.ts'

const now = () => Math.floor(Date.now() / 1000)
const TARGET = '/announce?info_hash=%AA%BB&port=6881'
const CLIENT = '203.0.113.7'

const servers: Server[] = []
const proxies: AnnounceProxy[] = []
afterEach(() => {
  for (const p of proxies.splice(0)) p.close()
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    s.close()
  }
})

type Answer = { status?: number; body: string | Buffer; chunked?: boolean } | 'hang'

/** A relay: its key, its directory, its proxy, and (with `answer`) an HTTP server that
 * checks the proxy header the way server.ts does, then answers. */
async function relay(answer?: (ip: string | Error, path: string) => Answer) {
  const signer = new RecordSigner()
  let url = 'http://127.0.0.1:9'
  const hits: { path: string; ip: string | Error }[] = []
  if (answer) {
    const server = createServer((req, res) => {
      const header = req.headers[PROXY_HEADER]
      let ip: string | Error
      try {
        ip = proxy.forwardedIp(String(header), req.url ?? '', now())
      } catch (err) {
        ip = err as Error
      }
      hits.push({ path: req.url ?? '', ip })
      const a = answer(ip, req.url ?? '')
      if (a === 'hang') return
      // As relay/server.ts answers: with a Content-Length, unless a test asks otherwise.
      const length = a.chunked ? {} : { 'Content-Length': Buffer.byteLength(a.body) }
      res.writeHead(a.status ?? 200, length)
      res.end(a.body)
    })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }
  const record = () => signer.record({ seq: now(), ts: now(), url })
  const directory = new SupernodeDirectory({ self: record, maxPerPrefix: 16 })
  const proxy = new AnnounceProxy({
    directory,
    signer,
    log: createLogger('silent'),
    transport: directTransport,
    timeoutMs: 1000,
  })
  proxies.push(proxy)
  return { signer, directory, proxy, record, hits, url }
}

type Relay = Awaited<ReturnType<typeof relay>>

/** Each relay learns the others' records, as the supernode exchange would bring them. */
function meet(...relays: Relay[]) {
  for (const a of relays) {
    for (const b of relays) {
      if (a !== b) expect(a.directory.offer(b.record(), '127.0.0.1', now()).outcome).toBe('added')
    }
  }
}

const localAnswer = () => new TextEncoder().encode('d8:intervali1800ee')
const owned = (...owners: Relay[]) => ({ local: false, owners: owners.map((o) => o.record()) })

describe('AnnounceProxy: the header that vouches for a client', () => {
  it('what one relay vouches for, the owner reads back, for exactly that target', async () => {
    const [a, b] = [await relay(), await relay()]
    meet(a, b)
    // One clock reading: a second that turns between two readings would age the header.
    const t = now()
    const header = a.proxy.header(b.signer.id, TARGET, CLIENT, t)
    expect(b.proxy.forwardedIp(header, TARGET, t)).toBe(CLIENT)
    expect(b.proxy.forwardedIp(header, TARGET, t + MESSAGE_WINDOW_SECONDS)).toBe(CLIENT)
  })

  it('refuses a malformed, stale, unknown, re-targeted or tampered header by code', async () => {
    const [a, b, stranger] = [await relay(), await relay(), await relay()]
    meet(a, b)
    const t = now()
    const header = a.proxy.header(b.signer.id, TARGET, CLIENT, t)
    const [from, ts, ip, mac] = header.split(' ')
    const code = (h: string, target = TARGET, at = t) => {
      try {
        b.proxy.forwardedIp(h, target, at)
        return 'accepted'
      } catch (err) {
        expect(err).toBeInstanceOf(NodeMessageError)
        return (err as NodeMessageError).code
      }
    }
    expect(code('')).toBe('malformed')
    expect(code(`${from} ${ts} ${ip}`)).toBe('malformed')
    expect(code(`${from} ${ts} ${ip} ${mac} extra`)).toBe('malformed')
    expect(code(`${from.toUpperCase()} ${ts} ${ip} ${mac}`)).toBe('malformed')
    expect(code(`${from} -5 ${ip} ${mac}`)).toBe('malformed')
    expect(code(`${from} ${ts} ${ip} ${mac.slice(2)}`)).toBe('malformed')
    expect(code(`${from} ${ts} ${'1'.repeat(46)} ${mac}`)).toBe('malformed')
    expect(code(header, TARGET, t + MESSAGE_WINDOW_SECONDS + 1)).toBe('stale')
    expect(code(header, TARGET, t - MESSAGE_WINDOW_SECONDS - 1)).toBe('stale')
    expect(code(stranger.proxy.header(b.signer.id, TARGET, CLIENT, t))).toBe('unknown-sender')
    expect(code(header, `${TARGET}&numwant=200`)).toBe('bad-signature')
    expect(code(`${from} ${ts} 198.51.100.1 ${mac}`)).toBe('bad-signature')
    expect(code(`${from} ${t + 1} ${ip} ${mac}`, TARGET, t + 1)).toBe('bad-signature')
    expect(code(`${from} ${ts} ${ip} ${'0'.repeat(64)}`)).toBe('bad-signature')
    // Made for another owner: its MAC is under another pair key.
    const other = await relay()
    meet(a, other)
    meet(b, other)
    expect(code(a.proxy.header(other.signer.id, TARGET, CLIENT, t))).toBe('bad-signature')
  })
})

describe('AnnounceProxy: announces for hashes owned elsewhere', () => {
  it('hands back the owner answer byte for byte, the client address vouched for', async () => {
    const answer = Buffer.from([0x64, 0x00, 0xff, 0x65])
    const b = await relay(() => ({ body: answer }))
    const a = await relay()
    meet(a, b)
    const body = await a.proxy.announce(TARGET, CLIENT, owned(b), localAnswer)
    expect(Buffer.from(body)).toEqual(answer)
    expect(b.hits).toEqual([{ path: TARGET, ip: CLIENT }])
    expect(a.proxy.stats).toMatchObject({ proxied: 1, proxyFailures: 0, fallbacks: 0 })
  })

  it('copies an announce it answers itself to the other owner, without waiting', async () => {
    const b = await relay(() => ({ body: 'ok' }))
    const a = await relay()
    meet(a, b)
    const body = await a.proxy.announce(
      TARGET,
      CLIENT,
      { local: true, owners: [a.record(), b.record()] },
      localAnswer,
    )
    expect(Buffer.from(body).toString()).toBe('d8:intervali1800ee')
    await vi.waitFor(() => expect(a.proxy.stats.replicas).toBe(1))
    expect(b.hits).toEqual([{ path: TARGET, ip: CLIENT }])
  })

  it('tries the next owner when the first fails, and copies to none after it', async () => {
    const failing = await relay(() => ({ status: 500, body: 'no' }))
    const good = await relay(() => ({ body: 'from the second' }))
    const a = await relay()
    meet(a, failing, good)
    const body = await a.proxy.announce(TARGET, CLIENT, owned(failing, good), localAnswer)
    expect(Buffer.from(body).toString()).toBe('from the second')
    expect(a.proxy.stats).toMatchObject({ proxied: 1, proxyFailures: 1, replicas: 0 })
  })

  it('answers locally when every owner fails: an error, an oversized or chunked answer, silence', async () => {
    const erring = await relay(() => ({ status: 403, body: 'refused' }))
    const huge = await relay(() => ({ body: Buffer.alloc(MAX_PROXY_ANSWER_BYTES + 1) }))
    const chunked = await relay(() => ({ body: 'd8:intervali1800ee', chunked: true }))
    const silent = await relay(() => 'hang')
    const a = await relay()
    meet(a, erring, huge, chunked, silent)
    for (const owner of [erring, huge, chunked, silent]) {
      const body = await a.proxy.announce(TARGET, CLIENT, owned(owner), localAnswer)
      expect(Buffer.from(body).toString()).toBe('d8:intervali1800ee')
    }
    expect(a.proxy.stats).toMatchObject({ proxied: 0, proxyFailures: 4, fallbacks: 4 })
  })

  it('proxies many announces at once over a few kept connections, each its own answer', async () => {
    const connections = new Set<unknown>()
    const b = await relay((_ip, path) => ({ body: `answer to ${path}` }))
    const server = servers.at(-1)!
    server.on('connection', (socket) => connections.add(socket))
    const a = await relay()
    meet(a, b)
    const targets = Array.from({ length: 200 }, (_, i) => `${TARGET}&key=${i}`)
    const bodies = await Promise.all(
      targets.map((t) => a.proxy.announce(t, CLIENT, owned(b), localAnswer)),
    )
    expect(bodies.map((body) => Buffer.from(body).toString())).toEqual(
      targets.map((t) => `answer to ${t}`),
    )
    expect(b.hits.every((hit) => hit.ip === CLIENT)).toBe(true)
    expect(connections.size).toBeLessThanOrEqual(PROXY_SOCKETS_PER_OWNER)
    // The owner closes its idle connections (its keep-alive timeout): the next announce
    // opens another and is answered.
    server.closeIdleConnections()
    const again = await a.proxy.announce(TARGET, CLIENT, owned(b), localAnswer)
    expect(Buffer.from(again).toString()).toBe(`answer to ${TARGET}`)
    expect(a.proxy.stats).toMatchObject({ proxied: 201, proxyFailures: 0 })
  })

  it('asks no owner whose URL the host cache will not let it contact', async () => {
    const b = await relay(() => ({ body: 'never' }))
    const a = await relay()
    meet(a, b)
    const guarded = new AnnounceProxy({
      directory: a.directory,
      signer: a.signer,
      log: createLogger('silent'),
      transport: directTransport,
      mayContact: () => false,
    })
    proxies.push(guarded)
    const body = await guarded.announce(TARGET, CLIENT, owned(b), localAnswer)
    expect(Buffer.from(body).toString()).toBe('d8:intervali1800ee')
    expect(b.hits).toEqual([])
    expect(guarded.stats.fallbacks).toBe(1)
  })

  it('keeps at most MAX_REPLICAS_IN_FLIGHT copies in flight to a silent owner, and drops the rest', async () => {
    const silent = await relay(() => 'hang')
    const a = await relay()
    meet(a, silent)
    const placement = { local: true, owners: [a.record(), silent.record()] }
    const extra = 20
    for (let i = 0; i < MAX_REPLICAS_IN_FLIGHT + extra; i++) {
      await a.proxy.announce(TARGET, CLIENT, placement, localAnswer)
    }
    expect(a.proxy.stats.replicasDropped).toBe(extra)
  })
})
