// A small TURN client (RFC 8656 §7-§12) over UDP or over a TCP/TLS stream, for tests and the
// benchmark: the long-term credential dance (401, then REALM/NONCE/MESSAGE-INTEGRITY, a 438
// retried once with the fresh nonce), permissions, channels, Send indications and ChannelData.

import { randomBytes } from 'node:crypto'
import dgram from 'node:dgram'
import type { Socket } from 'node:net'
import { longTermKey } from './credentials.ts'
import {
  Attr,
  MessageClass,
  Method,
  attribute,
  channelNumberValue,
  decodeChannelData,
  decodeStun,
  encodeChannelData,
  encodeStun,
  frameLength,
  readErrorCode,
  readUint32,
  readXorAddress,
  requestedTransportValue,
  uint32Value,
  xorAddressValue,
  type StunMessage,
  type TransportAddress,
} from './stun-message.ts'

type Attrs = { type: number; value: Uint8Array }[]

export class TurnRequestError extends Error {
  readonly code: number
  readonly response: StunMessage
  constructor(code: number, reason: string, response: StunMessage) {
    super(`TURN error ${code} ${reason}`)
    this.name = 'TurnRequestError'
    this.code = code
    this.response = response
  }
}

export interface ReceivedData {
  /** Set for ChannelData. */
  channel?: number
  /** Set for Data indications. */
  peer?: TransportAddress
  data: Buffer
}

export interface Allocated {
  relayed: TransportAddress
  mapped: TransportAddress
  lifetime: number
}

export class TurnTestClient {
  /** Messages received that answered no request of ours (and were not Data indications). */
  readonly unmatched: StunMessage[] = []
  readonly #write: (frame: Buffer) => void
  readonly #close: () => void
  readonly #padded: boolean
  readonly #pending = new Map<string, (msg: StunMessage) => void>()
  readonly #data: ReceivedData[] = []
  readonly #dataWaiters: ((d: ReceivedData) => void)[] = []
  #auth: { username: string; realm: string; nonce: string; key: Buffer } | null = null
  #closed = false
  /** Resolves when the connection closes (streams only). */
  readonly closed: Promise<void>
  /** This client's own address, as the server should see it. */
  readonly local: { address: string; port: number }

  private constructor(
    write: (f: Buffer) => void,
    close: () => void,
    padded: boolean,
    closed: Promise<void>,
    local: { address: string; port: number },
  ) {
    this.#write = write
    this.#close = close
    this.#padded = padded
    this.closed = closed
    this.local = local
  }

