// The STUN/TURN server (RFC 8489, RFC 8656): UDP relaying for clients over UDP, TCP or TLS.
// This file owns the sockets: the UDP socket on the relay's port, the TCP/TLS streams the
// one-port listener hands over, and one UDP relay socket per allocation. Requests are
// answered by requests.ts over the state in allocations.ts; relayed data goes through
// data-path.ts.

import { randomBytes } from 'node:crypto'
import type dgram from 'node:dgram'
import { isIPv4, isIPv6, type Socket } from 'node:net'
import { BoundedMap } from '../../shared/bounded-map.ts'
import { RateLimiter } from '../budget/quotas.ts'
import {
  MAX_TURN_ALLOCATIONS_PER_ADDRESS,
  TURN_ADDRESS_BANDWIDTH_SHARE,
  MAX_TURN_MESSAGE_BYTES,
  MAX_TURN_RATE_BUCKETS,
  MAX_TURN_WARNED_SOURCES,
  TURN_SWEEP_INTERVAL_MS,
  TURN_UNAUTH_BURST,
  TURN_UDP_SOCKET_BUFFER_BYTES,
  TURN_UNAUTH_REQUESTS_PER_SECOND,
  TURN_WARN_INTERVAL_MS,
} from '../limits.ts'
import type { Logger } from '../log.ts'
import { Allocation, AllocationTable, sourceKey, type ClientLink } from './allocations.ts'
import { ByteBudget } from './byte-budget.ts'
import { NonceIssuer } from './credentials.ts'
import {
  answerBinding,
  answerTurnRequest,
  type AllocateRequest,
  type AllocateResult,
  type RefusalReason,
  type TurnCore,
} from './requests.ts'
import { bindRelaySocket } from './relay-socket.ts'
import { TurnStream } from './turn-stream.ts'
import { DataPath } from './data-path.ts'
import { createUdpSocket } from './udp-socket.ts'
import { emptyStats, type TurnStats } from './stats.ts'
import { MessageClass, Method, decodeStun } from './stun-message.ts'

export type { TurnStats } from './stats.ts'

export interface TurnServerInit {
  realm: string
  secret: string
  stun: boolean
  turn: boolean
  relayPorts: { min: number; max: number }
  /** Bind address of relay sockets, e.g. '0.0.0.0' (IPv4). */
  relayHost: string
  /** IPv4 put in XOR-RELAYED-ADDRESS. */
  relayAddress: string
  maxAllocations: number
  /** Bytes/s relayed over all allocations, both directions counted; 0 = no cap. */
  maxBandwidth: number
  localNetwork: boolean
  /** "Peers the browser signalled"; absent = allow. */
  mayPermit?: (clientIp: string, peerIp: string) => boolean
  log: Logger
  /** Milliseconds since the epoch. */
  now?: () => number
}

export function createTurnServer(init: TurnServerInit): TurnServer {
  return new TurnServer(init)
}

/** `::ffff:a.b.c.d` (a dual-stack socket's view of an IPv4 client) as `a.b.c.d`. */
function plainIp(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address
}

