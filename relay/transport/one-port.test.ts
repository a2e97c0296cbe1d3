// The one port on real sockets: HTTP, HTTPS, WebSocket (plain and TLS), TURN over TCP and
// over TLS (a stub that echoes, standing in for relay/turn/) and TLS-ALPN-01 challenge
// certificates all answered on the same port; garbage and silence closed; a certificate
// swapped without a restart.

import { X509Certificate } from 'node:crypto'
import { createServer as createHttpServer, request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { connect, type Socket } from 'node:net'
import { connect as tlsConnect, createSecureContext } from 'node:tls'
import { generate } from 'selfsigned'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { OnePort, classify, type TurnStreams } from './one-port.ts'

const ascii = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'))
/** A STUN Binding request header (RFC 8489 §5): type 0x0001, length 0, cookie, id. */
const STUN = Uint8Array.from([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, ...new Array<number>(12).fill(9)])

describe('classify', () => {
  it('tells TLS, STUN and HTTP apart by their first bytes', () => {
    expect(classify(Uint8Array.from([0x16, 0x03, 0x01, 0x02, 0x00]))).toBe('tls')
    expect(classify(STUN)).toBe('turn')
    // ChannelData never opens a connection (it needs an allocation made on it): HTTP's 400.
    expect(classify(Uint8Array.from([0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4]))).toBe('http')
    expect(classify(Uint8Array.from([0x4f, 0xff, 0x00, 0x00]))).toBe('http')
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'DELETE', 'CONNECT', 'POST', 'PUT', 'PRI']) {
      expect(classify(ascii(`${method} / HTTP/1.1\r\n`))).toBe('http')
    }
    expect(classify(ascii('M-SEARCH * HTTP/1.1\r\n'))).toBe('http')
  })

  it('waits for more bytes while the kind is open', () => {
    expect(classify(new Uint8Array())).toBeUndefined()
    expect(classify(Uint8Array.from([0x16]))).toBeUndefined()
    expect(classify(STUN.subarray(0, 7))).toBeUndefined()
  })

  it('sends everything else to HTTP, whose parser answers garbage with a 400', () => {
    expect(classify(Uint8Array.from([0x16, 0x01]))).toBe('http')
    expect(classify(Uint8Array.from([0, 1, 0, 0, 1, 2, 3, 4]))).toBe('http')
    expect(classify(Uint8Array.from([0xff, 0xfe]))).toBe('http')
    expect(classify(ascii('get / HTTP/1.1'))).toBe('http')
    expect(classify(ascii(' GET / HTTP/1.1'))).toBe('http')
    expect(classify(ascii('X'.repeat(40)))).toBe('http')
    expect(classify(ascii('G'.repeat(40)))).toBe('http')
  })

  it('finds no TLS inside TLS', () => {
    expect(classify(Uint8Array.from([0x16, 0x03, 0x01, 0, 1, 1, 0, 0]), true)).toBe('http')
    expect(classify(STUN, true)).toBe('turn')
    expect(classify(ascii('GET / HTTP/1.1'), true)).toBe('http')
  })
})

async function certificate(name: string) {
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  })
  return { cert: pems.cert, key: pems.private, source: name }
}

/** Echoes every byte back, after a tag naming the transport it was given. */
class EchoTurn implements TurnStreams {
  readonly seen: string[] = []
  handleStream(socket: Socket, transport: 'tcp' | 'tls'): void {
    this.seen.push(transport)
    socket.write(`${transport}:`)
    socket.on('data', (chunk: Buffer) => socket.write(chunk))
  }
}

const open: OnePort[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()))
})

