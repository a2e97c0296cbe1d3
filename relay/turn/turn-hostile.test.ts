import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MAX_TURN_ALLOCATIONS_PER_ADDRESS, TURN_UNAUTH_BURST } from '../limits.ts'
import { longTermKey, mintTurnCredential, turnPassword } from './credentials.ts'
import {
  Attr,
  MessageClass,
  Method,
  attribute,
  encodeChannelData,
  encodeStun,
  readUnknownAttributes,
  requestedTransportValue,
} from './stun-message.ts'
import { errorOf, type TurnTestClient } from './test-client.ts'
import { SECRET, TRANSPORTS, startTurn, udpPeer, type TurnEnv } from './test-support.ts'

let env: TurnEnv | null = null
afterEach(async () => {
  await env?.close()
  env = null
})

const UDP17 = { type: Attr.RequestedTransport, value: requestedTransportValue(17) }

/** Another client, from another loopback address, still gets an allocation and an answer. */
async function stillServes(e: TurnEnv, transport: 'udp' | 'tcp' | 'tls' = 'udp'): Promise<void> {
  const other = await e.connect(transport, '127.0.0.3')
  const { username, credential } = e.credential('other')
  const allocated = await other.allocate(username, credential)
  expect(allocated.mapped.address).toBe('127.0.0.3')
  expect((await other.request(Method.Binding)).cls).toBe(MessageClass.Success)
}

/** The REALM and NONCE of a 401 challenge. */
async function challenge(client: TurnTestClient): Promise<{ realm: string; nonce: string }> {
  const answer = await client.request(Method.Allocate, [UDP17])
  expect(errorOf(answer)?.code).toBe(401)
  return {
    realm: attribute(answer, Attr.Realm)!.toString(),
    nonce: attribute(answer, Attr.Nonce)!.toString(),
  }
}

function allocateBytes(username: string, realm: string, nonce: string, key: Buffer): Buffer {
  return encodeStun(
    {
      method: Method.Allocate,
      cls: MessageClass.Request,
      transactionId: randomBytes(12),
      attributes: [
        UDP17,
        { type: Attr.Username, value: Buffer.from(username) },
        { type: Attr.Realm, value: Buffer.from(realm) },
        { type: Attr.Nonce, value: Buffer.from(nonce) },
      ],
    },
    { integrityKey: key },
  )
}

