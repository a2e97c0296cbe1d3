// The sealing WebSocket's surface, against a small server on 127.0.0.1 that speaks the sealed
// stream (shared/sealed/stream.ts) with `ws` standing in for the browser's WebSocket. The
// relay's own end is tested with the real relay in relay/test/ws-sealed.test.ts.

import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import { createIdentity } from '../../shared/identity.ts'
import { parseRequest, receiverKey } from '../../shared/sealed/envelope.ts'
import { SEALED_WS_PROTOCOL, SealedStream } from '../../shared/sealed/stream.ts'
import { RelayIds, installSealedWebSocket, sealingWebSocket } from './sealed-websocket.ts'

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n))
const now = () => Math.floor(Date.now() / 1000)
const Native = WebSocket as unknown as typeof globalThis.WebSocket

interface Seen {
  protocol: string
  binary: boolean
  text: string
}

/** A relay in miniature: GET /v1/hello gives its id; the WebSocket echoes each message as
 * {"echo": …}, sealed when the socket asked for the subprotocol. */
async function miniRelay(
  behaviour: { id?: boolean; close?: number; tamper?: boolean; port?: number } = {},
) {
  const identity = createIdentity()
  let hellos = 0
  const seen: Seen[] = []
  const http: Server = createServer((req, res) => {
    if (req.url === '/v1/hello' && behaviour.id !== false) {
      hellos++
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ id: identity.id }))
      return
    }
    res.writeHead(404).end()
  })
  const wss = new WebSocketServer({ server: http })
  wss.on('connection', (ws) => {
    let stream: SealedStream | null = null
    ws.on('message', (data: Buffer, binary: boolean) => {
      const bytes = new Uint8Array(data)
      let text: string
      if (ws.protocol === SEALED_WS_PROTOCOL) {
        if (!stream) {
          const req = parseRequest(bytes, 1 << 20)
          // As the relay does (relay/tracker/ws-sealed.ts): sealed to another node.
          if (req.to !== identity.id) return ws.close(4421, 'sealed: wrong-receiver')
          const opened = SealedStream.accept(req, receiverKey(identity.secretKey, identity.id, req))
          stream = opened.stream
          text = new TextDecoder().decode(opened.plaintext)
        } else {
          text = new TextDecoder().decode(stream.open(bytes).plaintext)
        }
      } else {
        text = data.toString()
      }
      seen.push({ protocol: ws.protocol, binary, text })
      if (behaviour.close) return ws.close(behaviour.close, 'sealed: wrong-receiver')
      const echo = JSON.stringify({ echo: text })
      if (!stream) return ws.send(echo)
      const frame = stream.seal(new TextEncoder().encode(echo), now(), random)
      if (behaviour.tamper) frame[frame.length - 1] ^= 1
      ws.send(frame)
    })
  })
  http.listen(behaviour.port ?? 0, '127.0.0.1')
  await once(http, 'listening')
  const { port } = http.address() as AddressInfo
  const server = { http, wss }
  servers.push(server)
  return {
    url: `ws://127.0.0.1:${port}/`,
    port,
    seen,
    hellos: () => hellos,
    connections: wss.clients,
    stop: () => stopServer(servers.splice(servers.indexOf(server), 1)[0]!),
  }
}

async function stopServer({ http, wss }: { http: Server; wss: WebSocketServer }) {
  for (const ws of wss.clients) ws.terminate()
  wss.close()
  http.closeAllConnections()
  await new Promise((resolve) => http.close(resolve))
}

const servers: { http: Server; wss: WebSocketServer }[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await stopServer(server)
})

/** Everything a socket fired, in order. */
function events(ws: globalThis.WebSocket) {
  const log: string[] = []
  ws.onopen = () => log.push('open')
  ws.onmessage = (ev) => log.push(`message ${String(ev.data)}`)
  ws.onerror = () => log.push('error')
  ws.onclose = (ev) => log.push(`close ${ev.code}`)
  const closed = new Promise<void>((resolve) => ws.addEventListener('close', () => resolve()))
  const message = () =>
    new Promise<string>((resolve) =>
      ws.addEventListener('message', (ev) => resolve(String(ev.data)), { once: true }),
    )
  return { log, closed, message }
}

