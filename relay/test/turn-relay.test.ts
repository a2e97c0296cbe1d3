// STUN and TURN on a real relay process, on its one port number: STUN Binding over UDP,
// TURN allocations over UDP and over TCP on the HTTP port (told apart by the first bytes),
// credentials from GET /v1/config, permissions only towards peers the relay's WebSocket
// tracker signalled to that client, the relayed data both ways, and /metrics and the signed
// record that show it.

import dgram from 'node:dgram'
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { Attr, MessageClass, Method, attribute, readXorAddress } from '../turn/stun-message.ts'
import { TurnTestClient } from '../turn/test-client.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'

const running: RelayProcess[] = []
const closers: (() => void)[] = []
afterEach(async () => {
  for (const close of closers.splice(0)) close()
  await Promise.all(running.splice(0).map((r) => r.stop()))
})

interface Credential {
  username: string
  credential: string
}

async function turnCredential(relay: RelayProcess): Promise<Credential> {
  const config = (await (await fetch(`${relay.url}/v1/config`)).json()) as {
    iceServers: (Credential & { urls: string | string[] })[]
  }
  const turn = config.iceServers.find((s) => Array.isArray(s.urls))
  if (!turn) throw new Error('no TURN entry in /v1/config')
  return { username: turn.username, credential: turn.credential }
}

const binary = (byte: number) => String.fromCharCode(...new Array<number>(20).fill(byte))

/** Opens a tracker WebSocket and waits for it. */
async function trackerSocket(relay: RelayProcess): Promise<WebSocket> {
  const ws = new WebSocket(relay.wsUrl)
  closers.push(() => ws.terminate())
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  return ws
}

/** A browser on 127.0.0.1 is sent an offer naming a host candidate at `peerIp`, as the
 * WebSocket tracker forwards them: that makes `peerIp` a signalled peer of 127.0.0.1. */
async function signal(relay: RelayProcess, peerIp: string): Promise<void> {
  const infoHash = binary(7)
  const receiver = await trackerSocket(relay)
  const received = new Promise<string>((resolve) =>
    receiver.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { offer?: { sdp: string } }
      if (msg.offer) resolve(msg.offer.sdp)
    }),
  )
  const announce = (peer: number, offers: unknown[], left: number) =>
    JSON.stringify({
      action: 'announce',
      info_hash: infoHash,
      peer_id: binary(peer),
      numwant: offers.length,
      uploaded: 0,
      downloaded: 0,
      left,
      event: 'started',
      offers,
    })
  receiver.send(announce(1, [], 0))
  await new Promise((resolve) => setTimeout(resolve, 200))
  const sender = await trackerSocket(relay)
  const sdp = `v=0\r\na=candidate:1 1 udp 2122260223 ${peerIp} 50000 typ host\r\n`
  sender.send(announce(2, [{ offer: { type: 'offer', sdp }, offer_id: binary(9) }], 100))
  expect(await received).toContain(peerIp)
}

/** A plain UDP socket standing in for the remote browser. */
async function udpPeer(host: string): Promise<{ socket: dgram.Socket; port: number }> {
  const socket = dgram.createSocket('udp4')
  closers.push(() => socket.close())
  await new Promise<void>((resolve) => socket.bind(0, host, resolve))
  return { socket, port: socket.address().port }
}

describe('STUN and TURN on the relay port', () => {
  it('answers STUN Binding on UDP at its port number, and relays over UDP to a signalled peer', async () => {
    const relay = await startRelay({ args: ['--local-network'] })
    running.push(relay)
    const client = await TurnTestClient.udp(relay.port)
    closers.push(() => client.close())
    const bound = await client.request(Method.Binding)
    expect(bound.cls).toBe(MessageClass.Success)
    const mapped = readXorAddress(attribute(bound, Attr.XorMappedAddress)!, bound.transactionId)
    expect(mapped).toMatchObject({ address: '127.0.0.1', port: client.local.port })

    const { username, credential } = await turnCredential(relay)
    const allocated = await client.allocate(username, credential)
    expect(allocated.relayed.address).toBe('127.0.0.1')
    // Nobody signalled 127.0.0.7 to this browser: no permission.
    await expect(client.createPermission('127.0.0.7')).rejects.toMatchObject({ code: 403 })
    await signal(relay, '127.0.0.7')
    const peer = await udpPeer('127.0.0.7')
    await client.createPermission('127.0.0.7')
    await client.channelBind(0x4001, { address: '127.0.0.7', port: peer.port })
    const out = new Promise<Buffer>((resolve) => peer.socket.once('message', resolve))
    client.sendChannelData(0x4001, Buffer.from('to the peer'))
    expect(String(await out)).toBe('to the peer')
    peer.socket.send('back to the browser', allocated.relayed.port, allocated.relayed.address)
    expect(String((await client.nextData()).data)).toBe('back to the browser')

    const metrics = await (await fetch(`${relay.url}/metrics`)).text()
    expect(metrics).toContain('monsoon_turn_allocations{transport="udp"} 1')
    expect(metrics).toMatch(/monsoon_turn_refusals_total\{reason="not-signalled"\} 1/)
    const hello = (await (await fetch(`${relay.url}/v1/hello`)).json()) as {
      capacity: { relay?: number }
      load: { relay?: number }
    }
    expect(hello.capacity.relay).toBe(4 * 1024 * 1024)
    expect(typeof hello.load.relay).toBe('number')
  })

  it('takes TURN over TCP on the HTTP port, beside HTTP, and refuses loopback without --local-network', async () => {
    const relay = await startRelay()
    running.push(relay)
    const socket = connect(relay.port, '127.0.0.1')
    closers.push(() => socket.destroy())
    await new Promise((resolve) => socket.once('connect', resolve))
    const client = TurnTestClient.stream(socket)
    const { username, credential } = await turnCredential(relay)
    const allocated = await client.allocate(username, credential)
    expect(allocated.relayed.address).toBe('127.0.0.1')
    await expect(client.createPermission('127.0.0.7')).rejects.toMatchObject({ code: 403 })
    // The same port still serves HTTP.
    expect((await fetch(`${relay.url}/health`)).status).toBe(200)
    const metrics = await (await fetch(`${relay.url}/metrics`)).text()
    expect(metrics).toContain('monsoon_turn_allocations{transport="tcp"} 1')
    expect(metrics).toMatch(/monsoon_turn_refusals_total\{reason="forbidden-address"\} 1/)
  })

  it('serves neither with --no-stun --no-turn, and says nothing of them in /v1/config', async () => {
    const relay = await startRelay({ args: ['--no-stun', '--no-turn'] })
    running.push(relay)
    const client = await TurnTestClient.udp(relay.port)
    closers.push(() => client.close())
    await expect(client.request(Method.Binding, [], { timeoutMs: 500 })).rejects.toThrow()
    const hello = (await (await fetch(`${relay.url}/v1/hello`)).json()) as { capacity: object }
    expect(hello.capacity).not.toHaveProperty('relay')
  })
})
