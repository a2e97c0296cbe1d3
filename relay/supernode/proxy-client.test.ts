// ProxyClient against raw owners on 127.0.0.1: pipelined requests answered in order over at
// most PROXY_SOCKETS_PER_OWNER connections; owners that close between answers cost nothing;
// owners that misbehave (garbage, unasked answers, oversized or cut-off answers, silence) fail
// the requests on that connection and lose it; what waits is capped.

import { connect, createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  MAX_PIPELINED_PER_SOCKET,
  MAX_PROXY_ANSWER_BYTES,
  MAX_PROXY_OWNERS,
  MAX_PROXY_WAITING,
  PROXY_SOCKETS_PER_OWNER,
} from '../limits.ts'
import { ProxyClient } from './proxy-client.ts'

const servers: Server[] = []
const clients: ProxyClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  await Promise.all(
    servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()) && undefined)),
  )
})

/** An owner that reads whole request heads and lets `onRequest` answer each on its socket. */
async function owner(onRequest: (socket: Socket, head: string, n: number) => void) {
  const sockets = new Set<Socket>()
  const heads: string[] = []
  const server = createServer((socket) => {
    sockets.add(socket)
    let buffered = ''
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1')
      for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end)
        buffered = buffered.slice(end + 4)
        heads.push(head)
        onRequest(socket, head, heads.length)
      }
    })
    socket.on('error', () => {})
  })
  servers.push(server)
  server.on('close', () => sockets.forEach((s) => s.destroy()))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const origin = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  return { origin, sockets, heads, close: () => sockets.forEach((s) => s.destroy()) }
}

const answer = (body: string, fields = '') =>
  `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${fields}\r\n${body}`
const targetOf = (head: string) => head.split(' ')[1]

function client(timeoutMs = 5000) {
  const c = new ProxyClient({ timeoutMs })
  clients.push(c)
  return c
}

