// Interoperability with software we did not write: coturn's test clients from Debian's
// `coturn` package (turnutils_stunclient, turnutils_uclient) against our server on loopback.

import { execFile, execFileSync } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { createRequire } from 'node:module'
import { startTurn, type TurnEnv } from './test-support.ts'

const has = (tool: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`])
    return true
  } catch {
    return false
  }
}

function run(tool: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(tool, args, { timeout: 60_000 }, (_err, stdout, stderr) => resolve(stdout + stderr))
  })
}

let env: TurnEnv | null = null
afterEach(async () => {
  await env?.close()
  env = null
})

describe.skipIf(!has('turnutils_uclient'))('coturn clients against our server', () => {
  it('turnutils_stunclient learns its reflexive address', async () => {
    env = await startTurn()
    const out = await run('turnutils_stunclient', ['-p', String(env.udpPort), '127.0.0.1'])
    expect(out).toMatch(/UDP reflexive addr: 127\.0\.0\.1:\d+/)
    expect(env.server.stats.bindingRequests).toBeGreaterThan(0)
  })

  // -y: two clients relay to each other through their allocations; -c: no RTCP (no EVEN-PORT
  // reservation); -t: over TCP (unpadded ChannelData, as RFC 5766 clients send); -s: Send
  // indications instead of channels.
  it.each([
    ['UDP with channels', []],
    ['TCP with channels', ['-t']],
    ['UDP with Send indications', ['-s']],
  ])('turnutils_uclient relays every message: %s', async (_name, flags) => {
    env = await startTurn()
    const { username, credential } = env.credential('uclient')
    const port = String(flags.includes('-t') ? env.tcpPort : env.udpPort)
    const out = await run('turnutils_uclient', [
      ...flags,
      ...['-y', '-c', '-n', '30', '-m', '1', '-l', '170'],
      ...['-u', username, '-w', credential, '-r', 'monsoon.test', '-p', port, '127.0.0.1'],
    ])
    const totals = [...out.matchAll(/tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/g)].at(-1)
    expect(totals, out).toBeDefined()
    expect(Number(totals![1])).toBeGreaterThan(0)
    expect(totals![2]).toBe(totals![1])
    expect(out).toMatch(/Total lost packets 0 /)
    expect(env.server.stats.allocationsMade).toBeGreaterThanOrEqual(2)
    expect(env.server.stats.bytesToPeers).toBe(Number(totals![1]) * 170)
  })
})

const ref = createRequire(import.meta.url)('@msimerson/stun') as {
  request(url: string, options?: object): Promise<{ getXorAddress(): { address: string } }>
}

describe('@msimerson/stun as a client', () => {
  it('gets its XOR-MAPPED-ADDRESS from our Binding answer', async () => {
    env = await startTurn()
    const res = await ref.request(`127.0.0.1:${env.udpPort}`, { timeout: 1000, retries: 3 })
    expect(res.getXorAddress().address).toBe('127.0.0.1')
  })
})
