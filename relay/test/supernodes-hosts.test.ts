// The host cache on real relays (127.0.0.1): GET /v1/hosts lists the relays a relay has
// seen and contacted, and a relay not run with --local-network never contacts a loopback
// URL that a pushed supernode record names (it would let anyone make it probe its machine).

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { RecordSigner } from '../supernode/test-support.ts'
import { getJson, logsWith, removeTempDirs, waitFor } from './catalog-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'

const running: RelayProcess[] = []
const servers: Server[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
  for (const s of servers.splice(0)) s.close()
})
afterAll(removeTempDirs)

async function relay(...args: string[]): Promise<RelayProcess> {
  const r = await startRelay({ args: ['--supernode-poll-interval', '1', ...args] })
  running.push(r)
  return r
}

interface Host {
  url: string
  lastSeen: number
  successes: number
  failures: number
}

async function hosts(r: RelayProcess): Promise<Host[]> {
  const { status, body } = await getJson(`${r.url}/v1/hosts`)
  expect(status).toBe(200)
  return body.hosts as Host[]
}

/** A loopback HTTP server that counts the requests it gets (and answers 404). */
async function honeypot(): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = []
  const server = createServer((req, res) => {
    hits.push(req.url ?? '')
    res.writeHead(404).end()
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits }
}

describe('GET /v1/hosts', () => {
  it('lists the configured peer and the supernodes learned, with their contact counts', async () => {
    const a = await relay('--local-network')
    const b = await relay('--local-network', '--peer', a.url)
    const c = await relay('--local-network', '--peer', b.url)
    const list = await waitFor('a knowing and having reached b and c', async () => {
      const got = await hosts(a)
      const reached = (r: RelayProcess) =>
        got.some((h) => h.url === `http://localhost:${r.port}` && h.successes > 0)
      return reached(b) && reached(c) && got
    })
    for (const h of list) {
      expect(h.lastSeen).toBeGreaterThan(Date.now() / 1000 - 600)
      expect(Object.keys(h).sort()).toEqual(['failures', 'lastSeen', 'successes', 'url'])
    }
    await waitFor('b listing its --peer with a success', async () =>
      (await hosts(b)).some((h) => h.url === a.url && h.successes > 0),
    )
  })

  it('never contacts a pushed loopback URL without --local-network, and does with it', async () => {
    const [trap, control] = [await honeypot(), await honeypot()]
    const strict = await relay('--log-level', 'debug')
    const local = await relay('--local-network')
    const now = Math.floor(Date.now() / 1000)
    const push = async (r: RelayProcess, url: string) => {
      const record = new RecordSigner().record({ seq: 1, ts: now, url })
      const res = await fetch(`${r.url}/v1/supernodes`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(record),
      })
      expect(res.status).toBe(200)
    }
    await push(strict, trap.url)
    await push(local, control.url)
    // The control relay, same interval, pulls the URL it was handed.
    await waitFor('the local relay pulling its pushed URL', async () =>
      control.hits.includes('/v1/hello'),
    )
    const rounds = logsWith(strict.logs, 'supernode round').length
    await waitFor('three more rounds of the strict relay', async () =>
      logsWith(strict.logs, 'supernode round').length >= rounds + 3 ? true : undefined,
    )
    expect(trap.hits).toEqual([])
    expect(await hosts(strict)).toEqual([])
    expect((await hosts(local)).map((h) => h.url)).toContain(control.url)
  })
})
