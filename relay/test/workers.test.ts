// A relay process with `--workers 2` (relay/transport/socket-workers.ts): the port is accepted
// on by the primary and a socket worker, and everything still answers as one relay: announces
// on fresh connections land in one swarm whoever accepted them, /metrics counts each once,
// WebSocket, app and hostile input as with one process, and SIGTERM leaves no process behind.

import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import { connect } from 'node:net'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SELF_SIGNED_CERT } from '../tls/tls.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { metricValue } from './relay-metrics.ts'
import { announcePath, binaryId, decodeDict, hex, scrapeFiles, scrapePath } from './tracker-wire.ts'
import { wsAnnounce } from './ws-announce.ts'

/** Connections one address may hold in each process; small, so the cap is seen. */
const CAP = 6
const ANNOUNCES = 240

let relay: RelayProcess
beforeAll(async () => {
  relay = await startRelay({
    args: ['--workers', '2', '--max-connections-per-address', String(CAP)],
  })
})
afterAll(() => relay?.stop())

/** One request on a new connection, closed after its answer: status and body. */
function fresh(path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect(relay.port, '127.0.0.1', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n`),
    )
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', reject)
    socket.on('close', () => {
      const reply = Buffer.concat(chunks)
      const split = reply.indexOf('\r\n\r\n')
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(reply.toString('latin1'))?.[1])
      resolve({ status, body: reply.subarray(split + 4) })
    })
  })
}

/** Resolves once the relay's socket worker accepts on the port. */
async function workerListening(r: RelayProcess) {
  while (!r.logs.some((l) => l.msg === 'socket worker listening')) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const workerPids = () =>
  relay.logs.filter((l) => l.msg === 'socket worker started').map((l) => l.pid as number)

describe('a relay with --workers 2 and TLS', () => {
  it('hands TLS connections to the primary, which serves them as one process does', async () => {
    const tls = await startRelay({ args: ['--workers', '2', '--tls-self-signed'] })
    try {
      const ca = readFileSync(join(tls.dataDir, SELF_SIGNED_CERT), 'utf8')
      const infoHash = binaryId(443)
      await workerListening(tls)
      // Fresh connections until the worker has accepted (and handed over) some of them.
      const handoffs = async () => {
        const metrics = (await httpsGet(`https://localhost:${tls.port}/metrics`, ca)).toString()
        return Number(/^monsoon_socket_worker_handoffs_total (\d+)$/m.exec(metrics)?.[1])
      }
      for (let n = 0; n < 5 || (await handoffs()) === 0; n++) {
        const path = announcePath({ infoHash, peerId: binaryId(n), port: 20_000 + n, left: 0 })
        const body = await httpsGet(`https://localhost:${tls.port}${path}`, ca)
        expect(decodeDict(body)).toMatchObject({ complete: n + 1 })
      }
    } finally {
      await tls.stop()
    }
  }, 60_000)
})