describe('ProxyClient', () => {
  it('answers many requests at once, each its own, over a few pipelined connections', async () => {
    const o = await owner((socket, head) => socket.write(answer(`for ${targetOf(head)}`)))
    const c = client()
    const targets = Array.from({ length: 300 }, (_, i) => `/announce?n=${i}`)
    const bodies = await Promise.all(targets.map((t) => c.get(o.origin, t, 'X-A', 'v')))
    expect(bodies.map(String)).toEqual(targets.map((t) => `for ${t}`))
    expect(o.sockets.size).toBeLessThanOrEqual(PROXY_SOCKETS_PER_OWNER)
    expect(o.heads[0]).toBe(`GET /announce?n=0 HTTP/1.1\r\nHost: ${o.origin.host}\r\nX-A: v`)
  })

  it('fails a non-200 answer alone, the connection kept', async () => {
    const o = await owner((socket, head) =>
      socket.write(
        targetOf(head) === '/bad'
          ? 'HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n'
          : answer('fine'),
      ),
    )
    const c = client()
    await expect(c.get(o.origin, '/bad', 'X', 'v')).rejects.toThrow(/HTTP 503/)
    expect(String(await c.get(o.origin, '/good', 'X', 'v'))).toBe('fine')
    expect(o.sockets.size).toBe(1)
  })

  it('sends again, once, what an owner closing between answers had not begun to answer', async () => {
    // The owner answers the first request it reads and closes; its keep-alive timeout, or a
    // Connection: close answer, looks the same.
    let first = true
    const o = await owner((socket) => {
      if (!first) return void socket.write(answer('later'))
      first = false
      socket.end(answer('first', 'Connection: close\r\n'))
    })
    const c = client()
    const bodies = await Promise.all([1, 2, 3].map((i) => c.get(o.origin, `/a?${i}`, 'X', 'v')))
    expect(bodies.map(String)).toEqual(['first', 'later', 'later'])
    // Closed while idle: the next request opens another connection.
    o.close()
    expect(String(await c.get(o.origin, '/a', 'X', 'v'))).toBe('later')
  })

  it('fails every request on a connection that sends what no answer is, and drops it', async () => {
    const hostile: ((socket: Socket) => void)[] = [
      (s) => s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n'),
      (s) => s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${MAX_PROXY_ANSWER_BYTES + 1}\r\n\r\n`),
      (s) => s.write('garbage\r\n\r\n'),
      (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort'),
      (s) => s.destroy(),
    ]
    for (const misbehave of hostile) {
      let n = 0
      const o = await owner((socket) => {
        if (n++ === 0) misbehave(socket)
      })
      // A reset before any answer is sent once more (to an owner that then stays silent).
      const c = client(200)
      const results = await Promise.allSettled([c.get(o.origin, '/x', 'X', 'v')])
      expect(results[0].status).toBe('rejected')
      await new Promise((r) => setImmediate(r))
      expect([...o.sockets].every((s) => s.destroyed || s.readableEnded)).toBe(true)
    }
  })

  it('drops a connection that answers what was not asked', async () => {
    const o = await owner((socket) => socket.write(answer('one') + answer('unasked')))
    const c = client()
    expect(String(await c.get(o.origin, '/x', 'X', 'v'))).toBe('one')
    await vi.waitFor(() =>
      expect([...o.sockets].every((s) => s.destroyed || s.readableEnded)).toBe(true),
    )
  })

  it('fails what a silent owner does not answer in time', async () => {
    const o = await owner(() => {})
    const c = client(50)
    await expect(c.get(o.origin, '/x', 'X', 'v')).rejects.toThrow(/in time/)
  })

  it('holds at most MAX_PROXY_WAITING requests for an owner that is all busy', async () => {
    const o = await owner(() => {})
    const c = client(60_000)
    const inFlight = PROXY_SOCKETS_PER_OWNER * MAX_PIPELINED_PER_SOCKET
    const held = Array.from({ length: inFlight + MAX_PROXY_WAITING }, (_, i) =>
      c.get(o.origin, `/x?${i}`, 'X', 'v').catch(() => 'failed'),
    )
    await expect(c.get(o.origin, '/one-more', 'X', 'v')).rejects.toThrow(/waiting/)
    c.close()
    expect(new Set(await Promise.all(held))).toEqual(new Set(['failed']))
  })

  it('keeps connections to at most MAX_PROXY_OWNERS owners, closing the least recently used', async () => {
    const o = await owner((socket) => socket.write(answer('ok')))
    const opened: Socket[] = []
    // Every owner origin reaches the one test owner: only the client's own cap is at stake.
    const c = new ProxyClient({
      timeoutMs: 5000,
      connect: () => {
        const socket = connect(Number(o.origin.port), '127.0.0.1')
        opened.push(socket)
        return socket
      },
    })
    clients.push(c)
    const origins = Array.from(
      { length: MAX_PROXY_OWNERS + 1 },
      (_, i) => new URL(`http://127.0.0.1:${10_000 + i}`),
    )
    // The first owner again after a while, so the second is the least recently used.
    for (const origin of [...origins.slice(0, 2), origins[0], ...origins.slice(2)]) {
      expect(String(await c.get(origin, '/x', 'X', 'v'))).toBe('ok')
    }
    expect(opened).toHaveLength(MAX_PROXY_OWNERS + 1)
    expect(opened.map((s) => s.destroyed)).toEqual(opened.map((_, i) => i === 1))
  })

  it('refuses a target or header value that would change the request', async () => {
    const o = await owner((socket) => socket.write(answer('x')))
    const c = client()
    await expect(c.get(o.origin, '/a b', 'X', 'v')).rejects.toThrow(/not sendable/)
    await expect(c.get(o.origin, '/a\r\nEvil: 1', 'X', 'v')).rejects.toThrow(/not sendable/)
    await expect(c.get(o.origin, '/a', 'X', 'v\r\nEvil: 1')).rejects.toThrow(/not sendable/)
    expect(o.heads).toEqual([])
  })
})
