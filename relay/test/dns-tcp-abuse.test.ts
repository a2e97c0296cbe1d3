// DNS over TCP against one address holding connections (issue 20): connections that drip a
// byte every second never go idle, so they were never closed and took the relay's 256 TCP
// slots from real resolvers. Now a query must be whole within a deadline from its first
// byte ('dns-tcp-slow'), and one address holds at most a few connections
// ('connections-per-address'): on a real relay with its DNS port on, the drippers are closed,
// and a real TCP query from another address is answered throughout.

import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import dnsPacket from 'dns-packet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_DNS_TCP_CONNECTIONS_PER_ADDRESS } from '../limits.ts'
import { removeTempDirs } from './catalog-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { refusalsFor } from './relay-metrics.ts'

const ZONE = 'monsoon.test'
let relay: RelayProcess
let dnsPort: number

beforeAll(async () => {
  relay = await startRelay({
    args: ['--local-network', '--dns-zone', ZONE, '--dns-port', '0'],
  })
  dnsPort = relay.logs.find((l) => l.msg === 'dns listening')!.port as number
})
afterAll(async () => {
  await relay.stop()
  removeTempDirs()
})

async function tcpFrom(localAddress: string): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port: dnsPort, localAddress })
  await once(socket, 'connect')
  // A connection the relay closes with a dripped byte still unread ends in a reset, not a
  // FIN: for these tests that is closed all the same ('close' follows the error).
  socket.on('error', () => {})
  return socket
}

/** Resolves when `socket` has closed, by FIN or by reset. */
const closedOf = (socket: Socket) =>
  new Promise<void>((resolve) => socket.once('close', () => resolve()))

/** A whole TCP query for the zone's TXT records from `localAddress`; the answer's rcode. */
async function query(localAddress: string): Promise<string | undefined> {
  const socket = await tcpFrom(localAddress)
  socket.end(
    dnsPacket.streamEncode({
      type: 'query',
      id: 7,
      flags: 0,
      questions: [{ type: 'TXT', name: `_supernodes.${ZONE}` }],
    }),
  )
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  await closedOf(socket)
  return (dnsPacket.streamDecode(Buffer.concat(chunks)) as { rcode?: string }).rcode
}

const refused = (reason: string) => refusalsFor(relay, reason)

describe('DNS over TCP, one address dripping', () => {
  it('closes drippers after the query deadline, caps them per address, answers others', async () => {
    const drippers = await Promise.all(
      Array.from({ length: MAX_DNS_TCP_CONNECTIONS_PER_ADDRESS }, () => tcpFrom('127.0.0.9')),
    )
    const closed = drippers.map(closedOf)
    // A query of 40 bytes, sent one byte a second: never idle, never whole.
    const frame = dnsPacket.streamEncode({
      type: 'query',
      id: 1,
      questions: [{ type: 'A', name: `seed.${ZONE}` }],
    })
    let sent = 0
    const drip = setInterval(() => {
      for (const s of drippers) if (!s.destroyed) s.write(frame.subarray(sent, sent + 1))
      sent++
    }, 1000)
    try {
      // One more from the same address is refused at once.
      const extra = await tcpFrom('127.0.0.9')
      await closedOf(extra)
      expect(await refused('connections-per-address')).toBeGreaterThan(0)
      // Others are answered while the drippers hold their connections.
      expect(await query('127.0.0.10')).toBe('NOERROR')
      await Promise.all(closed)
      expect(sent).toBeLessThan(frame.length)
      expect(await refused('dns-tcp-slow')).toBeGreaterThanOrEqual(drippers.length)
      expect(await query('127.0.0.9')).toBe('NOERROR')
    } finally {
      clearInterval(drip)
    }
  }, 30_000)
})