describe('authentication', () => {
  it('keeps an allocation past its credential: refresh and permissions work, a new one does not', async () => {
    env = await startTurn()
    const client = await env.connect('udp')
    const { username, credential } = env.credential('long', 60)
    await client.allocate(username, credential)
    // Two minutes on, the credential has lapsed (and the nonce too: the client takes the 438).
    env.clock.now += 120_000
    expect(await client.refresh(600)).toBe(600)
    await client.createPermission('127.0.0.5')
    // A new allocation with the lapsed credential is refused.
    const late = await env.connect('udp', '127.0.0.4')
    await expect(late.allocate(username, credential)).rejects.toMatchObject({ code: 401 })
    await stillServes(env)
  })

  it.each(TRANSPORTS)(
    'over %s: 401 for a bad MESSAGE-INTEGRITY or password, then serves others',
    async (t) => {
      env = await startTurn()
      const client = await env.connect(t)
      const { username, credential } = env.credential()
      const { realm, nonce } = await challenge(client)
      const bytes = allocateBytes(username, realm, nonce, longTermKey(username, realm, credential))
      bytes[bytes.length - 1] ^= 0x01
      const answer = await client.requestRaw(bytes)
      expect(errorOf(answer)?.code).toBe(401)
      expect(attribute(answer, Attr.MessageIntegrity)).toBeUndefined()
      await expect(client.allocate(username, credential + 'x')).rejects.toMatchObject({ code: 401 })
      expect(env.server.stats.refused.auth).toBe(2)
      expect(env.server.stats.allocationsMade).toBe(0)
      await stillServes(env, t)
    },
  )

  it('refuses expired, too-far-ahead and forged credentials, and another realm', async () => {
    env = await startTurn()
    const client = await env.connect('udp')
    const now = env.clock.now / 1000
    const expired = mintTurnCredential(SECRET, 'x', now - 7200, 3600)
    const farAhead = `${Math.floor(now) + 7200}:x`
    const forged = mintTurnCredential('not-the-secret', 'x', now, 3600)
    for (const [username, password] of [
      [expired.username, expired.credential],
      [farAhead, turnPassword(SECRET, farAhead)],
      [forged.username, forged.credential],
    ]) {
      await expect(client.allocate(username, password)).rejects.toMatchObject({ code: 401 })
    }
    const { username, credential } = env.credential()
    const { nonce } = await challenge(client)
    const elsewhere = allocateBytes(
      username,
      'other.test',
      nonce,
      longTermKey(username, 'other.test', credential),
    )
    expect(errorOf(await client.requestRaw(elsewhere))?.code).toBe(401)
    expect(env.server.stats.refused.auth).toBe(4)
    await stillServes(env)
  })

  it('answers 438 with a fresh nonce once the nonce is ten minutes old', async () => {
    env = await startTurn()
    const client = await env.connect('udp')
    const { realm, nonce } = await challenge(client)
    env.clock.now += 601_000
    const { username, credential } = env.credential()
    const key = longTermKey(username, realm, credential)
    const stale = await client.requestRaw(allocateBytes(username, realm, nonce, key))
    expect(errorOf(stale)?.code).toBe(438)
    const fresh = attribute(stale, Attr.Nonce)!.toString()
    expect(fresh).not.toBe(nonce)
    const ok = await client.requestRaw(allocateBytes(username, realm, fresh, key))
    expect(ok.cls).toBe(MessageClass.Success)
    // A nonce given to another address is no good here either.
    const other = await env.connect('udp', '127.0.0.2')
    const answer = await other.requestRaw(allocateBytes(username, realm, fresh, key))
    expect(errorOf(answer)?.code).toBe(438)
  })

  it('answers a retransmitted Allocate with the same success, another one with 437', async () => {
    env = await startTurn()
    const client = await env.connect('udp')
    const { username, credential } = env.credential()
    const { realm, nonce } = await challenge(client)
    const key = longTermKey(username, realm, credential)
    const bytes = allocateBytes(username, realm, nonce, key)
    const first = await client.requestRaw(bytes)
    const again = await client.requestRaw(bytes)
    expect(first.cls).toBe(MessageClass.Success)
    expect(again.raw.equals(first.raw)).toBe(true)
    const other = await client.requestRaw(allocateBytes(username, realm, nonce, key))
    expect(errorOf(other)?.code).toBe(437)
    expect(env.server.stats.allocationsMade).toBe(1)
  })

  it('answers 441 when a request on an allocation uses other credentials', async () => {
    env = await startTurn()
    const client = await env.connect('udp')
    const first = env.credential('one')
    await client.allocate(first.username, first.credential)
    const second = env.credential('two')
    const { realm, nonce } = await challenge(client)
    const refresh = encodeStun(
      {
        method: Method.Refresh,
        cls: MessageClass.Request,
        transactionId: randomBytes(12),
        attributes: [
          { type: Attr.Username, value: Buffer.from(second.username) },
          { type: Attr.Realm, value: Buffer.from(realm) },
          { type: Attr.Nonce, value: Buffer.from(nonce) },
        ],
      },
      { integrityKey: longTermKey(second.username, realm, second.credential) },
    )
    expect(errorOf(await client.requestRaw(refresh))?.code).toBe(441)
  })

  it('answers 400 to MESSAGE-INTEGRITY without USERNAME', async () => {
    env = await startTurn()
    const client = await env.connect('udp')
    const answer = await client.request(Method.Allocate, [UDP17], { key: Buffer.alloc(16) })
    expect(errorOf(answer)?.code).toBe(400)
    await stillServes(env)
  })
})