export class TurnServer {
  readonly stats: TurnStats = emptyStats()
  readonly #init: TurnServerInit
  readonly #now: () => number
  readonly #table: AllocationTable
  readonly #core: TurnCore
  readonly #rate = new RateLimiter({
    perMinute: TURN_UNAUTH_REQUESTS_PER_SECOND * 60,
    burst: TURN_UNAUTH_BURST,
    maxKeys: MAX_TURN_RATE_BUCKETS,
  })
  readonly #data: DataPath
  readonly #udp: dgram.Socket[] = []
  readonly #listenPorts: number[] = []
  readonly #streams = new Set<TurnStream>()
  /** When each kind and source was last warned about, the longest ago dropped first. */
  readonly #warned = new BoundedMap<string, number>({
    maxSize: MAX_TURN_WARNED_SOURCES,
    order: 'oldest',
  })
  /** Live allocations by the port of their relay socket (all on relayAddress). */
  readonly #byRelayPort = new Map<number, Allocation>()
  readonly #sweepTimer: NodeJS.Timeout
  #streamCount = 0
  #closed = false

  constructor(init: TurnServerInit) {
    const { min, max } = init.relayPorts
    if (!init.realm || !init.secret) throw new TypeError('TURN realm and secret must be set')
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max > 65535 || min > max) {
      throw new RangeError('TURN relay ports: 0 <= min <= max <= 65535')
    }
    if (!isIPv4(init.relayHost) || !isIPv4(init.relayAddress)) {
      throw new TypeError('TURN relayHost and relayAddress must be IPv4 addresses')
    }
    if (!(init.maxAllocations >= 0) || !(init.maxBandwidth >= 0)) {
      throw new RangeError('TURN maxAllocations and maxBandwidth must not be negative')
    }
    this.#init = init
    this.#now = init.now ?? Date.now
    // Bursts of a second's worth, and never less than a full-size packet.
    const burst = Math.max(init.maxBandwidth, 2 * MAX_TURN_MESSAGE_BYTES)
    const share = init.maxBandwidth * TURN_ADDRESS_BANDWIDTH_SHARE
    this.#table = new AllocationTable(
      init.maxAllocations,
      MAX_TURN_ALLOCATIONS_PER_ADDRESS,
      init.maxBandwidth > 0
        ? (nowMs) => new ByteBudget(share, nowMs, Math.max(share, 2 * MAX_TURN_MESSAGE_BYTES))
        : undefined,
    )
    this.#data = new DataPath({
      stats: this.stats,
      budget: new ByteBudget(init.maxBandwidth, this.#now(), burst),
      now: this.#now,
      relayAddress: init.relayAddress,
      listenPorts: this.#listenPorts,
      onBandwidthHit: () => this.#bandwidthHit(),
      allocationAt: (port) => this.#byRelayPort.get(port),
    })
    this.#core = {
      realm: init.realm,
      secret: init.secret,
      localNetwork: init.localNetwork,
      mayPermit: init.mayPermit,
      table: this.#table,
      nonces: new NonceIssuer(randomBytes(32)),
      now: this.#now,
      chargeUnauthenticated: (ip) => {
        if (this.#rate.takeAll(sourceKey(ip), 1, this.#now())) return true
        this.#refused('rate', ip)
        return false
      },
      refused: (reason, ip) => this.#refused(reason, ip),
      allocate: (link, request) => this.#allocate(link, request),
      free: (allocation) => this.#free(allocation),
    }
    this.#sweepTimer = setInterval(() => this.sweep(), TURN_SWEEP_INTERVAL_MS).unref()
  }

  /** Binds the UDP socket for STUN and TURN; returns the bound port. */
  async listenUdp(port: number, host: string): Promise<number> {
    const socket = createUdpSocket(isIPv6(host) ? 'udp6' : 'udp4')
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(port, host, () => {
        socket.off('error', reject)
        resolve()
      })
    })
    socket.on('error', (err) => this.#init.log.warn('turn: udp socket error', { err: err.message }))
    // Linux caps the buffers asked for at net.core.rmem_max / wmem_max (and reports twice
    // what it granted): say so, since relayed packets are then dropped under load.
    const granted = Math.min(socket.getRecvBufferSize(), socket.getSendBufferSize())
    if (granted < TURN_UDP_SOCKET_BUFFER_BYTES) {
      this.#init.log.info('turn: udp socket buffers capped by net.core.rmem_max/wmem_max', {
        asked: TURN_UDP_SOCKET_BUFFER_BYTES,
        granted,
      })
    }
    socket.on('message', (msg, rinfo) => this.#onUdp(socket, msg, rinfo.address, rinfo.port))
    this.#udp.push(socket)
    this.#listenPorts.push(socket.address().port)
    return socket.address().port
  }

  /** Serves a TCP or TLS connection already recognised as STUN/TURN (its first bytes put back):
   * framed STUN messages and padded ChannelData. Its allocation dies with it. */
  handleStream(socket: Socket, transport: 'tcp' | 'tls'): void {
    if (this.#closed) {
      socket.destroy()
      return
    }
    const id = `${transport}#${++this.#streamCount}`
    const ip = plainIp(socket.remoteAddress ?? '')
    const stream: TurnStream = new TurnStream(socket, id, transport, ip, socket.remotePort ?? 0, {
      onStun: (frame) => this.#onStun(frame, id, () => stream.link),
      onChannelData: (frame) => {
        const allocation = this.#table.get(id)
        if (allocation) this.#data.fromClientChannel(allocation, frame)
      },
      onClose: () => {
        this.#streams.delete(stream)
        const allocation = this.#table.get(id)
        if (allocation) this.#free(allocation)
      },
      hasAllocation: () => this.#table.get(id) !== undefined || this.#table.isPending(id),
    })
    this.#streams.add(stream)
  }

  /** Allocations (and allocations being made) held by a client address. */
  allocationsOf(ip: string): number {
    return this.#table.countOf(plainIp(ip))
  }

  /** Frees expired allocations, permissions and channels (the sweep timer runs it). */
  sweep(): void {
    const now = this.#now()
    for (const allocation of this.#table.values()) {
      if (allocation.expiresMs <= now) this.#free(allocation)
      else allocation.prune(now)
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#sweepTimer)
    for (const allocation of this.#table.values()) this.#free(allocation)
    for (const stream of this.#streams) stream.destroy()
    await Promise.all(
      this.#udp.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    )
  }

  #onUdp(socket: dgram.Socket, msg: Buffer, address: string, port: number): void {
    if (msg.length < 4 || msg.length > MAX_TURN_MESSAGE_BYTES) return
    const ip = plainIp(address)
    const id = `udp|${ip}|${port}`
    const first = msg[0] & 0xc0
    if (first === 0x40) {
      const allocation = this.#table.get(id)
      if (allocation) this.#data.fromClientChannel(allocation, msg)
    } else if (first === 0) {
      this.#onStun(msg, id, () => udpLink(socket, id, ip, address, port))
    }
  }

  /** Handles one STUN message; false when it is malformed (a stream is then closed). */
  #onStun(frame: Buffer, id: string, linkOf: () => ClientLink): boolean {
    let msg
    try {
      msg = decodeStun(frame)
    } catch {
      return false
    }
    if (msg.cls === MessageClass.Indication) {
      const allocation = msg.method === Method.Send ? this.#table.get(id) : undefined
      if (allocation && this.#init.turn) this.#data.sendIndication(allocation, msg)
      return true
    }
    if (msg.cls !== MessageClass.Request) return true
    const link = linkOf()
    if (msg.method === Method.Binding) {
      if (!this.#init.stun) return true
      this.stats.bindingRequests++
      const out = answerBinding(this.#core, link, msg)
      if (out) link.send(out)
      return true
    }
    // With TURN off, TURN requests go unanswered: nothing to learn, nothing to reflect.
    if (!this.#init.turn) return true
    answerTurnRequest(this.#core, link, msg).then(
      (out) => {
        if (out && !this.#closed) link.send(out)
      },
      (err: Error) => this.#init.log.error('turn: request failed', { err: err.message }),
    )
    return true
  }

  async #allocate(link: ClientLink, request: AllocateRequest): Promise<AllocateResult> {
    const reserved = this.#table.reserve(link.id, link.ip)
    if (reserved !== 'ok') {
      this.#refused(reserved, link.ip)
      return reserved
    }
    const { relayHost, relayPorts } = this.#init
    const socket = await bindRelaySocket(relayHost, relayPorts, request.evenPort)
    if (!socket || this.#closed || !link.isOpen()) {
      this.#table.cancel(link.id, link.ip)
      socket?.close()
      if (!socket) this.#warnOnce('no relay port', 'relay', { ports: this.#init.relayPorts })
      return 'no-port'
    }
    const expiresMs = this.#now() + request.lifetimeSeconds * 1000
    const allocation = new Allocation(link, request.username, request.key, request.tid, expiresMs)
    allocation.socket = socket
    allocation.relayAddress = this.#init.relayAddress
    allocation.relayPort = socket.address().port
    socket.on('message', (msg, rinfo) =>
      this.#data.fromPeer(allocation, msg, rinfo.address, rinfo.port),
    )
    socket.on('error', (err) =>
      this.#init.log.debug('turn: relay socket error', { err: err.message }),
    )
    this.#table.commit(allocation, this.#now())
    this.#byRelayPort.set(allocation.relayPort, allocation)
    this.stats.allocationsMade++
    this.stats.allocationsActive[link.transport]++
    return allocation
  }

  #free(allocation: Allocation): void {
    if (this.#table.remove(allocation.link.id) !== allocation) return
    if (this.#byRelayPort.get(allocation.relayPort) === allocation) {
      this.#byRelayPort.delete(allocation.relayPort)
    }
    allocation.socket?.close()
    allocation.socket = null
    this.stats.allocationsActive[allocation.link.transport]--
    allocation.link.freed()
  }

  #refused(reason: RefusalReason, ip: string): void {
    this.stats.refused[reason]++
    if (reason === 'rate' || reason === 'quota-client' || reason === 'quota-total') {
      this.#warnOnce(`budget hit: ${reason}`, ip)
    }
  }

  #bandwidthHit(): void {
    this.stats.droppedForBandwidth++
    this.#warnOnce('budget hit: bandwidth', 'relay', { maxBandwidth: this.#init.maxBandwidth })
  }

  /** A warning at most once per TURN_WARN_INTERVAL_MS for one kind and source. */
  #warnOnce(kind: string, source: string, fields: Record<string, unknown> = {}): void {
    const key = `${kind}|${source}`
    const now = this.#now()
    const last = this.#warned.get(key)
    if (last !== undefined && now - last < TURN_WARN_INTERVAL_MS) return
    this.#warned.set(key, now)
    this.#init.log.warn(`turn: ${kind}`, { source, ...fields })
  }
}

/** `ip` names the client (IPv4-mapped addresses unwrapped); `address` is where to send. */
function udpLink(
  socket: dgram.Socket,
  id: string,
  ip: string,
  address: string,
  port: number,
): ClientLink {
  return {
    id,
    transport: 'udp',
    ip,
    port,
    send: (message) => socket.send(message, port, address),
    sendChannelData: (channel, data) => {
      const header = Buffer.allocUnsafe(4)
      header.writeUInt16BE(channel, 0)
      header.writeUInt16BE(data.length, 2)
      socket.send([header, data], port, address)
    },
    isOpen: () => true,
    freed: () => {},
  }
}