/** A GET over HTTPS on a new connection, verified against `ca`. */
function httpsGet(url: string, ca: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve(Buffer.concat(chunks)))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('a relay with --workers 2', () => {
  it('starts one socket worker', async () => {
    expect(workerPids()).toHaveLength(1)
    await workerListening(relay)
  })

  it('puts announces from fresh connections in one swarm, whoever accepted them', async () => {
    const infoHash = binaryId(24)
    const before = await metricValue(relay, 'monsoon_tracker_announces_total', 'transport="http"')
    // A few at a time: the address may hold CAP connections in each process.
    for (let n = 0; n < ANNOUNCES; n += 4) {
      const replies = await Promise.all(
        [0, 1, 2, 3].map((k) =>
          fresh(
            announcePath({
              infoHash,
              peerId: binaryId(1000 + n + k),
              port: 10_000 + n + k,
              left: (n + k) % 2,
            }),
          ),
        ),
      )
      for (const { status, body } of replies) {
        expect(status).toBe(200)
        expect(decodeDict(body)).toHaveProperty('interval')
      }
    }
    const scrape = await fresh(scrapePath([infoHash]))
    expect(scrapeFiles(scrape.body).get(hex(infoHash))).toMatchObject({
      complete: ANNOUNCES / 2,
      incomplete: ANNOUNCES / 2,
    })
    const after = await metricValue(relay, 'monsoon_tracker_announces_total', 'transport="http"')
    expect(after - before).toBe(ANNOUNCES)
    // The worker took its share: these went through the primary from another process.
    expect(await metricValue(relay, 'monsoon_socket_worker_requests_total')).toBeGreaterThan(0)
    expect(await metricValue(relay, 'monsoon_socket_workers')).toBe(1)
  }, 60_000)

  it('serves the WebSocket tracker and the app on the same port', async () => {
    for (let i = 0; i < 6; i++) {
      expect(await wsAnnounce(relay.wsUrl)).toMatchObject({
        action: 'announce',
        interval: expect.any(Number),
      })
      expect((await fresh('/')).status).toBe(200)
      expect((await fresh('/health')).status).toBe(200)
    }
  }, 60_000)

  it('answers requests pipelined and sent later on a kept connection, in order', async () => {
    const infoHash = binaryId(25)
    const head = (path: string, connection: string) =>
      `GET ${path} HTTP/1.1\r\nHost: relay\r\nConnection: ${connection}\r\n\r\n`
    for (let n = 0; n < 8; n++) {
      const announce = announcePath({ infoHash, peerId: binaryId(n), port: 30_000 + n })
      const socket = connect(relay.port, '127.0.0.1')
      socket.on('error', () => {})
      let reply = ''
      socket.setEncoding('latin1').on('data', (c: string) => (reply += c))
      // An announce and /health in one write; once answered, another announce, then close.
      socket.write(head(announce, 'keep-alive') + head('/health', 'keep-alive'))
      while ((reply.match(/HTTP\/1\.1 200/g) ?? []).length < 2) {
        await new Promise((r) => setTimeout(r, 5))
      }
      socket.write(head(announce, 'close'))
      await new Promise((r) => socket.once('close', r))
      const bodies = reply.split(/HTTP\/1\.1 /).slice(1)
      expect(bodies).toHaveLength(3)
      expect(bodies[0]).toMatch(/^200 .*interval/s)
      expect(bodies[1]).toMatch(/^200 .*"ok":true/s)
      expect(bodies[2]).toMatch(/^200 .*interval/s)
    }
  }, 60_000)

  it('refuses an oversized head and garbage as one process does', async () => {
    for (let i = 0; i < 4; i++) {
      expect([400, 414, 431]).toContain((await fresh(`/announce?pad=${'x'.repeat(20_000)}`)).status)
      expect((await fresh('/\x00garbage')).status).toBe(400)
    }
  }, 60_000)

  it('lets one address hold no more than its cap of half-sent heads (slow loris)', async () => {
    const sockets = Array.from({ length: 4 * CAP }, () => {
      const socket = connect(relay.port, '127.0.0.1', () =>
        socket.write('GET /announce?info_hash='),
      )
      socket.on('error', () => {})
      return socket
    })
    let closed = 0
    for (const s of sockets) s.once('close', () => closed++)
    // Every half-sent head ends in the primary, which holds CAP of them at most.
    while (closed < sockets.length - CAP) await new Promise((r) => setTimeout(r, 20))
    sockets.forEach((s) => s.destroy())
    while (closed < sockets.length) await new Promise((r) => setTimeout(r, 20))
  }, 60_000)

  it('runs one process per core when --workers is not given', async () => {
    const asUsersRunIt = await startRelay({ defaultWorkers: true })
    try {
      const workers = availableParallelism() - 1
      expect(await metricValue(asUsersRunIt, 'monsoon_socket_workers')).toBe(workers)
      for (let i = 0; i < 4; i++) {
        const answer = await fetch(
          `${asUsersRunIt.url}${announcePath({ infoHash: binaryId(7), peerId: binaryId(100 + i) })}`,
        )
        expect(answer.status).toBe(200)
      }
    } finally {
      expect(await asUsersRunIt.stop()).toBe(0)
    }
  }, 60_000)

  it('stops on SIGTERM with its worker, leaving no process behind', async () => {
    const pids = workerPids()
    expect(await relay.stop()).toBe(0)
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow()
  }, 30_000)
})