  /** A client on a fresh UDP socket bound to `localHost`, talking to host:port. */
  static async udp(
    port: number,
    host = '127.0.0.1',
    localHost = '127.0.0.1',
  ): Promise<TurnTestClient> {
    const socket = dgram.createSocket('udp4')
    await new Promise<void>((resolve) => socket.bind(0, localHost, resolve))
    const client = new TurnTestClient(
      (frame) => socket.send(frame, port, host),
      () => socket.close(),
      false,
      new Promise(() => {}),
      { address: socket.address().address, port: socket.address().port },
    )
    socket.on('message', (msg) => client.#receive(msg))
    return client
  }

  /** A client over a connected TCP or TLS socket. */
  static stream(socket: Socket): TurnTestClient {
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    const client = new TurnTestClient(
      (frame) => socket.write(frame),
      () => socket.destroy(),
      true,
      closed,
      { address: socket.localAddress ?? '', port: socket.localPort ?? 0 },
    )
    let buf = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      for (;;) {
        const length = frameLength(buf, 0)
        if (length === 0 || buf.length < length) return
        client.#receive(buf.subarray(0, length))
        buf = buf.subarray(length)
      }
    })
    socket.on('error', () => {})
    return client
  }

  sendRaw(bytes: Buffer): void {
    this.#write(bytes)
  }

  /** Sends a request and waits for the answer with its transaction id. */
  request(
    method: number,
    attributes: Attrs = [],
    options: { key?: Buffer; timeoutMs?: number } = {},
  ): Promise<StunMessage> {
    const transactionId = randomBytes(12)
    const bytes = encodeStun(
      { method, cls: MessageClass.Request, transactionId, attributes },
      { integrityKey: options.key, fingerprint: true },
    )
    return this.requestRaw(bytes, options.timeoutMs)
  }

  /** Sends an encoded request; resolves with the message answering its transaction id. */
  requestRaw(bytes: Buffer, timeoutMs = 5000): Promise<StunMessage> {
    const tid = bytes.subarray(8, 20).toString('hex')
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(tid)
        reject(new Error(`no answer to ${tid} in ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(tid, (msg) => {
        clearTimeout(timer)
        resolve(msg)
      })
      this.#write(bytes)
    })
  }

  /** An authenticated request: the stored credentials, one retry after 438 Stale Nonce. */
  async authenticated(method: number, attributes: Attrs = []): Promise<StunMessage> {
    const auth = this.#auth
    if (!auth) throw new Error('allocate first')
    const answer = await this.request(method, [...attributes, ...this.#credentialAttrs()], {
      key: auth.key,
    })
    const error = errorOf(answer)
    if (error?.code === 438) {
      auth.nonce = attribute(answer, Attr.Nonce)!.toString()
      return this.request(method, [...attributes, ...this.#credentialAttrs()], { key: auth.key })
    }
    return answer
  }

  /** Allocate with the credential dance (RFC 8656 §7.1). Throws TurnRequestError. */
  async allocate(
    username: string,
    password: string,
    extra: Attrs = [],
    transport = 17,
  ): Promise<Allocated> {
    const attrs: Attrs = [
      { type: Attr.RequestedTransport, value: requestedTransportValue(transport) },
      ...extra,
    ]
    const first = await this.request(Method.Allocate, attrs)
    const challenge = errorOf(first)
    if (challenge?.code !== 401) throw failed(first)
    const realm = attribute(first, Attr.Realm)!.toString()
    const nonce = attribute(first, Attr.Nonce)!.toString()
    this.#auth = { username, realm, nonce, key: longTermKey(username, realm, password) }
    const answer = await this.authenticated(Method.Allocate, attrs)
    if (answer.cls !== MessageClass.Success) throw failed(answer)
    const tid = answer.transactionId
    return {
      relayed: readXorAddress(attribute(answer, Attr.XorRelayedAddress)!, tid),
      mapped: readXorAddress(attribute(answer, Attr.XorMappedAddress)!, tid),
      lifetime: readUint32(attribute(answer, Attr.Lifetime)!),
    }
  }

  async refresh(lifetime?: number): Promise<number> {
    const attrs =
      lifetime === undefined ? [] : [{ type: Attr.Lifetime, value: uint32Value(lifetime) }]
    const answer = await this.authenticated(Method.Refresh, attrs)
    if (answer.cls !== MessageClass.Success) throw failed(answer)
    return readUint32(attribute(answer, Attr.Lifetime)!)
  }

  async createPermission(...peers: string[]): Promise<void> {
    const attrs = peers.map((ip) => ({ type: Attr.XorPeerAddress, value: peerValue(ip, 0) }))
    const answer = await this.authenticated(Method.CreatePermission, attrs)
    if (answer.cls !== MessageClass.Success) throw failed(answer)
  }

  async channelBind(channel: number, peer: { address: string; port: number }): Promise<void> {
    const answer = await this.authenticated(Method.ChannelBind, [
      { type: Attr.ChannelNumber, value: channelNumberValue(channel) },
      { type: Attr.XorPeerAddress, value: peerValue(peer.address, peer.port) },
    ])
    if (answer.cls !== MessageClass.Success) throw failed(answer)
  }

  sendIndication(peer: { address: string; port: number }, data: Uint8Array): void {
    const transactionId = randomBytes(12)
    const attributes = [
      { type: Attr.XorPeerAddress, value: xorAddressValue(peer.address, peer.port, transactionId) },
      { type: Attr.Data, value: data },
    ]
    this.#write(
      encodeStun({ method: Method.Send, cls: MessageClass.Indication, transactionId, attributes }),
    )
  }

  sendChannelData(channel: number, data: Uint8Array): void {
    this.#write(encodeChannelData(channel, data, this.#padded))
  }

  /** The next relayed data received (ChannelData or Data indication). */
  nextData(timeoutMs = 5000): Promise<ReceivedData> {
    const ready = this.#data.shift()
    if (ready) return Promise.resolve(ready)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no data in ${timeoutMs} ms`)), timeoutMs)
      this.#dataWaiters.push((d) => {
        clearTimeout(timer)
        resolve(d)
      })
    })
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#close()
  }

  #credentialAttrs(): Attrs {
    const auth = this.#auth!
    return [
      { type: Attr.Username, value: Buffer.from(auth.username) },
      { type: Attr.Realm, value: Buffer.from(auth.realm) },
      { type: Attr.Nonce, value: Buffer.from(auth.nonce) },
    ]
  }

  #receive(bytes: Buffer): void {
    if ((bytes[0] & 0xc0) === 0x40) {
      const { channel, data } = decodeChannelData(bytes)
      this.#deliver({ channel, data: Buffer.from(data) })
      return
    }
    const msg = decodeStun(Buffer.from(bytes))
    if (msg.cls === MessageClass.Indication && msg.method === Method.Data) {
      const peer = readXorAddress(attribute(msg, Attr.XorPeerAddress)!, msg.transactionId)
      this.#deliver({ peer, data: Buffer.from(attribute(msg, Attr.Data)!) })
      return
    }
    const tid = msg.transactionId.toString('hex')
    const waiter = this.#pending.get(tid)
    if (!waiter) {
      this.unmatched.push(msg)
      return
    }
    this.#pending.delete(tid)
    waiter(msg)
  }

  #deliver(d: ReceivedData): void {
    const waiter = this.#dataWaiters.shift()
    if (waiter) waiter(d)
    else this.#data.push(d)
  }
}

/** The ERROR-CODE of an error answer, or undefined. */
export function errorOf(msg: StunMessage): { code: number; reason: string } | undefined {
  if (msg.cls !== MessageClass.Error) return undefined
  const value = attribute(msg, Attr.ErrorCode)
  return value ? readErrorCode(value) : { code: 0, reason: 'no ERROR-CODE' }
}

function failed(msg: StunMessage): TurnRequestError {
  const error = errorOf(msg) ?? { code: 0, reason: 'unexpected answer' }
  return new TurnRequestError(error.code, error.reason, msg)
}

/** XOR-PEER-ADDRESS values do not depend on the transaction id for IPv4. */
function peerValue(ip: string, port: number): Buffer {
  return xorAddressValue(ip, port, Buffer.alloc(12))
}