describe('unknown attributes', () => {
  it('answers 420 listing unknown comprehension-required attributes, ignores optional ones', async () => {
    env = await startTurn()
    const client = await env.connect('udp')
    const { username, credential } = env.credential()
    const unknown = [
      { type: 0x7fff, value: Buffer.alloc(4) },
      { type: Attr.DontFragment, value: Buffer.alloc(0) },
      { type: 0xc0de, value: Buffer.alloc(4) },
    ]
    const refused = await client.allocate(username, credential, unknown).catch((e: unknown) => e)
    expect(refused).toMatchObject({ code: 420 })
    const response = (refused as { response: Parameters<typeof attribute>[0] }).response
    expect(readUnknownAttributes(attribute(response, Attr.UnknownAttributes)!)).toEqual([
      0x7fff,
      Attr.DontFragment,
    ])
    expect(attribute(response, Attr.MessageIntegrity)).toBeDefined()
    const binding = await client.request(Method.Binding, [{ type: 0x7fff, value: Buffer.alloc(0) }])
    expect(errorOf(binding)?.code).toBe(420)
    expect(env.server.stats.refused['unknown-attribute']).toBe(2)
    await client.allocate(username, credential, [{ type: 0xc0de, value: Buffer.alloc(4) }])
  })
})

describe('malformed and oversized input', () => {
  it('over UDP: dropped without an answer, and the next request is answered', async () => {
    env = await startTurn()
    const client = await env.connect('udp')
    const good = encodeStun({
      method: Method.Binding,
      cls: MessageClass.Request,
      transactionId: randomBytes(12),
    })
    const wrongLength = Buffer.from(good)
    wrongLength.writeUInt16BE(8, 2)
    const wrongCookie = Buffer.from(good)
    wrongCookie[5] ^= 1
    const tinyAttributes = Buffer.alloc(20 + 4 * 1000)
    tinyAttributes.set(good.subarray(0, 20))
    tinyAttributes.writeUInt16BE(4000, 2)
    for (let i = 0; i < 1000; i++) tinyAttributes.writeUInt16BE(0x8030, 20 + 4 * i)
    const oversized = Buffer.alloc(5000)
    oversized.set(good.subarray(0, 20))
    oversized.writeUInt16BE(4980, 2)
    for (const bad of [
      good.subarray(0, 10),
      good.subarray(0, 19),
      wrongLength,
      wrongCookie,
      tinyAttributes,
      oversized,
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
      encodeChannelData(0x4001, randomBytes(50), false),
      Buffer.from([0x40, 0x01, 0xff, 0xff, 1, 2]),
    ]) {
      client.sendRaw(bad)
    }
    expect((await client.request(Method.Binding)).cls).toBe(MessageClass.Success)
    expect(client.unmatched).toEqual([])
    await stillServes(env)
  })

  it.each(['tcp', 'tls'] as const)(
    'over %s: a frame over the size cap or non-STUN bytes close the connection',
    async (t) => {
      env = await startTurn()
      const huge = Buffer.alloc(20)
      huge.writeUInt16BE(0x0001, 0)
      huge.writeUInt16BE(65532, 2)
      huge.writeUInt32BE(0x2112a442, 4)
      const badCookie = encodeStun({
        method: Method.Binding,
        cls: MessageClass.Request,
        transactionId: randomBytes(12),
      })
      badCookie[4] ^= 1
      for (const bad of [
        huge,
        Buffer.from([0xff, 0, 0, 0]),
        badCookie,
        encodeChannelData(0x4001, Buffer.alloc(4093), true),
      ]) {
        const client = await env.connect(t)
        client.sendRaw(bad)
        await client.closed
      }
      await stillServes(env, t)
    },
  )

  it('over TCP: reassembles frames split byte by byte and several in one write', async () => {
    env = await startTurn()
    const client = await env.connect('tcp')
    const tids = [randomBytes(12), randomBytes(12), randomBytes(12)]
    const requests = tids.map((transactionId) =>
      encodeStun(
        { method: Method.Binding, cls: MessageClass.Request, transactionId },
        { fingerprint: true },
      ),
    )
    // Three whole requests written back to back, then a fourth one byte at a time (its
    // answer matches no waiter, so it lands in `unmatched`).
    const answers = Promise.all(requests.map((r) => client.requestRaw(r).catch(() => null)))
    const split = encodeStun({
      method: Method.Binding,
      cls: MessageClass.Request,
      transactionId: randomBytes(12),
    })
    for (const byte of split) client.sendRaw(Buffer.from([byte]))
    const all = await answers
    expect(all.every((a) => a?.cls === MessageClass.Success)).toBe(true)
    await vi.waitFor(() => expect(client.unmatched).toHaveLength(1))
    expect(client.unmatched[0].transactionId.equals(split.subarray(8, 20))).toBe(true)
  })
})