describe('sealingWebSocket', () => {
  it('seals a relay socket: sends before open are kept, messages arrive as text', async () => {
    const relay = await miniRelay()
    const Sealing = sealingWebSocket(Native)
    const ws = new Sealing(relay.url)
    const { log, message } = events(ws)
    expect(ws.readyState).toBe(Sealing.CONNECTING)
    ws.send('{"action":"announce"}')
    expect(ws.bufferedAmount).toBe(21)
    expect(await message()).toBe('{"echo":"{\\"action\\":\\"announce\\"}"}')
    ws.send('{"n":2}')
    expect(await message()).toBe('{"echo":"{\\"n\\":2}"}')
    expect(ws.readyState).toBe(Sealing.OPEN)
    expect(log[0]).toBe('open')
    expect(relay.seen).toEqual([
      { protocol: SEALED_WS_PROTOCOL, binary: true, text: '{"action":"announce"}' },
      { protocol: SEALED_WS_PROTOCOL, binary: true, text: '{"n":2}' },
    ])
    ws.close()
    await new Promise((resolve) => ws.addEventListener('close', resolve))
    expect(ws.readyState).toBe(Sealing.CLOSED)
  })

  it('asks each relay its id once, and gives each socket a key of its own', async () => {
    const relay = await miniRelay()
    const Sealing = sealingWebSocket(Native)
    for (let i = 0; i < 2; i++) {
      const ws = new Sealing(relay.url)
      const { message } = events(ws)
      ws.send('{}')
      await message()
      ws.close()
    }
    expect(relay.hellos()).toBe(1)
    expect(relay.seen.map((s) => s.binary)).toEqual([true, true])
  })

  it('passes wss:, and sockets that ask for a subprotocol, to the native WebSocket', () => {
    const made: unknown[][] = []
    class Recorder extends EventTarget {
      static readonly OPEN = 1
      constructor(...args: unknown[]) {
        super()
        made.push(args)
      }
    }
    const Sealing = sealingWebSocket(Recorder as unknown as typeof globalThis.WebSocket)
    expect(new Sealing('wss://relay.example/')).toBeInstanceOf(Recorder)
    expect(new Sealing('ws://127.0.0.1:1/', 'chat')).toBeInstanceOf(Recorder)
    expect(new Sealing('ws://127.0.0.1:1/', ['chat'])).toBeInstanceOf(Recorder)
    expect(made).toEqual([
      ['wss://relay.example/'],
      ['ws://127.0.0.1:1/', 'chat'],
      ['ws://127.0.0.1:1/', ['chat']],
    ])
    expect(Sealing.OPEN).toBe(1)
  })

  it('talks in clear to a server that gives no node id', async () => {
    const server = await miniRelay({ id: false })
    const ws = new (sealingWebSocket(Native))(server.url)
    const { message } = events(ws)
    ws.send('{"action":"scrape"}')
    expect(await message()).toBe('{"echo":"{\\"action\\":\\"scrape\\"}"}')
    expect(server.seen).toEqual([{ protocol: '', binary: false, text: '{"action":"scrape"}' }])
    ws.close()
  })

  it('fails the socket on a frame that does not open: error, then close', async () => {
    const relay = await miniRelay({ tamper: true })
    const ws = new (sealingWebSocket(Native))(relay.url)
    const { log, closed } = events(ws)
    ws.send('{}')
    await closed
    expect(log).toEqual(['open', 'error', 'close 1008'])
  })

  it('asks for the id again after a relay says it was sealed to another (4421)', async () => {
    const relay = await miniRelay({ close: 4421 })
    const Sealing = sealingWebSocket(Native)
    for (let i = 0; i < 2; i++) {
      const ws = new Sealing(relay.url)
      const { log, closed } = events(ws)
      ws.send('{}')
      await closed
      expect(log).toEqual(['open', 'close 4421'])
    }
    expect(relay.hellos()).toBe(2)
  })

  it('asks the id again after an outage, so a relay back under another key opens at once', async () => {
    const before = await miniRelay()
    const Sealing = sealingWebSocket(Native)
    const first = new Sealing(before.url)
    const opened = events(first)
    first.send('{}')
    expect(await opened.message()).toBe(JSON.stringify({ echo: '{}' }))
    first.close()
    await opened.closed
    await before.stop()
    const refused = events(new Sealing(before.url))
    await refused.closed
    expect(refused.log).toEqual(['error', 'close 1006'])

    // Another node on the port now (the relay restarted with a new key, or another took it).
    const after = await miniRelay({ port: before.port })
    const ws = new Sealing(after.url)
    const { log, message, closed } = events(ws)
    ws.send('{}')
    await Promise.race([message(), closed])
    expect(log).toEqual(['open', `message ${JSON.stringify({ echo: '{}' })}`])
    expect(after.hellos()).toBe(1)
    ws.close()
  })

  it('fires error then close when the relay cannot be reached, and opens no socket', async () => {
    const ids = new RelayIds(() => Promise.reject(new TypeError('fetch failed')))
    const ws = new (sealingWebSocket(Native, { relayIds: ids }))('ws://127.0.0.1:9/')
    const { log, closed } = events(ws)
    await closed
    expect(log).toEqual(['error', 'close 1006'])
  })

  it('closed before it opened: fires close, opens no socket', async () => {
    const relay = await miniRelay()
    const ws = new (sealingWebSocket(Native))(relay.url)
    const { log, closed } = events(ws)
    ws.close()
    await closed
    expect(log).toEqual(['close 1006'])
    expect(relay.connections.size).toBe(0)
  })
})

