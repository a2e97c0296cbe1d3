// Socket workers as the primary runs them: real worker processes (from their bundle, or
// through tsx without one) on a server of this process that drops whatever it accepts itself, so every answer seen came
// through a worker; restarts bounded; close() leaves no process behind.

import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Logger } from '../log.ts'
import { quietRefusals } from '../refusals.ts'
import {
  MAX_WORKER_RESTARTS,
  SocketWorkers,
  socketWorkerSource,
  type SocketWorkersOptions,
} from './socket-workers.ts'

const SETTINGS = {
  keepAliveTimeoutMs: 5000,
  sniffTimeoutMs: 10_000,
  maxConnectionsPerAddress: 100,
  maxConnections: 1000,
  logLevel: 'silent' as const,
}

const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = []
const log: Logger = {
  debug: () => {},
  info: (msg, fields) => lines.push({ level: 'info', msg, fields }),
  warn: (msg, fields) => lines.push({ level: 'warn', msg, fields }),
  error: (msg, fields) => lines.push({ level: 'error', msg, fields }),
}

const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
  lines.length = 0
})

/** A listening server that drops what it accepts, and workers on it. */
async function start(options: Partial<SocketWorkersOptions> = {}) {
  const server: Server = createServer((socket) => socket.destroy())
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const adopted: { socket: Socket; bytes: Buffer }[] = []
  const workers = new SocketWorkers({
    count: 1,
    settings: SETTINGS,
    front: {
      answer: (req) => Buffer.from(`d2:ip${req.remoteAddress.length}:${req.remoteAddress}e`),
    },
    adopt: (socket, bytes) => adopted.push({ socket, bytes }),
    refusals: quietRefusals(),
    log,
    ...options,
  })
  workers.start(server)
  cleanup.push(() => new Promise((r) => server.close(r)))
  cleanup.push(() => workers.close())
  return { workers, adopted, port: (server.address() as AddressInfo).port }
}

/** Sends `request` on fresh connections until one is answered (the server itself drops them). */
async function throughWorker(port: number, request: string): Promise<string> {
  for (;;) {
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(request))
      let data = ''
      socket.setEncoding('latin1').on('data', (c: string) => (data += c))
      socket.on('error', () => {})
      socket.on('close', () => resolve(data))
    })
    if (reply) return reply
  }
}

const ANNOUNCE = `GET /announce?info_hash=${'%02'.repeat(20)} HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n`

describe('SocketWorkers', () => {
  it('answers announces a worker accepted with the primary answer', async () => {
    const { port } = await start()
    for (let i = 0; i < 5; i++) {
      const reply = await throughWorker(port, ANNOUNCE)
      expect(reply).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
      expect(reply.endsWith('d2:ip9:127.0.0.1e')).toBe(true)
    }
  }, 30_000)

  it('hands the primary other connections with their bytes and their remote address', async () => {
    const { adopted, port } = await start()
    const request = 'GET /health HTTP/1.1\r\nHost: r\r\n\r\n'
    const local: number[] = []
    while (adopted.length === 0) {
      const socket = connect(port, '127.0.0.1', () => {
        local.push(socket.localPort!)
        socket.write(request)
      })
      socket.on('error', () => {})
      await Promise.race([once(socket, 'close'), new Promise((r) => setTimeout(r, 200))])
    }
    const [{ socket, bytes }] = adopted
    expect(bytes.toString('latin1')).toBe(request)
    expect(socket.remoteAddress).toBe('127.0.0.1')
    expect(local).toContain(socket.remotePort)
    socket.end('HTTP/1.1 204 No Content\r\n\r\n')
  }, 30_000)

  it('starts workers from one bundle of their code, without tsx', async () => {
    const source = socketWorkerSource()
    expect(source).toEqual(expect.any(String))
    // One module: no TypeScript file left to load, nothing resolved against a file's URL.
    expect(source).not.toMatch(/from ["'][^"']+\.ts["']/)
    expect(source).not.toMatch(/import\.meta/)
    expect(source).toContain('//# sourceURL=socket-worker-main.bundle.js')
    expect(socketWorkerSource()).toBe(source)
    const { workers, port } = await start()
    expect(await throughWorker(port, ANNOUNCE)).toMatch(/d2:ip9:127\.0\.0\.1e$/)
    const [pid] = workers.pids
    expect(readFileSync(`/proc/${pid}/cmdline`, 'latin1')).toContain('socket-worker-boot.js')
  }, 30_000)

  it('starts workers through tsx when there is no bundle', async () => {
    const { workers, port } = await start({ source: () => null })
    expect(await throughWorker(port, ANNOUNCE)).toMatch(/d2:ip9:127\.0\.0\.1e$/)
    const [pid] = workers.pids
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1')
    expect(cmdline).toContain('socket-worker.js')
    expect(cmdline).not.toContain('socket-worker-boot.js')
  }, 30_000)

  it('stops its workers on close: no process left', async () => {
    const { workers, port } = await start({ count: 2 })
    await throughWorker(port, ANNOUNCE)
    const pids = workers.pids
    expect(pids).toHaveLength(2)
    await workers.close()
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow()
    expect(lines.filter((l) => l.level !== 'info')).toEqual([])
  }, 30_000)

  it(`starts a worker that exits again, ${MAX_WORKER_RESTARTS} times at most`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'monsoon-worker-'))
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
    const entry = join(dir, 'exits.js')
    writeFileSync(entry, 'process.exit(3)\n')
    await start({ entry })
    while (!lines.some((l) => l.level === 'error')) await new Promise((r) => setTimeout(r, 10))
    expect(lines.filter((l) => l.msg === 'socket worker exited; restarting')).toHaveLength(
      MAX_WORKER_RESTARTS,
    )
    expect(lines.filter((l) => l.msg === 'socket worker started')).toHaveLength(
      MAX_WORKER_RESTARTS + 1,
    )
    expect(lines.at(-1)).toMatchObject({ level: 'error', fields: { code: 3 } })
  }, 30_000)
})
