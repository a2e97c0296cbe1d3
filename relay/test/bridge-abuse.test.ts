// The bridge against one address (issue 20): one address could take all 20 bridge slots,
// and POST /v1/bridge right after /health answered got 500 "the bridge is not started" (22
// of 25). On real relays started with --bridge: an address holds at most its share
// (--bridge-torrents-per-address; 429 beyond, 'bridge-slots-per-address' in /metrics) while
// another address still gets its torrent bridged, and POSTs sent the moment /health first
// answers are taken (or told 503 with Retry-After), never a 500.

import { afterEach, describe, expect, it } from 'vitest'
import { freePort, removeTempDirs } from './catalog-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { refusalsFor } from './relay-metrics.ts'
import { requestFrom } from './from-address.ts'

const running: RelayProcess[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
  removeTempDirs()
})

const hashOf = (i: number) => `b1d9e${String(i).padStart(35, '0')}`

/** POST /v1/bridge/<hash> with no body from a loopback alias. */
async function bridgeFrom(
  url: string,
  infoHash: string,
  localAddress = '127.0.0.1',
): Promise<{ status: number; retryAfter?: string; body: Record<string, unknown> }> {
  const answer = await requestFrom(localAddress, `${url}/v1/bridge/${infoHash}`, { method: 'POST' })
  return {
    status: answer.status,
    retryAfter: answer.headers['retry-after'] as string | undefined,
    body: JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>,
  }
}

const refused = refusalsFor

describe('the bridge per address', () => {
  it('holds one address to its share; another address still gets its torrent', async () => {
    const relay = await startRelay({
      args: [
        '--local-network',
        '--bridge',
        '--bridge-max-torrents',
        '6',
        '--bridge-torrents-per-address',
        '2',
      ],
    })
    running.push(relay)
    const attacker = []
    for (let i = 0; i < 6; i++) attacker.push(await bridgeFrom(relay.url, hashOf(i), '127.0.0.9'))
    expect(attacker.map((a) => a.status)).toEqual([202, 202, 429, 429, 429, 429])
    expect(attacker[2]).toMatchObject({
      retryAfter: '60',
      body: { code: 'bridge-full', reason: 'per-address' },
    })
    // Asking again for a hash it holds only marks it used.
    expect((await bridgeFrom(relay.url, hashOf(0), '127.0.0.9')).status).toBe(200)
    expect(await refused(relay, 'bridge-slots-per-address')).toBe(4)
    expect((await bridgeFrom(relay.url, hashOf(100), '127.0.0.10')).status).toBe(202)
    const list = (await (await fetch(`${relay.url}/v1/bridge`)).json()) as {
      torrents: unknown[]
      limits: { perAddress: number }
    }
    expect(list.torrents).toHaveLength(3)
    expect(list.limits.perAddress).toBe(2)
  }, 60_000)

  it('never answers 500 to a POST sent as soon as /health answers', async () => {
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const started = startRelay({ args: ['--port', String(port), '--local-network', '--bridge'] })
    void started.then((r) => running.push(r))
    let healthy = false
    while (!healthy) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      healthy = await fetch(`${url}/health`).then(
        (res) => res.ok,
        () => false,
      )
    }
    const answers = await Promise.all(
      Array.from({ length: 25 }, (_, i) => bridgeFrom(url, hashOf(200 + (i % 4)))),
    )
    for (const a of answers) {
      expect([200, 202, 503]).toContain(a.status)
      if (a.status === 503) expect(a.retryAfter).toBeDefined()
    }
    await started
  }, 60_000)
})
