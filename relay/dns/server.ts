// The plain authoritative DNS server of --dns-port: UDP (RFC 1035 §4.2.1) and TCP with its
// 2-byte length prefix (§4.2.2, RFC 7766) on the same port, bound to --host. Both hand each
// query to message.ts and send what it returns.
//
// Abuse bounds (relay/limits.ts): over UDP each source address has a token bucket; a query
// over it is dropped, except every second one, which gets a header-only TC answer no larger
// than the query (the "slip" of response rate limiting), so a real client behind a busy
// address still gets through over TCP while a spoofed victim gets no amplification. TCP has
// a cap on open connections, in all and per address, on bytes buffered per connection, on
// queries per connection, an idle timeout, a deadline for each query from its first byte
// (a client dripping a byte every few seconds never goes idle) and a lifetime. Refusals are
// counted in /metrics ('dns-tcp-slow', 'dns-tcp-full', 'connections-per-address').

import { createSocket } from 'node:dgram'
import { createServer, isIPv6, type Server, type Socket } from 'node:net'
import {
  DNS_TCP_IDLE_MS,
  DNS_TCP_MAX_LIFETIME_MS,
  DNS_TCP_QUERY_DEADLINE_MS,
  DNS_UDP_BURST,
  DNS_UDP_QUERIES_PER_SECOND,
  MAX_DNS_QUERY_BYTES,
  MAX_DNS_RATE_BUCKETS,
  MAX_DNS_TCP_BUFFER_BYTES,
  MAX_DNS_TCP_CONNECTIONS,
  MAX_DNS_TCP_CONNECTIONS_PER_ADDRESS,
  MAX_DNS_TCP_QUERIES,
} from '../limits.ts'
import type { Logger } from '../log.ts'
import { quietRefusals, type Refusals } from '../refusals.ts'
import { clientIp } from '../tracker/tracker.ts'
import { addressKey } from '../tracker/holdings.ts'
import { AnswerCache } from './answer-cache.ts'
import { RateLimiter } from '../budget/quotas.ts'
import type { Zone } from './zone.ts'

export interface DnsServerOptions {
  host: string
  port: number
  zone: () => Zone
  log: Logger
  /** UDP queries per second per address (the burst is twice that at least). */
  queriesPerSecond?: number
  /** Where TCP refusals are counted and said. */
  refusals?: Refusals
  /** TCP bounds (relay/limits.ts); tests shorten them. */
  tcp?: Partial<DnsTcpLimits>
}

export interface DnsTcpLimits {
  maxConnections: number
  maxPerAddress: number
  idleMs: number
  queryDeadlineMs: number
  lifetimeMs: number
}

export interface DnsServer {
  /** The port bound (UDP and TCP share it). */
  readonly port: number
  readonly stats: { udp: number; tcp: number; limited: number; sendErrors: number }
  close(): Promise<void>
}

/** Binds UDP then TCP on the same port (0: a free port, the same for both). */
export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const stats = { udp: 0, tcp: 0, limited: 0, sendErrors: 0 }
  const cache = new AnswerCache()
  const rate = options.queriesPerSecond ?? DNS_UDP_QUERIES_PER_SECOND
  const buckets = new RateLimiter({
    perMinute: rate * 60,
    burst: Math.max(DNS_UDP_BURST, rate * 2),
    maxKeys: MAX_DNS_RATE_BUCKETS,
  })
  const udp = createSocket({ type: isIPv6(options.host) ? 'udp6' : 'udp4' })
  let slip = 0
  udp.on('message', (msg, rinfo) => {
    stats.udp++
    // Port 0 cannot be answered (send would throw); such a source is forged anyway.
    if (rinfo.port === 0) return
    const limited = !buckets.takeAll(rinfo.address, 1, Date.now())
    if (limited) {
      stats.limited++
      if (slip++ % 2 === 1) return
    }
    const response = cache.respond(msg, options.zone(), 'udp')
    if (!response) return
    const bytes = limited ? slipAnswer(response.bytes, msg.length) : response.bytes
    if (bytes)
      udp.send(bytes, rinfo.port, rinfo.address, (err) => {
        if (err) stats.sendErrors++
      })
  })
  udp.on('error', (err) => options.log.warn('dns udp error', { error: err.message }))
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject)
    udp.bind(options.port, options.host, () => {
      udp.off('error', reject)
      resolve()
    })
  })
  const port = udp.address().port
  let tcp: Server
  try {
    tcp = await listenTcp(options, port, stats, cache)
  } catch (err) {
    udp.close()
    throw err
  }
  return {
    port,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        udp.close()
        tcp.close(() => resolve())
        for (const socket of open.get(tcp) ?? []) socket.destroy()
      }),
  }
}

/** A truncated answer: the header (TC set, counts zeroed) only, so never larger than the
 * query that asked. Null when the query was too short to echo. */