async function onePort(options: { tls?: boolean; turn?: boolean; sniffTimeoutMs?: number } = {}) {
  const http = createHttpServer((req, res) => {
    res.end(`${req.socket.remoteAddress} ${'encrypted' in req.socket ? 'https' : 'http'}`)
  })
  const wss = new WebSocketServer({ noServer: true })
  http.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(`echo ${m}`))),
  )
  const turn = new EchoTurn()
  const tls = options.tls === false ? undefined : await certificate('first')
  const challenges = new Map<string, ReturnType<typeof createSecureContext>>()
  const port = new OnePort({
    http,
    tls,
    turn: options.turn === false ? undefined : turn,
    acme: { alpnContext: (name) => challenges.get(name) },
    sniffTimeoutMs: options.sniffTimeoutMs,
  })
  open.push(port)
  const { port: number } = await port.listen(0, '127.0.0.1')
  return { port, number, turn, tls, challenges }
}

function get(url: string, ca?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = url.startsWith('https') ? httpsRequest : httpRequest
    const req = request(url, { ca, agent: false }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c))
      res.on('end', () => resolve(body))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Sends `bytes` on a fresh connection; resolves with all it got back once it is closed, or
 * once `until` bytes have arrived. */
function exchange(socket: Socket, bytes: Uint8Array, until = Infinity): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let got = 0
    socket.on('data', (c: Buffer) => {
      chunks.push(c)
      got += c.length
      if (got >= until) {
        socket.destroy()
        resolve(Buffer.concat(chunks))
      }
    })
    socket.on('close', () => resolve(Buffer.concat(chunks)))
    socket.on('error', reject)
    socket.write(bytes)
  })
}

function tcp(port: number): Socket {
  return connect(port, '127.0.0.1')
}

function tlsSocket(
  port: number,
  ca: string,
  ALPNProtocols?: string[],
  servername?: string,
  checkName = true,
) {
  // A TLS-ALPN-01 validator checks the certificate's SAN and extension, not the SNI name.
  const skipNameCheck = checkName ? {} : { checkServerIdentity: () => undefined }
  return tlsConnect({ host: '127.0.0.1', port, ca, ALPNProtocols, servername, ...skipNameCheck })
}

