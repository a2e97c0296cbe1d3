import { createHash, randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import {
  Attr,
  MessageClass,
  Method,
  attribute,
  encodeChannelData,
  encodeStun,
  readXorAddress,
  requestedTransportValue,
} from './stun-message.ts'
import { errorOf } from './test-client.ts'
import { TRANSPORTS, startTurn, udpPeer, type TurnEnv } from './test-support.ts'

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

let env: TurnEnv | null = null
const peers: { close(): void }[] = []
afterEach(async () => {
  await env?.close()
  env = null
  for (const p of peers.splice(0)) p.close()
})

async function peer() {
  const p = await udpPeer()
  peers.push(p)
  return p
}

describe.each(TRANSPORTS)('STUN/TURN over %s', (transport) => {
  it('answers a Binding request with the source address, without authentication', async () => {
    env = await startTurn()
    const client = await env.connect(transport)
    const answer = await client.request(Method.Binding)
    expect(answer.cls).toBe(MessageClass.Success)
    const mapped = readXorAddress(attribute(answer, Attr.XorMappedAddress)!, answer.transactionId)
    expect(mapped).toEqual({ family: 4, ...client.local })
    // Our client's requests carry a FINGERPRINT, so the answers do (decodeStun checked it).
    expect(answer.attributes.at(-1)?.type).toBe(Attr.Fingerprint)
    const bare = encodeStun({
      method: Method.Binding,
      cls: MessageClass.Request,
      transactionId: randomBytes(12),
    })
    const plain = await client.requestRaw(bare)
    expect(plain.attributes.map((a) => a.type)).toEqual([Attr.XorMappedAddress])
    expect(env.server.stats.bindingRequests).toBe(2)
  })

  it('allocates, permits, binds a channel and relays both ways to a UDP peer', async () => {
    env = await startTurn()
    const client = await env.connect(transport)
    const remote = await peer()
    const { username, credential } = env.credential()
    const allocated = await client.allocate(username, credential)
    expect(allocated.relayed.address).toBe('127.0.0.1')
    expect(allocated.mapped).toEqual({ family: 4, ...client.local })
    expect(allocated.lifetime).toBe(600)
    expect(env.server.stats.allocationsActive[transport]).toBe(1)
    expect(env.server.allocationsOf('127.0.0.1')).toBe(1)

    await client.createPermission(remote.address)
    // Peer → client before a channel: a Data indication naming the peer.
    const hello = randomBytes(1200)
    remote.socket.send(hello, allocated.relayed.port, allocated.relayed.address)
    const viaIndication = await client.nextData()
    expect(viaIndication.peer).toEqual({ family: 4, address: remote.address, port: remote.port })
    expect(sha(viaIndication.data)).toBe(sha(hello))

    // Client → peer by Send indication: it arrives from the relayed port.
    const up = randomBytes(999)
    client.sendIndication(remote, up)
    const got = await remote.next()
    expect(got.port).toBe(allocated.relayed.port)
    expect(sha(got.data)).toBe(sha(up))

    // With a channel: ChannelData both ways (an odd length exercises TCP padding).
    await client.channelBind(0x4001, remote)
    const chunks = [randomBytes(1), randomBytes(333), randomBytes(1203)]
    for (const c of chunks) client.sendChannelData(0x4001, c)
    for (const c of chunks) expect(sha((await remote.next()).data)).toBe(sha(c))
    for (const c of chunks) remote.socket.send(c, allocated.relayed.port, '127.0.0.1')
    for (const c of chunks) {
      const d = await client.nextData()
      expect(d.channel).toBe(0x4001)
      expect(sha(d.data)).toBe(sha(c))
    }
    const sent = 999 + 1 + 333 + 1203
    expect(env.server.stats.bytesToPeers).toBe(sent)
    expect(env.server.stats.bytesToClients).toBe(1200 + 1 + 333 + 1203)

    expect(await client.refresh(1200)).toBe(1200)
    expect(await client.refresh(99_999)).toBe(3600)
    expect(await client.refresh(0)).toBe(0)
    expect(env.server.stats.allocationsActive[transport]).toBe(0)
    expect(env.server.allocationsOf('127.0.0.1')).toBe(0)
    expect(env.server.stats.allocationsMade).toBe(1)
  })

  it('answers 437 to a second Allocate on the same 5-tuple, 442 to TCP relaying, 443 to an IPv6 peer', async () => {
    env = await startTurn()
    const client = await env.connect(transport)
    const { username, credential } = env.credential()
    await expect(client.allocate(username, credential, [], 6)).rejects.toMatchObject({ code: 442 })
    await client.allocate(username, credential)
    const again = await client.authenticated(Method.Allocate, [
      { type: Attr.RequestedTransport, value: requestedTransportValue(17) },
    ])
    expect(errorOf(again)?.code).toBe(437)
    const v6 = Buffer.alloc(20)
    v6[1] = 0x02
    const refused = await client.authenticated(Method.CreatePermission, [
      { type: Attr.XorPeerAddress, value: v6 },
    ])
    expect(errorOf(refused)?.code).toBe(443)
  })

  it('refuses channel conflicts and numbers out of range with 400', async () => {
    env = await startTurn()
    const client = await env.connect(transport)
    const [a, b] = [await peer(), await peer()]
    const { username, credential } = env.credential()
    await client.allocate(username, credential)
    await client.channelBind(0x4001, a)
    await client.channelBind(0x4001, a) // a refresh
    await expect(client.channelBind(0x4001, b)).rejects.toMatchObject({ code: 400 })
    await expect(client.channelBind(0x4002, a)).rejects.toMatchObject({ code: 400 })
    await expect(client.channelBind(0x3fff, b)).rejects.toMatchObject({ code: 400 })
    await expect(client.channelBind(0x8000, b)).rejects.toMatchObject({ code: 400 })
    await client.channelBind(0x4fff, b)
  })

  it('refuses loopback, private, link-local, multicast and unspecified peers unless localNetwork', async () => {
    env = await startTurn({ localNetwork: false })
    const client = await env.connect(transport)
    const { username, credential } = env.credential()
    await client.allocate(username, credential)
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '192.168.0.1',
      '172.16.5.5',
      '100.64.0.1',
      '169.254.1.1',
      '224.0.0.251',
      '0.0.0.0',
      '255.255.255.255',
    ]) {
      await expect(client.createPermission(ip)).rejects.toMatchObject({ code: 403 })
    }
    await expect(
      client.channelBind(0x4001, { address: '127.0.0.1', port: 9 }),
    ).rejects.toMatchObject({ code: 403 })
    // All or nothing: one bad peer refuses the whole request.
    await expect(client.createPermission('198.51.100.1', '10.0.0.1')).rejects.toMatchObject({
      code: 403,
    })
    expect(env.server.stats.refused['forbidden-address']).toBe(11)
    await client.createPermission('198.51.100.1') // public (nothing is sent to it)
  })

  it('refuses a peer the browser did not signal (mayPermit)', async () => {
    const asked: string[] = []
    env = await startTurn({
      mayPermit: (clientIp, peerIp) => {
        asked.push(`${clientIp}>${peerIp}`)
        return peerIp !== '127.0.0.9'
      },
    })
    const client = await env.connect(transport)
    const { username, credential } = env.credential()
    await client.allocate(username, credential)
    await expect(client.createPermission('127.0.0.9')).rejects.toMatchObject({ code: 403 })
    await expect(
      client.channelBind(0x4001, { address: '127.0.0.9', port: 5 }),
    ).rejects.toMatchObject({ code: 403 })
    await client.createPermission('127.0.0.1')
    expect(env.server.stats.refused['not-signalled']).toBe(2)
    expect(asked).toContain('127.0.0.1>127.0.0.9')
    // Once permitted, a peer stays permitted on refresh even after its signal has aged out
    // (a connection refreshes its permissions for as long as it lives).
    asked.length = 0
    await client.createPermission('127.0.0.1')
    expect(asked).toEqual([])
  })

  it('gives an even relay port for EVEN-PORT, and 508 when asked to reserve the next one', async () => {
    env = await startTurn()
    const { username, credential } = env.credential()
    const evenPort = (value: number) => [{ type: Attr.EvenPort, value: Buffer.from([value]) }]
    for (let i = 0; i < 3; i++) {
      const client = await env.connect(transport)
      const { relayed } = await client.allocate(username, credential, evenPort(0))
      expect(relayed.port % 2).toBe(0)
    }
    const reserving = await env.connect(transport)
    await expect(reserving.allocate(username, credential, evenPort(0x80))).rejects.toMatchObject({
      code: 508,
    })
  })

  it('relays between two allocations of its own, both ways, as between any peers', async () => {
    env = await startTurn()
    const { username, credential } = env.credential()
    const [a, b] = [await env.connect(transport), await env.connect(transport)]
    const relayedA = (await a.allocate(username, credential)).relayed
    const relayedB = (await b.allocate(username, credential)).relayed
    await a.createPermission('127.0.0.1')
    await b.createPermission('127.0.0.1')
    const hello = randomBytes(1200)
    a.sendIndication(relayedB, hello)
    const indication = await b.nextData()
    expect(indication.peer).toEqual(relayedA)
    expect(sha(indication.data)).toBe(sha(hello))

    await a.channelBind(0x4001, relayedB)
    await b.channelBind(0x4002, relayedA)
    const [up, down] = [randomBytes(333), randomBytes(1203)]
    a.sendChannelData(0x4001, up)
    b.sendChannelData(0x4002, down)
    const atB = await b.nextData()
    expect(atB.channel).toBe(0x4002)
    expect(sha(atB.data)).toBe(sha(up))
    const atA = await a.nextData()
    expect(atA.channel).toBe(0x4001)
    expect(sha(atA.data)).toBe(sha(down))
    expect(env.server.stats.bytesToPeers).toBe(1200 + 333 + 1203)
    expect(env.server.stats.bytesToClients).toBe(1200 + 333 + 1203)

    // Once B's allocation is freed, what A sends to its relayed address goes nowhere.
    expect(await b.refresh(0)).toBe(0)
    a.sendChannelData(0x4001, up)
    await b.createPermission('127.0.0.1').catch(() => {}) // no allocation: refused
    expect(env.server.stats.bytesToClients).toBe(1200 + 333 + 1203)
  })

  it("never relays from a relay port into the server's own port", async () => {
    env = await startTurn()
    const client = await env.connect(transport)
    const remote = await peer()
    const { username, credential } = env.credential()
    await client.allocate(username, credential)
    await client.createPermission('127.0.0.1')
    client.sendIndication({ address: '127.0.0.1', port: env.udpPort }, Buffer.from('loop'))
    client.sendIndication(remote, Buffer.from('fine'))
    expect((await remote.next()).data.toString()).toBe('fine')
    expect(env.server.stats.bytesToPeers).toBe(4)
  })
})

describe('ChannelData over TCP without padding (RFC 5766 clients)', () => {
  it('is recognised when the next frame starts where padding would be', async () => {
    env = await startTurn()
    const client = await env.connect('tcp')
    const remote = await peer()
    const { username, credential } = env.credential()
    await client.allocate(username, credential)
    await client.channelBind(0x4001, remote)
    const [a, b, c] = [randomBytes(5), randomBytes(7), randomBytes(9)]
    client.sendRaw(
      Buffer.concat([encodeChannelData(0x4001, a, false), encodeChannelData(0x4001, b, false)]),
    )
    client.sendRaw(encodeChannelData(0x4001, c, true))
    for (const sent of [a, b, c]) expect(sha((await remote.next()).data)).toBe(sha(sent))
  })
})
