// HttpBudget on a real node:http server on loopback, with a Hono app behind
// @hono/node-server as the relay has it: bodies read under budget and handed over as
// `rawBody`, large answers budgeted and written in pieces, stalls dropped, pipelined
// requests served one at a time.

import { createHash } from 'node:crypto'
import { Agent, createServer, request, type Server } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../log.ts'
import { quietRefusals, type Refusals } from '../refusals.ts'
import { HttpBudget } from './http-budget.ts'

const MiB = 1024 * 1024
/** Larger than loopback's socket buffers take (tcp_wmem's 4 MiB and the receiver's window),
 * so a reader that never reads leaves bytes in the relay. */
const HUGE = 12 * MiB

const text = (bytes: number) => 'monsoon '.repeat(Math.ceil(bytes / 8)).slice(0, bytes)
const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex')

const open: { server: Server; budget: HttpBudget }[] = []
const sockets: Socket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  for (const { server, budget } of open.splice(0)) {
    budget.close()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

async function serve(options: Partial<ConstructorParameters<typeof HttpBudget>[0]> = {}) {
  const refusals: Refusals = quietRefusals()
  const budget = new HttpBudget({
    refusals,
    log: createLogger('silent'),
    trustProxy: false,
    maxRequestBuffer: 64 * MiB,
    maxResponseBuffer: 64 * MiB,
    stallTimeoutMs: 300,
    ...options,
  })
  let running = 0
  let mostAtOnce = 0
  const app = new Hono()
  app.get('/answer/:bytes', (c) => c.body(text(Number(c.req.param('bytes')))))
  app.post('/echo', async (c) => {
    const body = Buffer.from(await c.req.arrayBuffer())
    return c.json({ bytes: body.length, sha: sha(body) })
  })
  app.get('/slow', async (c) => {
    mostAtOnce = Math.max(mostAtOnce, ++running)
    await new Promise((resolve) => setTimeout(resolve, 30))
    running--
    return c.text('done')
  })
  const listener = getRequestListener(app.fetch, { autoCleanupIncoming: false })
  const server = createServer({ ServerResponse: budget.ServerResponse }, (req, res) =>
    budget.serve(req, res, listener),
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  open.push({ server, budget })
  const { port } = server.address() as AddressInfo
  return { port, budget, refusals, mostAtOnce: () => mostAtOnce }
}

function fetchFrom(
  port: number,
  path: string,
  { localAddress = '127.0.0.1', body }: { localAddress?: string; body?: Buffer } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const agent = new Agent({ localAddress })
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, agent, method: body ? 'POST' : 'GET' },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          agent.destroy()
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) })
        })
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** A connection that asks and never reads; `closed` once the server drops it. */
function neverReads(port: number, localAddress: string, ask: string) {
  const socket = connect({ host: '127.0.0.1', port, localAddress })
  sockets.push(socket)
  const state = { closed: false }
  socket.on('error', () => {})
  socket.on('close', () => (state.closed = true))
  socket.write(ask)
  socket.pause()
  return state
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('HttpBudget', () => {
  it('hands bodies to @hono/node-server as rawBody (the seam this relies on)', async () => {
    const { port, budget } = await serve()
    const body = Buffer.from(text(3 * MiB))
    const answer = await fetchFrom(port, '/echo', { body })
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.body.toString())).toEqual({ bytes: body.length, sha: sha(body) })
    await until(() => budget.requests.total === 0, 'the body budget given back')
  })

  it('writes a large answer whole, in pieces, and gives its budget back', async () => {
    const { port, budget } = await serve()
    const answer = await fetchFrom(port, `/answer/${HUGE}`)
    expect(answer.status).toBe(200)
    expect(sha(answer.body)).toBe(sha(text(HUGE)))
    await until(() => budget.responses.total === 0 && budget.inFlight === 0, 'the budget back')
  })

  it('answers 503 with Retry-After to a large answer over the share of an address', async () => {
    const { port, refusals } = await serve({ maxResponseBuffer: 4 * MiB })
    const refused = await fetchFrom(port, `/answer/${2 * MiB}`)
    expect(refused.status).toBe(503)
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)
    expect(JSON.parse(refused.body.toString())).toMatchObject({ code: 'busy' })
    expect(refusals.count('response-budget')).toBe(1)
    expect((await fetchFrom(port, `/answer/${MiB / 2}`)).status).toBe(200)
  })

  it('destroys a large answer nobody reads, and refuses its address meanwhile', async () => {
    const { port, budget, refusals } = await serve({ stallTimeoutMs: 1500 })
    const reader = neverReads(port, '127.0.0.7', `GET /answer/${HUGE} HTTP/1.1\r\nHost: x\r\n\r\n`)
    await until(() => budget.inFlight === 1, 'the answer in flight')
    // Its address holds half its share (16 MiB): nothing more for it; others are served.
    expect((await fetchFrom(port, '/answer/10', { localAddress: '127.0.0.7' })).status).toBe(503)
    expect((await fetchFrom(port, '/answer/10', { localAddress: '127.0.0.8' })).status).toBe(200)
    await until(() => budget.inFlight === 0, 'the stalled answer dropped')
    expect(refusals.count('response-stalled')).toBe(1)
    expect(budget.responses.total).toBe(0)
    expect(reader.closed || budget.inFlight === 0).toBe(true)
  })

  it('answers 408 to a body that stalls, 413 to one over the cap, 503 past the budget', async () => {
    // An address's share is 1.5 MiB: one body of 1 MiB fits, a second does not.
    const { port, budget, refusals } = await serve({ maxRequestBuffer: 6 * MiB, maxBodyBytes: MiB })
    const post = (length: number, sent: string) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.9' })
      sockets.push(socket)
      const state = { answer: '' }
      socket.setEncoding('latin1').on('data', (chunk: string) => (state.answer += chunk))
      socket.write(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n\r\n${sent}`)
      return state
    }
    const stalled = post(MiB, 'x'.repeat(1000))
    await until(() => budget.requests.total === MiB, 'the body counted')
    const tooLarge = post(MiB + 1, '')
    const second = post(MiB, '')
    await until(() => tooLarge.answer !== '' && second.answer !== '', 'the 413 and the 503')
    expect(tooLarge.answer).toMatch(/^HTTP\/1\.1 413/)
    expect(second.answer).toMatch(/^HTTP\/1\.1 503/)
    await until(() => stalled.answer !== '', 'the 408')
    expect(stalled.answer).toMatch(/^HTTP\/1\.1 408/)
    expect(budget.requests.total).toBe(0)
    expect(refusals.count('body-stalled')).toBe(1)
    expect(refusals.count('body-too-large')).toBe(1)
    expect(refusals.count('request-budget')).toBe(1)
  })

  it('reads and drops the rest of a refused body, so its sender reads the 413', async () => {
    const { port, budget } = await serve({ maxBodyBytes: MiB })
    const answer = await fetchFrom(port, '/echo', { body: Buffer.alloc(3 * MiB) })
    expect(answer.status).toBe(413)
    expect(JSON.parse(answer.body.toString())).toMatchObject({ code: 'too-large' })
    expect(budget.requests.total).toBe(0)
  })

  it('serves requests pipelined on one connection one after the other', async () => {
    const { port, mostAtOnce } = await serve()
    const socket = connect({ host: '127.0.0.1', port })
    sockets.push(socket)
    let received = ''
    socket.setEncoding('latin1').on('data', (chunk: string) => (received += chunk))
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(4))
    await until(() => received.split('done').length === 5, 'four answers')
    expect(mostAtOnce()).toBe(1)
  })
})