describe('one port on real sockets', () => {
  it('serves HTTP, HTTPS, WS, WSS and TURN over TCP and TLS on the same port', async () => {
    const { number, turn, tls } = await onePort()
    expect(await get(`http://127.0.0.1:${number}/`)).toBe('127.0.0.1 http')
    expect(await get(`https://127.0.0.1:${number}/`, tls!.cert)).toBe('127.0.0.1 https')

    for (const [url, ca] of [
      [`ws://127.0.0.1:${number}/`, undefined],
      [`wss://127.0.0.1:${number}/`, tls!.cert],
    ] as const) {
      const ws = new WebSocket(url, { ca })
      const reply = await new Promise<string>((resolve, reject) => {
        ws.once('open', () => ws.send('hi'))
        ws.once('message', (m) => resolve(String(m)))
        ws.once('error', reject)
      })
      ws.close()
      expect(reply).toBe('echo hi')
    }

    const overTcp = await exchange(tcp(number), STUN, 4 + STUN.length)
    expect(overTcp).toEqual(Buffer.concat([Buffer.from('tcp:'), STUN]))

    const secure = tlsSocket(number, tls!.cert, ['stun.turn'])
    await new Promise((resolve) => secure.once('secureConnect', resolve))
    expect(secure.alpnProtocol).toBe('stun.turn')
    const overTls = await exchange(secure, STUN, 4 + STUN.length)
    expect(overTls).toEqual(Buffer.concat([Buffer.from('tls:'), STUN]))
    expect(turn.seen).toEqual(['tcp', 'tls'])
  })

  it('answers garbage, and TLS or TURN it has no server for, with 400; closes silence', async () => {
    const { number } = await onePort({ tls: false, turn: false, sniffTimeoutMs: 200 })
    const status = async (bytes: Uint8Array) =>
      /^HTTP\/1\.1 (\d{3})/.exec((await exchange(tcp(number), bytes)).toString('latin1'))?.[1]
    for (const garbage of [
      Uint8Array.from([0xff, 0, 1, 2, 13, 10, 13, 10]),
      Uint8Array.from([0, 1, 0, 0, 1, 2, 3, 4, 13, 10, 13, 10]),
      ascii('X'.repeat(100) + '\r\n\r\n'),
      STUN, // no TURN here
      Uint8Array.from([0x40, 0x01, 0x00, 0x02, 0xab, 0xcd, 13, 10, 13, 10]), // ChannelData first
      Uint8Array.from([0x16, 0x03, 0x01, 0x00, 0x01, 0x01]), // no TLS here
    ]) {
      expect(await status(garbage)).toBe('400')
    }
    expect(await exchange(tcp(number), new Uint8Array())).toHaveLength(0) // silent: closed
    // A ClientHello record that never completes (ACME waits for the whole first record).
    const partialHello = Uint8Array.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00])
    expect(await exchange(tcp(number), partialHello)).toHaveLength(0)
    // Still serving.
    expect(await get(`http://127.0.0.1:${number}/`)).toBe('127.0.0.1 http')
  })

  it("keeps the HTTP server's own timeouts: a header block never finished gets a 408", async () => {
    // Node checks these on an interval it starts on 'listening', which OnePort emits for it.
    const timeouts = { headersTimeout: 300, requestTimeout: 600, connectionsCheckingInterval: 50 }
    const http = createHttpServer(timeouts, (_req, res) => res.end('ok'))
    const port = new OnePort({ http })
    open.push(port)
    const { port: number } = await port.listen(0, '127.0.0.1')
    const reply = await exchange(tcp(number), ascii('GET / HTTP/1.1\r\nHost: x\r\n'))
    expect(reply.toString('latin1')).toMatch(/^HTTP\/1\.1 408/)
  })

  it('swaps its certificate for new connections without a restart', async () => {
    const { port, number, tls } = await onePort()
    const next = await certificate('second')
    const served = async (ca: string) => {
      const socket = tlsSocket(number, ca)
      await new Promise((resolve, reject) => {
        socket.once('secureConnect', resolve)
        socket.once('error', reject)
      })
      const cn = socket.getPeerX509Certificate()!.subject
      socket.destroy()
      return cn
    }
    expect(await served(tls!.cert)).toBe('CN=first')
    port.setTls(next)
    expect(await served(next.cert)).toBe('CN=second')
    expect(await get(`https://127.0.0.1:${number}/`, next.cert)).toBe('127.0.0.1 https')
  })

  it('answers a pending TLS-ALPN-01 challenge with its certificate, and only then', async () => {
    const { number, tls, challenges } = await onePort()
    const challenge = await certificate('challenge')
    challenges.set('1.0.0.127.in-addr.arpa', createSecureContext(challenge))
    const handshake = async (alpn: string[], servername: string, ca: string, checkName = false) => {
      const socket = tlsSocket(number, ca, alpn, servername, checkName)
      await new Promise((resolve, reject) => {
        socket.once('secureConnect', resolve)
        socket.once('error', reject)
      })
      const seen = {
        alpn: socket.alpnProtocol,
        cert: new X509Certificate(socket.getPeerCertificate(false).raw).subject,
      }
      socket.destroy()
      return seen
    }
    expect(await handshake(['acme-tls/1'], '1.0.0.127.in-addr.arpa', challenge.cert)).toEqual({
      alpn: 'acme-tls/1',
      cert: 'CN=challenge',
    })
    // Another name, or no acme-tls/1 offered: the relay's own certificate.
    expect(await handshake(['http/1.1'], '1.0.0.127.in-addr.arpa', tls!.cert)).toEqual({
      alpn: 'http/1.1',
      cert: 'CN=first',
    })
    const other = await handshake(
      ['acme-tls/1', 'http/1.1'],
      'other.example',
      tls!.cert,
      true,
    ).catch((err: Error) => err)
    // No challenge for that name: normal TLS (the hostname check fails, the certificate is ours).
    expect(String(other)).toMatch(/other\.example/)
  })
})
