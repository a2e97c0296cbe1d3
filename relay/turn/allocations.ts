// TURN allocation state (RFC 8656 §2.2, §6): one allocation per client 5-tuple, with its
// permissions (peer IP, §9) and channels (§12). Plain classes with no sockets of their own
// (the server attaches the relay socket and the way back to the client), so the quotas and
// expiry rules can be tested alone.

import type { Socket as UdpSocket } from 'node:dgram'
import { isIPv6 } from 'node:net'
import type { ByteBudget } from './byte-budget.ts'
import {
  MAX_TURN_CHANNELS_PER_ALLOCATION,
  MAX_TURN_PERMISSIONS_PER_ALLOCATION,
  TURN_CHANNEL_LIFETIME_SECONDS,
  TURN_PERMISSION_LIFETIME_SECONDS,
} from '../limits.ts'
import { ipv6Bytes } from './stun-message.ts'

export type ClientTransport = 'udp' | 'tcp' | 'tls'

/** The key quotas and rate budgets are kept under for a client address: the address for IPv4,
 * its /64 for IPv6 (one subscriber's prefix, RFC 6177), else one host could use 2^64 keys. */
export function sourceKey(ip: string): string {
  if (!isIPv6(ip)) return ip
  return `${Buffer.from(ipv6Bytes(ip).subarray(0, 8)).toString('hex')}/64`
}

/** The client side of an allocation: where answers and relayed data go. */
export interface ClientLink {
  /** The 5-tuple as a key: `udp|ip|port`, or one id per TCP/TLS connection. */
  readonly id: string
  readonly transport: ClientTransport
  readonly ip: string
  readonly port: number
  send(message: Buffer): void
  sendChannelData(channel: number, data: Buffer): void
  /** False once a TCP/TLS connection has closed. */
  isOpen(): boolean
  /** Called when the allocation on this link is freed. */
  freed(): void
}

export interface Channel {
  readonly number: number
  readonly peerIp: string
  readonly peerPort: number
  expiresMs: number
}

export class Allocation {
  readonly link: ClientLink
  readonly username: string
  /** The long-term key the Allocate was authenticated with: later requests must match. */
  readonly key: Buffer
  /** Transaction id of the Allocate (hex), and its answer, for retransmissions (§7.2). */
  readonly allocateTid: string
  answer: Buffer | null = null
  expiresMs: number
  socket: UdpSocket | null = null
  /** The byte budget this allocation's client address shares (TURN_ADDRESS_BANDWIDTH_SHARE);
   * null: no cap. */
  addressBudget: ByteBudget | null = null
  /** The relayed transport address given to the client (XOR-RELAYED-ADDRESS). */
  relayAddress = ''
  relayPort = 0
  /** Peer IP → expiry (ms). */
  readonly permissions = new Map<string, number>()
  readonly channels = new Map<number, Channel>()
  /** `ip:port` → channel. */
  readonly channelsByPeer = new Map<string, Channel>()

  constructor(
    link: ClientLink,
    username: string,
    key: Buffer,
    allocateTid: string,
    expiresMs: number,
  ) {
    this.link = link
    this.username = username
    this.key = key
    this.allocateTid = allocateTid
    this.expiresMs = expiresMs
  }

  permitted(peerIp: string, nowMs: number): boolean {
    const until = this.permissions.get(peerIp)
    return until !== undefined && until > nowMs
  }

  /** Installs or refreshes permissions for all of `peerIps`, or none when that would pass
   * MAX_TURN_PERMISSIONS_PER_ALLOCATION. */
  permit(peerIps: readonly string[], nowMs: number): boolean {
    const added = new Set(peerIps.filter((ip) => !this.permissions.has(ip))).size
    if (this.permissions.size + added > MAX_TURN_PERMISSIONS_PER_ALLOCATION) return false
    const until = nowMs + TURN_PERMISSION_LIFETIME_SECONDS * 1000
    for (const ip of peerIps) this.permissions.set(ip, until)
    return true
  }

