// A running relay's zone, asked by DNS clients we did not write: Debian's `dig` (BIND 9) over
// UDP, TCP and DoH on plain HTTP/2 (`+http-plain`, `+http-plain-get`: BIND's DoH client
// speaks HTTP/2 only, with prior knowledge on plain HTTP), and Knot's `kdig` over UDP and TCP
// (its DoH, `+https`, needs TLS, which a plain-HTTP relay does not offer). Also hostile
// input over real sockets (pointer loops over UDP, garbage and oversized frames over TCP,
// a UDP flood against the rate limit) with the relay still answering afterwards.
// The clients come from `dnsutils` and `knot-dnsutils`; .ci/run installs them, and a test
// is skipped with a message only where the binary is missing on a developer's machine.

import { execFile } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { createServer } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import dnsPacket from 'dns-packet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RecordSigner } from '../supernode/test-support.ts'
import { freePort, removeTempDirs, waitFor } from './catalog-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'

const run = promisify(execFile)
const ZONE = 'monsoon.test'

async function have(binary: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${binary}`])
    return true
  } catch {
    console.warn(
      `${binary} is not installed: skipping its tests (apt-get install dnsutils knot-dnsutils)`,
    )
    return false
  }
}
const hasDig = await have('dig')
const hasKdig = await have('kdig')

let relay: RelayProcess
let dnsPort: number
let httpPort: number

beforeAll(async () => {
  httpPort = await freePort()
  relay = await startRelay({
    args: [
      '--port',
      String(httpPort),
      '--public-url',
      `http://127.0.0.1:${httpPort}`,
      '--local-network',
      '--dns-zone',
      ZONE,
      '--dns-port',
      '0',
      '--dns-ttl',
      '30',
      '--dns-rate',
      '20',
    ],
  })
  const line = relay.logs.find((l) => l.msg === 'dns listening')
  dnsPort = line!.port as number
})
afterAll(async () => {
  await relay.stop()
  await removeTempDirs()
})

async function dig(...args: string[]): Promise<string> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(dnsPort), ...args])
  return stdout
}

async function digHttp(...args: string[]): Promise<string> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(httpPort), ...args])
  return stdout
}

async function kdig(...args: string[]): Promise<string> {
  const { stdout } = await run('kdig', [`@127.0.0.1`, '-p', String(dnsPort), ...args])
  return stdout
}

/** The relay's own URL as its zone names it. */
const own = () => `"http://127.0.0.1:${httpPort}"`