describe('RelayIds', () => {
  it('refuses to go back to clear for an origin that once gave an id', async () => {
    const answers = [JSON.stringify({ id: 'ab'.repeat(32) }), 'no id here']
    const ids = new RelayIds(async () => new Response(answers.shift()))
    expect(await ids.get('http://127.0.0.1:1')).toBe('ab'.repeat(32))
    ids.forget('http://127.0.0.1:1')
    await expect(ids.get('http://127.0.0.1:1')).rejects.toThrow(/no longer gives a node id/)
  })
})

describe('installSealedWebSocket', () => {
  it('replaces the global WebSocket once, and only where there is one', () => {
    const g = globalThis as { WebSocket?: unknown }
    const before = g.WebSocket
    try {
      g.WebSocket = undefined
      installSealedWebSocket()
      expect(g.WebSocket).toBeUndefined()
      g.WebSocket = Native
      installSealedWebSocket()
      const installed = g.WebSocket
      expect(installed).not.toBe(Native)
      installSealedWebSocket()
      expect(g.WebSocket).toBe(installed)
    } finally {
      g.WebSocket = before
    }
  })
})

describe('the sealing WebSocket is in place before the WebTorrent bundle is evaluated', () => {
  // The bundle takes the global WebSocket once, when it is first evaluated, so every app
  // module that imports it must import the installer (or engine/client.ts, which imports it first)
  // before it. Then, whatever the import graph, the installer runs first.
  const BUNDLE =
    /^import\s+(?!type\b)(?:[^\n{]|\{[^}]*\})*from\s+'webtorrent\/dist\/webtorrent\.min\.js'/m
  const INSTALLER =
    /^import\s+(?:(?:[^\n{]|\{[^}]*\})*from\s+)?'(?:\.\.?\/)+(?:sealed-websocket|engine\/client)\.ts'/m
  /** The same holds for the peer connection layer's RTCPeerConnection (engine/rtc-global.ts). */
  const RTC_INSTALLER =
    /^import\s+(?:(?:[^\n{]|\{[^}]*\})*from\s+)?'(?:\.\.?\/)+(?:engine\/)?(?:rtc-global|client)\.ts'/m

  it('holds in every app module that imports the bundle', async () => {
    const { readdir, readFile } = await import('node:fs/promises')
    const root = new URL('../', import.meta.url)
    const files = (await readdir(root, { recursive: true })).filter(
      (f) => /\.(ts|svelte)$/.test(f) && !f.endsWith('.test.ts') && !f.endsWith('test-bundle.ts'),
    )
    const importers: string[] = []
    for (const file of files) {
      const source = await readFile(new URL(file, root), 'utf8')
      const bundle = BUNDLE.exec(source)
      if (!bundle) continue
      importers.push(file)
      const installer = INSTALLER.exec(source)
      expect(installer && installer.index < bundle.index, `${file} imports the bundle first`).toBe(
        true,
      )
      const rtc = RTC_INSTALLER.exec(source)
      expect(rtc && rtc.index < bundle.index, `${file} imports the bundle before rtc-global`).toBe(
        true,
      )
    }
    expect(importers).toContain('lib/engine/client.ts')
  })
})