describe('quotas and budgets', () => {
  it('caps allocations per client address (486) and serves other addresses', async () => {
    env = await startTurn()
    const e = env
    const { username, credential } = e.credential()
    const clients = await Promise.all(
      Array.from({ length: MAX_TURN_ALLOCATIONS_PER_ADDRESS + 1 }, () => e.connect('udp')),
    )
    const results = await Promise.all(
      clients.map((c) =>
        c.allocate(username, credential).then(
          () => 'ok',
          (err: { code: number }) => err.code,
        ),
      ),
    )
    expect(results.filter((r) => r === 'ok')).toHaveLength(MAX_TURN_ALLOCATIONS_PER_ADDRESS)
    expect(results.filter((r) => r === 486)).toHaveLength(1)
    expect(e.server.allocationsOf('127.0.0.1')).toBe(MAX_TURN_ALLOCATIONS_PER_ADDRESS)
    expect(e.server.stats.refused['quota-client']).toBe(1)
    expect(e.logs.filter((l) => l.includes('budget hit: quota-client'))).toHaveLength(1)
    await stillServes(e)
  })

  it('caps allocations in total (508) and relay ports to the configured range', async () => {
    const min = 40_000 + Math.floor(Math.random() * 20_000)
    env = await startTurn({ maxAllocations: 3, relayPorts: { min, max: min + 7 } })
    const { username, credential } = env.credential()
    for (const host of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) {
      const client = await env.connect('udp', host)
      const { relayed } = await client.allocate(username, credential)
      expect(relayed.port).toBeGreaterThanOrEqual(min)
      expect(relayed.port).toBeLessThanOrEqual(min + 7)
    }
    const fourth = await env.connect('udp', '127.0.0.4')
    await expect(fourth.allocate(username, credential)).rejects.toMatchObject({ code: 508 })
    expect(env.server.stats.refused['quota-total']).toBe(1)
  })

  it('answers at most a burst of unauthenticated requests per address, then stays silent', async () => {
    env = await startTurn() // the fake clock stands still: no tokens come back
    const e = env
    const client = await e.connect('udp')
    const n = TURN_UNAUTH_BURST + 50
    for (let i = 0; i < n; i++) {
      client.sendRaw(
        encodeStun({
          method: Method.Binding,
          cls: MessageClass.Request,
          transactionId: randomBytes(12),
        }),
      )
    }
    await vi.waitFor(() => expect(e.server.stats.bindingRequests).toBe(n))
    expect(e.server.stats.refused.rate).toBe(50)
    await vi.waitFor(() => expect(client.unmatched).toHaveLength(TURN_UNAUTH_BURST))
    // 401 challenges come from the same budget.
    const before = e.server.stats.refused.rate
    client.sendRaw(
      encodeStun({
        method: Method.Allocate,
        cls: MessageClass.Request,
        transactionId: randomBytes(12),
        attributes: [UDP17],
      }),
    )
    await vi.waitFor(() => expect(e.server.stats.refused.rate).toBe(before + 1))
    expect(e.logs.filter((l) => l.includes('budget hit: rate'))).toHaveLength(1)
    await stillServes(e)
    e.clock.now += 1000 // 20 tokens later
    expect((await client.request(Method.Binding)).cls).toBe(MessageClass.Success)
  })

  it("drops relayed packets over an address's share, then over the total budget", async () => {
    // 40,000 bytes/s in all, 20,000 for one address (TURN_ADDRESS_BANDWIDTH_SHARE); the
    // fake clock stands still, so each bucket holds its one burst.
    env = await startTurn({ maxBandwidth: 40_000 })
    const e = env
    const remote = await udpPeer()
    const flood = async (from: string, packets: number) => {
      const client = await e.connect('udp', from)
      const { username, credential } = e.credential(from.replaceAll('.', ''))
      await client.allocate(username, credential)
      await client.channelBind(0x4001, remote)
      for (let i = 0; i < packets; i++) client.sendChannelData(0x4001, randomBytes(1000))
    }
    await flood('127.0.0.1', 30)
    await vi.waitFor(() => expect(e.server.stats.droppedForBandwidth).toBe(10))
    expect(e.server.stats.bytesToPeers).toBe(20_000)
    // Another address still has its share, until the total is spent.
    await flood('127.0.0.3', 30)
    await vi.waitFor(() => expect(e.server.stats.droppedForBandwidth).toBe(20))
    expect(e.server.stats.bytesToPeers).toBe(40_000)
    await flood('127.0.0.4', 5)
    await vi.waitFor(() => expect(e.server.stats.droppedForBandwidth).toBe(25))
    expect(e.server.stats.bytesToPeers).toBe(40_000)
    for (let i = 0; i < 40; i++) expect((await remote.next()).data).toHaveLength(1000)
    expect(e.logs.filter((l) => l.includes('budget hit: bandwidth'))).toHaveLength(1)
    remote.close()
  })
})