function slipAnswer(full: Buffer, queryBytes: number): Buffer | null {
  if (full.length < 12 || queryBytes < 12) return null
  const out = Buffer.from(full.subarray(0, 12))
  out.writeUInt16BE(out.readUInt16BE(2) | 0x0200, 2)
  out.fill(0, 4, 12)
  return out
}

const open = new WeakMap<Server, Set<Socket>>()

function listenTcp(
  options: DnsServerOptions,
  port: number,
  stats: DnsServer['stats'],
  cache: AnswerCache,
): Promise<Server> {
  const limits: DnsTcpLimits = {
    maxConnections: MAX_DNS_TCP_CONNECTIONS,
    maxPerAddress: MAX_DNS_TCP_CONNECTIONS_PER_ADDRESS,
    idleMs: DNS_TCP_IDLE_MS,
    queryDeadlineMs: DNS_TCP_QUERY_DEADLINE_MS,
    lifetimeMs: DNS_TCP_MAX_LIFETIME_MS,
    ...options.tcp,
  }
  const refusals = options.refusals ?? quietRefusals()
  const sockets = new Set<Socket>()
  /** Open connections by address: at most maxConnections entries, none at zero. */
  const byAddress = new Map<string, number>()
  const server = createServer((socket) => {
    const source = addressKey(clientIp(socket.remoteAddress ?? '', undefined, false))
    if (sockets.size >= limits.maxConnections) {
      refusals.refuse('dns-tcp-full', source, { open: sockets.size })
      socket.destroy()
      return
    }
    const open = byAddress.get(source) ?? 0
    if (open >= limits.maxPerAddress) {
      refusals.refuse('connections-per-address', source, { port: 'dns', open })
      socket.destroy()
      return
    }
    byAddress.set(source, open + 1)
    sockets.add(socket)
    socket.on('close', () => {
      sockets.delete(socket)
      const left = (byAddress.get(source) ?? 1) - 1
      if (left > 0) byAddress.set(source, left)
      else byAddress.delete(source)
    })
    serveTcp(socket, { ...options, refusals }, limits, source, stats, cache)
  })
  open.set(server, sockets)
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, options.host, () => {
      server.off('error', reject)
      resolve(server)
    })
  })
}

/** One TCP connection: length-prefixed queries in, length-prefixed answers out. */
function serveTcp(
  socket: Socket,
  options: DnsServerOptions & { refusals: Refusals },
  limits: DnsTcpLimits,
  source: string,
  stats: DnsServer['stats'],
  cache: AnswerCache,
): void {
  let buffered = Buffer.alloc(0)
  let answered = 0
  /** Runs from the first byte of a query until the query is whole. */
  let deadline: ReturnType<typeof setTimeout> | undefined
  const slow = (why: string) => () => {
    options.refusals.refuse('dns-tcp-slow', source, { why })
    socket.destroy()
  }
  const startDeadline = () => {
    clearTimeout(deadline)
    deadline = setTimeout(slow('query not complete in time'), limits.queryDeadlineMs)
  }
  const lifetime = setTimeout(slow('lifetime'), limits.lifetimeMs)
  socket.setTimeout(limits.idleMs, () => socket.destroy())
  socket.on('error', () => socket.destroy())
  socket.on('close', () => {
    clearTimeout(lifetime)
    clearTimeout(deadline)
  })
  socket.on('data', (chunk: Buffer) => {
    const answeredBefore = answered
    if (buffered.length === 0 && deadline === undefined) startDeadline()
    buffered = Buffer.concat([buffered, chunk])
    while (buffered.length >= 2) {
      const length = buffered.readUInt16BE(0)
      if (length > MAX_DNS_QUERY_BYTES) {
        // Cannot be a query of ours; the stream cannot be resynchronised.
        socket.destroy()
        return
      }
      if (buffered.length < 2 + length) break
      const query = buffered.subarray(2, 2 + length)
      buffered = Buffer.from(buffered.subarray(2 + length))
      stats.tcp++
      const response = cache.respond(query, options.zone(), 'tcp')
      if (!response) {
        socket.destroy()
        return
      }
      const frame = Buffer.alloc(2 + response.bytes.length)
      frame.writeUInt16BE(response.bytes.length, 0)
      response.bytes.copy(frame, 2)
      socket.write(frame)
      if (++answered >= MAX_DNS_TCP_QUERIES) {
        socket.end()
        return
      }
    }
    // What is left is part of one frame: a connection holding more is not speaking DNS.
    if (buffered.length > MAX_DNS_TCP_BUFFER_BYTES) socket.destroy()
    // Every query so far is whole: the next one's clock starts at its first byte. A query
    // whose first bytes came with the end of the last one starts its clock now.
    if (buffered.length === 0) {
      clearTimeout(deadline)
      deadline = undefined
    } else if (answered > answeredBefore) {
      startDeadline()
    }
  })
}
