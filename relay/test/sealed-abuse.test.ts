// Junk sealed envelopes from one address (issue 20): the budget of new sealed sessions was
// one for the whole relay, so one address sending junk from fresh keys got 31 of 39 real
// browsers' sessions refused. Now each address has its own budget (and junk costs its sender
// twice): on a real relay, an address flooding POST /v1/sealed and sealed tracker sockets
// with envelopes that do not open is refused ('sealed-sessions-per-address' in /metrics),
// and real sealed sessions from other addresses all get through.

import { once } from 'node:events'
import { request } from 'node:http'
import { WebSocket } from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sealedFetch, SEALED_PATH } from '../../shared/sealed/client.ts'
import { ephemeralSession, sealRequest } from '../../shared/sealed/envelope.ts'
import { encodeInnerRequest } from '../../shared/sealed/inner.ts'
import { SEALED_WS_PROTOCOL, SealedStream } from '../../shared/sealed/stream.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { refusalsFor } from './relay-metrics.ts'

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n))
const now = () => Math.floor(Date.now() / 1000)
const ATTACKER = '127.0.0.9'

let relay: RelayProcess
let id: string

beforeAll(async () => {
  relay = await startRelay()
  id = ((await (await fetch(`${relay.url}/health`)).json()) as { id: string }).id
})
afterAll(() => relay?.stop())

/** fetch, sent from a loopback alias (the relay sees that address). */
function fetchFrom(localAddress: string): typeof fetch {
  return ((url: string, init: RequestInit = {}) =>
    new Promise<Response>((resolve, reject) => {
      const req = request(
        url,
        {
          method: init.method ?? 'GET',
          headers: init.headers as Record<string, string>,
          localAddress,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () =>
            resolve(
              new Response(res.statusCode === 204 ? null : Buffer.concat(chunks), {
                status: res.statusCode,
                headers: res.headers as Record<string, string>,
              }),
            ),
          )
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(init.body === undefined ? undefined : Buffer.from(init.body as Uint8Array))
    })) as typeof fetch
}

/** An envelope to this relay from a fresh key whose tag does not check. */
function junk(): Uint8Array {
  const envelope = sealRequest(
    ephemeralSession(id, random),
    encodeInnerRequest({ method: 'GET', path: '/health', body: new Uint8Array(0) }),
    now(),
    random,
  )
  envelope[envelope.length - 1] ^= 1
  return envelope
}

const refused = (reason: string) => refusalsFor(relay, reason)

/** A real sealed GET /health from `address`, as the app sends it. */
async function realSession(address: string): Promise<number> {
  const answer = await sealedFetch(
    relay.url,
    ephemeralSession(id, random),
    { method: 'GET', path: '/health', body: new Uint8Array(0) },
    { maxBytes: 1 << 16, fetch: fetchFrom(address) },
  )
  return answer.status
}

/** A sealed tracker socket from `address`: its opening frame (a scrape), and how it went. */
async function sealedSocket(address: string, tamper: boolean): Promise<string> {
  const ws = new WebSocket(relay.wsUrl, SEALED_WS_PROTOCOL, { localAddress: address })
  await once(ws, 'open')
  const { frame, stream } = SealedStream.open(
    ephemeralSession(id, random),
    Buffer.from(`{"action":"scrape","info_hash":"${'x'.repeat(20)}"}`),
    now(),
    random,
  )
  if (tamper) frame[frame.length - 3] ^= 1
  const outcome = new Promise<string>((resolve) => {
    ws.once('message', (data: Buffer) => {
      const answer = JSON.parse(Buffer.from(stream.open(data).plaintext).toString()) as {
        action?: string
      }
      resolve(answer.action ?? '?')
    })
    ws.once('close', (_code, reason: Buffer) => resolve(reason.toString()))
  })
  ws.send(frame)
  const result = await outcome
  ws.close()
  return result
}

describe('sealed sessions per address', () => {
  it('refuses one address its flood of junk envelopes; real sessions elsewhere open', async () => {
    const before = await refused('sealed-sessions-per-address')
    const from = fetchFrom(ATTACKER)
    const statuses: number[] = []
    for (let i = 0; i < 60; i++) {
      const res = await from(`${relay.url}${SEALED_PATH}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/octet-stream' },
        body: junk() as BufferSource,
      })
      statuses.push(res.status)
      await res.arrayBuffer()
    }
    // Its burst is spent on junk (400: did not open), then it is refused (503).
    expect(statuses.filter((s) => s === 400).length).toBeLessThan(30)
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(30)
    expect(await refused('sealed-sessions-per-address')).toBeGreaterThan(before)
    // 40 real browsers at ten other addresses: every session opens.
    const real = await Promise.all(
      Array.from({ length: 40 }, (_, i) => realSession(`127.0.0.${20 + (i % 10)}`)),
    )
    expect(real.every((s) => s === 200)).toBe(true)
  }, 30_000)

  it('refuses one address its junk tracker-socket openings; other sockets open', async () => {
    const outcomes: string[] = []
    for (let i = 0; i < 30; i++) outcomes.push(await sealedSocket('127.0.0.11', true))
    expect(outcomes).toContain('sealed: unauthentic')
    expect(outcomes).toContain('sealed: busy')
    for (let i = 0; i < 5; i++)
      expect(await sealedSocket(`127.0.0.${40 + i}`, false)).toBe('scrape')
  }, 30_000)
})