describe('switches, expiry and teardown', () => {
  it('with TURN off, TURN requests go unanswered; with STUN off, Binding does', async () => {
    env = await startTurn({ turn: false })
    const client = await env.connect('udp')
    client.sendRaw(
      encodeStun({
        method: Method.Allocate,
        cls: MessageClass.Request,
        transactionId: randomBytes(12),
        attributes: [UDP17],
      }),
    )
    expect((await client.request(Method.Binding)).cls).toBe(MessageClass.Success)
    expect(client.unmatched).toEqual([])
    await env.close()

    env = await startTurn({ stun: false })
    const other = await env.connect('udp')
    other.sendRaw(
      encodeStun({
        method: Method.Binding,
        cls: MessageClass.Request,
        transactionId: randomBytes(12),
      }),
    )
    expect(errorOf(await other.request(Method.Allocate, [UDP17]))?.code).toBe(401)
    expect(other.unmatched).toEqual([])
    expect(env.server.stats.bindingRequests).toBe(0)
  })

  it('frees an allocation when its lifetime runs out, and a stream allocation with its connection', async () => {
    env = await startTurn()
    const e = env
    const { username, credential } = e.credential()
    const udp = await e.connect('udp')
    await udp.allocate(username, credential)
    const tcp = await e.connect('tcp')
    await tcp.allocate(username, credential, [
      { type: Attr.Lifetime, value: Buffer.from([0, 0, 0x0e, 0x10]) },
    ])
    expect(e.server.allocationsOf('127.0.0.1')).toBe(2)
    e.clock.now += 601_000
    e.server.sweep()
    expect(e.server.stats.allocationsActive).toEqual({ udp: 0, tcp: 1, tls: 0 })
    tcp.close()
    await vi.waitFor(() => expect(e.server.allocationsOf('127.0.0.1')).toBe(0))
    expect(e.server.stats.allocationsActive.tcp).toBe(0)
    await stillServes(e)
  })

  it('close() frees every allocation and closes streams', async () => {
    env = await startTurn()
    const { username, credential } = env.credential()
    const tcp = await env.connect('tcp')
    await tcp.allocate(username, credential)
    await env.server.close()
    await tcp.closed
    expect(env.server.allocationsOf('127.0.0.1')).toBe(0)
    expect(env.server.stats.allocationsActive.tcp).toBe(0)
  })
})
