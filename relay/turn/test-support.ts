// A TURN server on loopback for tests: UDP on port 0, a TCP and a TLS listener that hand each
// connection to handleStream (as the one-port listener does), and clients for each transport.

import dgram from 'node:dgram'
import net from 'node:net'
import tls from 'node:tls'
import { generate } from 'selfsigned'
import { createLogger } from '../log.ts'
import { mintTurnCredential } from './credentials.ts'
import { TurnTestClient } from './test-client.ts'
import { createTurnServer, type TurnServer, type TurnServerInit } from './turn-server.ts'

export const SECRET = 'test-secret'
export const REALM = 'monsoon.test'
export type Transport = 'udp' | 'tcp' | 'tls'
export const TRANSPORTS: Transport[] = ['udp', 'tcp', 'tls']

export interface TurnEnv {
  server: TurnServer
  udpPort: number
  tcpPort: number
  tlsPort: number
  /** JSON log lines written by the server. */
  logs: string[]
  /** The fake clock in ms, moved by tests. */
  clock: { now: number }
  connect(transport: Transport, localHost?: string): Promise<TurnTestClient>
  credential(tag?: string, ttl?: number): { username: string; credential: string }
  close(): Promise<void>
}

let pems: Promise<{ cert: string; private: string }> | null = null

export async function startTurn(overrides: Partial<TurnServerInit> = {}): Promise<TurnEnv> {
  const logs: string[] = []
  const clock = { now: Date.now() }
  const server = createTurnServer({
    realm: REALM,
    secret: SECRET,
    stun: true,
    turn: true,
    relayPorts: { min: 0, max: 0 },
    relayHost: '127.0.0.1',
    relayAddress: '127.0.0.1',
    maxAllocations: 1000,
    maxBandwidth: 0,
    localNetwork: true,
    log: createLogger('warn', (line) => logs.push(line)),
    now: () => clock.now,
    ...overrides,
  })
  const udpPort = await server.listenUdp(0, '127.0.0.1')
  const tcp = net.createServer((socket) => server.handleStream(socket, 'tcp'))
  pems ??= generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
  })
  const { cert, private: key } = await pems
  const secure = tls.createServer({ cert, key }, (socket) => server.handleStream(socket, 'tls'))
  const listen = (s: net.Server) =>
    new Promise<number>((resolve) =>
      s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port)),
    )
  const tcpPort = await listen(tcp)
  const tlsPort = await listen(secure)
  const clients: TurnTestClient[] = []
  return {
    server,
    udpPort,
    tcpPort,
    tlsPort,
    logs,
    clock,
    async connect(transport, localHost = '127.0.0.1') {
      let client: TurnTestClient
      if (transport === 'udp') client = await TurnTestClient.udp(udpPort, '127.0.0.1', localHost)
      else {
        const raw = net.connect({
          port: transport === 'tcp' ? tcpPort : tlsPort,
          host: '127.0.0.1',
          localAddress: localHost,
        })
        await new Promise((resolve) => raw.once('connect', resolve))
        const socket =
          transport === 'tcp' ? raw : tls.connect({ socket: raw, rejectUnauthorized: false })
        if (transport === 'tls')
          await new Promise((resolve) => socket.once('secureConnect', resolve))
        client = TurnTestClient.stream(socket)
      }
      clients.push(client)
      return client
    },
    credential(tag = 'tab', ttl = 3600) {
      return mintTurnCredential(SECRET, tag, clock.now / 1000, ttl)
    },
    async close() {
      for (const c of clients) c.close()
      await server.close()
      await Promise.all([tcp, secure].map((s) => new Promise((resolve) => s.close(resolve))))
    },
  }
}

/** A plain UDP socket on 127.0.0.1 standing for the remote WebRTC peer. */
export async function udpPeer(): Promise<{
  address: string
  port: number
  socket: dgram.Socket
  next(): Promise<{ data: Buffer; port: number }>
  close(): void
}> {
  const socket = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  const queue: { data: Buffer; port: number }[] = []
  const waiters: ((m: { data: Buffer; port: number }) => void)[] = []
  socket.on('message', (data, rinfo) => {
    const m = { data, port: rinfo.port }
    const w = waiters.shift()
    if (w) w(m)
    else queue.push(m)
  })
  return {
    address: '127.0.0.1',
    port: socket.address().port,
    socket,
    next: () => {
      const ready = queue.shift()
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiters.push(resolve))
    },
    close: () => socket.close(),
  }
}
