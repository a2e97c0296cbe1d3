// bench/abuse's honest client counts what it is meant to: every announce a real relay answers
// is a success, and a tracker's `failure reason` or a Sybil fake's peer list is told apart.
// (Short runs at a low rate; no figure of speed is asserted.)

import { execFile } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import bencode from 'bencode'
import { afterAll, describe, expect, it } from 'vitest'
import { startRelay, type RelayProcess } from '../../relay/test/relay-process.ts'
import { FAKE_PEER } from './shared.js'

const HONEST = fileURLToPath(new URL('./honest.js', import.meta.url))

interface Figures {
  announces: number
  ok: number
  failed: number
  success_pct: number
  hijacked: number
  failures: Record<string, number>
}

/** honest.js against `port`: 20 announces/s, measured for a second after a short warm-up
 * (run asynchronously: the second test's tracker answers from this process). */
async function honest(port: number): Promise<Figures> {
  const args = [HONEST, String(port), '--rate', '20', '--warmup', '0.5', '--duration', '1']
  const { stdout } = await promisify(execFile)(process.execPath, args, { timeout: 30_000 })
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Figures
}

describe('bench/abuse honest client', () => {
  let relay: RelayProcess | undefined
  let server: Server | undefined
  afterAll(async () => {
    await relay?.stop()
    server?.close()
  })

  it('counts every announce a real relay answers as a success', async () => {
    relay = await startRelay()
    const f = await honest(relay.port)
    expect(f.announces).toBeGreaterThan(0)
    expect(f).toMatchObject({ failed: 0, success_pct: 100, hijacked: 0, failures: {} })
  })

  it("tells a failure reason and the Sybil fakes' answers apart", async () => {
    let n = 0
    server = createServer((_req, res) => {
      const answer =
        n++ % 2 === 0
          ? { 'failure reason': 'tracker is full: too many torrents' }
          : { interval: 1800, peers: FAKE_PEER }
      res.end(Buffer.from(bencode.encode(answer)))
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const f = await honest((server.address() as AddressInfo).port)
    expect(f.failed).toBeGreaterThan(0)
    expect(f.hijacked).toBeGreaterThan(0)
    expect(f.ok).toBe(f.hijacked)
    expect(f.failures).toEqual({ 'tracker is full: too many torrents': f.failed })
  })
})