  /** Binds or refreshes a channel (§12.2); a number or peer already bound otherwise conflicts. */
  bindChannel(
    number: number,
    peerIp: string,
    peerPort: number,
    nowMs: number,
  ): 'ok' | 'conflict' | 'full' {
    const peer = `${peerIp}:${peerPort}`
    const byNumber = this.channels.get(number)
    const byPeer = this.channelsByPeer.get(peer)
    if (byNumber !== byPeer) return 'conflict'
    if (!byNumber && this.channels.size >= MAX_TURN_CHANNELS_PER_ALLOCATION) return 'full'
    if (!this.permit([peerIp], nowMs)) return 'full'
    const expiresMs = nowMs + TURN_CHANNEL_LIFETIME_SECONDS * 1000
    if (byNumber) byNumber.expiresMs = expiresMs
    else {
      const channel: Channel = { number, peerIp, peerPort, expiresMs }
      this.channels.set(number, channel)
      this.channelsByPeer.set(peer, channel)
    }
    return 'ok'
  }

  /** Drops expired permissions and channels. */
  prune(nowMs: number): void {
    for (const [ip, until] of this.permissions) if (until <= nowMs) this.permissions.delete(ip)
    for (const [number, channel] of this.channels) {
      if (channel.expiresMs > nowMs) continue
      this.channels.delete(number)
      this.channelsByPeer.delete(`${channel.peerIp}:${channel.peerPort}`)
    }
  }
}

export type Reservation = 'ok' | 'quota-client' | 'quota-total'

/** Allocations by 5-tuple, with the per-address and total caps. A slot is reserved while the
 * relay socket is being bound, so a flood of concurrent Allocates cannot pass the caps. */
export class AllocationTable {
  readonly maxTotal: number
  readonly maxPerAddress: number
  readonly #byId = new Map<string, Allocation>()
  readonly #pending = new Set<string>()
  readonly #perAddress = new Map<string, number>()
  /** One byte budget per client address with an allocation, gone with its last one. */
  readonly #budgets = new Map<string, ByteBudget>()
  readonly #addressBudget: ((nowMs: number) => ByteBudget) | undefined

  constructor(
    maxTotal: number,
    maxPerAddress: number,
    /** Makes a client address's byte budget; absent: addresses are not capped apart. */
    addressBudget?: (nowMs: number) => ByteBudget,
  ) {
    this.maxTotal = maxTotal
    this.maxPerAddress = maxPerAddress
    this.#addressBudget = addressBudget
  }

  /** Allocations made, not counting reservations. */
  get size(): number {
    return this.#byId.size
  }

  get(id: string): Allocation | undefined {
    return this.#byId.get(id)
  }

  isPending(id: string): boolean {
    return this.#pending.has(id)
  }

  /** Allocations (and reservations) held by a client address (its /64 for IPv6). */
  countOf(ip: string): number {
    return this.#perAddress.get(sourceKey(ip)) ?? 0
  }

  values(): IterableIterator<Allocation> {
    return this.#byId.values()
  }

  reserve(id: string, ip: string): Reservation {
    if (this.countOf(ip) >= this.maxPerAddress) return 'quota-client'
    if (this.#byId.size + this.#pending.size >= this.maxTotal) return 'quota-total'
    this.#pending.add(id)
    this.#perAddress.set(sourceKey(ip), this.countOf(ip) + 1)
    return 'ok'
  }

  /** Turns a reservation into an allocation, with its address's byte budget. */
  commit(allocation: Allocation, nowMs = 0): void {
    this.#pending.delete(allocation.link.id)
    this.#byId.set(allocation.link.id, allocation)
    if (!this.#addressBudget) return
    const key = sourceKey(allocation.link.ip)
    let budget = this.#budgets.get(key)
    if (!budget) this.#budgets.set(key, (budget = this.#addressBudget(nowMs)))
    allocation.addressBudget = budget
  }

  /** Gives a reservation back (the relay socket could not be bound). */
  cancel(id: string, ip: string): void {
    if (this.#pending.delete(id)) this.#release(ip)
  }

  remove(id: string): Allocation | undefined {
    const allocation = this.#byId.get(id)
    if (!allocation) return undefined
    this.#byId.delete(id)
    this.#release(allocation.link.ip)
    return allocation
  }

  #release(ip: string): void {
    const n = this.countOf(ip) - 1
    if (n > 0) this.#perAddress.set(sourceKey(ip), n)
    else {
      this.#perAddress.delete(sourceKey(ip))
      this.#budgets.delete(sourceKey(ip))
    }
  }
}