describe.skipIf(!hasDig)('dig against the relay', () => {
  it('gets the supernode TXT records over UDP, authoritative, no recursion offered', async () => {
    const out = await dig(`_supernodes.${ZONE}`, 'TXT')
    expect(out).toContain('status: NOERROR')
    expect(out).toMatch(/flags: qr aa rd;/)
    expect(out).toMatch(
      new RegExp(`_supernodes\\.monsoon\\.test\\.\\s+30\\s+IN\\s+TXT\\s+${own()}`),
    )
    expect(out).toContain('(UDP)')
  })

  it('gets A and SRV records over TCP', async () => {
    expect((await dig('+tcp', '+short', `seed.${ZONE}`, 'A')).trim()).toBe('127.0.0.1')
    const srv = (await dig('+tcp', '+short', `_monsoon._tcp.${ZONE}`, 'SRV')).trim()
    expect(srv).toMatch(new RegExp(`^0 1 ${httpPort} n[0-9a-f]{16}\\.seed\\.${ZONE}\\.$`))
    const target = srv.split(' ')[3]
    expect((await dig('+tcp', '+short', target, 'A')).trim()).toBe('127.0.0.1')
  })

  it('gets SOA and NS at the apex, NXDOMAIN below it, REFUSED outside', async () => {
    expect(await dig('+short', ZONE, 'NS')).toContain(`ns.${ZONE}.`)
    expect(await dig('+short', ZONE, 'SOA')).toMatch(/^ns\.monsoon\.test\. hostmaster/)
    const nx = await dig(`nowhere.${ZONE}`, 'A')
    expect(nx).toContain('status: NXDOMAIN')
    expect(nx).toMatch(/AUTHORITY SECTION:\nmonsoon\.test\.\s+30\s+IN\s+SOA/)
    const out = await dig('example.com', 'A')
    expect(out).toContain('status: REFUSED')
    expect(out).not.toMatch(/flags:[^;]*\baa\b/)
  })

  it('gets the same answers over DoH on the relay port, POST and GET (+http-plain)', async () => {
    for (const mode of ['+http-plain', '+http-plain-get']) {
      const out = await digHttp(mode, `_supernodes.${ZONE}`, 'TXT')
      expect(out).toContain('status: NOERROR')
      expect(out).toContain(own())
      expect(out).toMatch(/\(HTTP(-GET)?\)/)
    }
    expect(await digHttp('+http-plain', 'example.com', 'A')).toContain('status: REFUSED')
  })

  it('falls back to TCP when a UDP answer is truncated', async () => {
    // 30 more admitted supernodes (made-up records at unreachable loopback ports) make the
    // TXT answer larger than the 1232 bytes a UDP answer may take. The zone names admitted
    // supernodes only (shared/admission.ts), so they come from a made-up --peer relay that
    // roots the network and admits them and the relay under test.
    const now = Math.floor(Date.now() / 1000)
    const root = new RecordSigner()
    const records = Array.from({ length: 30 }, (_, i) =>
      new RecordSigner().record({ seq: 1, ts: now, url: `http://127.0.0.${i + 2}:9` }),
    )
    let relayId = ''
    const fake = createServer((req, res) => {
      const at = Math.floor(Date.now() / 1000)
      const hello = root.record({ seq: at, ts: at, url: fakeUrl })
      const body =
        req.url === '/v1/hello'
          ? hello
          : {
              supernodes: [hello, ...records],
              roots: [root.id],
              admissions: [...records.map((r) => r.id), ...(relayId ? [relayId] : [])].map((id) =>
                root.admit(id, at),
              ),
              maxPerPrefix: 64,
            }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body))
    })
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve))
    const fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`
    const other = await startRelay({
      args: [
        ...['--local-network', '--supernode-poll-interval', '1', '--peer', fakeUrl],
        ...['--dns-zone', ZONE, '--dns-port', '0'],
      ],
    })
    try {
      relayId = (await (await fetch(`${other.url}/v1/hello`)).json()).id
      const port = other.logs.find((l) => l.msg === 'dns listening')!.port as number
      let out = ''
      await waitFor(
        'the 32 admitted supernodes in the zone (30, the root and itself)',
        async () => {
          out = (await run('dig', ['@127.0.0.1', '-p', String(port), `_supernodes.${ZONE}`, 'TXT']))
            .stdout
          return /ANSWER: 32,/.test(out)
        },
      )
      expect(out).toContain('Truncated, retrying in TCP mode')
      expect(out).toContain('(TCP)')
    } finally {
      await other.stop()
      fake.close()
    }
  })
})

describe.skipIf(!hasKdig)('kdig against the relay', () => {
  it('gets the SOA over UDP, the TXT records and seed addresses over TCP', async () => {
    const udp = await kdig(ZONE, 'SOA')
    expect(udp).toContain('status: NOERROR')
    expect(udp).toMatch(/Flags: qr aa rd;/)
    expect(udp).toMatch(/monsoon\.test\.\s+30\s+IN\s+SOA\s+ns\.monsoon\.test\./)
    expect(udp).toContain('(UDP)')
    const seed = await kdig('+tcp', `seed.${ZONE}`, 'A')
    expect(seed).toMatch(/seed\.monsoon\.test\.\s+30\s+IN\s+A\s+127\.0\.0\.1/)
    const tcp = await kdig('+tcp', `_supernodes.${ZONE}`, 'TXT')
    expect(tcp).toContain('(TCP)')
    expect(tcp).toContain(own())
    expect(await kdig('example.org', 'A')).toContain('status: REFUSED')
  })
})

describe('hostile DNS input over real sockets', () => {
  /** Sends `packets` from one socket, in small batches so no socket buffer overflows on a
   * busy machine, and collects what comes back within `waitMs` of the last. */
  function udpExchange(packets: Buffer[], waitMs = 1500): Promise<Buffer[]> {
    return new Promise((resolve) => {
      const socket = createSocket('udp4')
      const got: Buffer[] = []
      socket.on('message', (m) => got.push(m))
      socket.bind(0, '127.0.0.1', async () => {
        for (let i = 0; i < packets.length; i += 25) {
          for (const p of packets.slice(i, i + 25)) socket.send(p, dnsPort, '127.0.0.1')
          await new Promise((r) => setTimeout(r, 5))
        }
        setTimeout(() => {
          socket.close()
          resolve(got)
        }, waitMs)
      })
    })
  }

  it('answers a pointer loop with FORMERR and ignores runts and responses', async () => {
    const loop = Buffer.from([0, 77, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1])
    const response = Buffer.from(loop)
    response[2] = 0x80
    const got = await udpExchange([loop, Buffer.alloc(5), response])
    expect(got).toHaveLength(1)
    const packet = dnsPacket.decode(got[0]) as { id: number; rcode?: string }
    expect(packet).toMatchObject({ id: 77, rcode: 'FORMERR' })
  })

  it('closes TCP connections that send garbage or oversized frames, and keeps serving', async () => {
    for (const bytes of [Buffer.from([0xff, 0xff, 1, 2, 3]), Buffer.alloc(3000, 0x41)]) {
      await new Promise<void>((resolve, reject) => {
        const socket = connect(dnsPort, '127.0.0.1', () => socket.write(bytes))
        socket.on('close', () => resolve())
        socket.on('error', () => undefined)
        setTimeout(() => reject(new Error('connection stayed open')), 15_000).unref()
      })
    }
    const query = dnsPacket.encode({
      type: 'query',
      id: 5,
      questions: [{ name: ZONE, type: 'SOA' }],
    })
    const [answer] = await udpExchange([query])
    expect((dnsPacket.decode(answer) as { rcode?: string }).rcode).toBe('NOERROR')
  })

  it('drops an HTTP/2 connection that sends garbage after the preface, and keeps serving', async () => {
    const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
    await new Promise<void>((resolve, reject) => {
      const socket = connect(httpPort, '127.0.0.1', () => {
        socket.write(preface)
        socket.write(Buffer.alloc(4096, 0xff))
      })
      socket.on('data', () => undefined)
      socket.on('close', () => resolve())
      socket.on('error', () => undefined)
      setTimeout(() => reject(new Error('connection stayed open')), 15_000).unref()
    })
    const res = await fetch(`${relay.url}/health`)
    expect(res.status).toBe(200)
  })

  it('limits UDP answers per address, slipping TC answers no larger than the query', async () => {
    const query = dnsPacket.encode({
      type: 'query',
      id: 9,
      questions: [{ name: ZONE, type: 'SOA' }],
    })
    const started = Date.now()
    const got = await udpExchange(
      Array.from({ length: 600 }, () => query),
      2000,
    )
    const seconds = (Date.now() - started) / 1000
    const full = got.filter((m) => !(m.readUInt16BE(2) & 0x0200))
    const slipped = got.filter((m) => m.readUInt16BE(2) & 0x0200 && m.length <= query.length)
    // --dns-rate 20: a burst of 200, then 20 a second (bounds computed from the time taken).
    expect(full.length).toBeLessThanOrEqual(200 + Math.ceil(20 * seconds) + 1)
    expect(slipped.length).toBeGreaterThan(0)
    expect(relay.running()).toBe(true)
  })
})
