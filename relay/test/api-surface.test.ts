// The relay's small public API on a real relay process: /v1/config hands browsers the
// relay's own STUN and TURN and the operator's ICE servers, and the public reads answer cross-origin
// requests, so an app served by one relay can sync from the others.

import { afterEach, describe, expect, it } from 'vitest'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { announcePath, binaryId } from './tracker-wire.ts'

const running: RelayProcess[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
})

async function relay(...args: string[]): Promise<RelayProcess> {
  const r = await startRelay({ args })
  running.push(r)
  return r
}

describe('relay API surface', () => {
  it('names its own STUN and TURN by default, with fresh credentials, and the configured ones', async () => {
    const plain = await relay()
    const res = await fetch(`${plain.url}/v1/config`)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const config = (await res.json()) as {
      iceServers: { urls: string | string[]; username?: string; credential?: string }[]
      expires: number
    }
    // Left on the default public URL (localhost), it names itself as the browser reached it.
    const host = `127.0.0.1:${plain.port}`
    expect(config.iceServers[0]).toEqual({ urls: `stun:${host}` })
    expect(config.iceServers[1]).toMatchObject({
      urls: [`turn:${host}?transport=udp`, `turn:${host}?transport=tcp`],
      username: expect.stringMatching(/^\d+:[0-9a-f]+$/),
      credential: expect.any(String),
    })
    const now = Date.now() / 1000
    expect(config.expires).toBeGreaterThan(now + 3000)
    expect(config.expires).toBeLessThanOrEqual(now + 3601)

    // A public URL given wins over the Host of the request.
    const named0 = await relay('--public-url', 'http://relay.example:9999')
    const publicConfig = (await (await fetch(`${named0.url}/v1/config`)).json()) as typeof config
    expect(publicConfig.iceServers.map((s) => s.urls)).toEqual([
      `stun:relay.example:${named0.port}`,
      [`turn:relay.example:${named0.port}?transport=udp`, 'turn:relay.example:9999?transport=tcp'],
    ])

    const off = await relay('--no-stun', '--no-turn')
    expect(await (await fetch(`${off.url}/v1/config`)).json()).toEqual({ iceServers: [] })
    const named = await relay(
      '--no-stun',
      '--no-turn',
      '--ice-server',
      'stun:127.0.0.1:3478',
      '--ice-server',
      'turn:127.0.0.1',
    )
    const given = (await (await fetch(`${named.url}/v1/config`)).json()) as typeof config
    expect(given.iceServers[0]).toEqual({ urls: 'stun:127.0.0.1:3478' })
    // A TURN server of the operator's gets credentials minted from the relay's secret.
    expect(given.iceServers[1]).toMatchObject({
      urls: 'turn:127.0.0.1',
      username: expect.any(String),
    })
  })

  it('answers cross-origin reads of the catalog, and preflights only GET', async () => {
    const r = await relay()
    const origin = 'http://127.0.0.1:1'
    for (const path of ['/v1/listings?after=0', '/v1/relays', '/v1/config', '/v1/hello']) {
      const res = await fetch(`${r.url}${path}`, { headers: { Origin: origin } })
      expect(res.status, path).toBe(200)
      expect(res.headers.get('access-control-allow-origin'), path).toBe('*')
    }
    const preflight = await fetch(`${r.url}/v1/listings`, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    })
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET')
  })

  it('gives live swarm figures for up to 100 hashes, and refuses bad requests', async () => {
    const r = await relay()
    const hash = binaryId(1)
    const hex = Buffer.from(hash).toString('hex')
    await fetch(`${r.url}${announcePath({ infoHash: hash, peerId: binaryId(2), left: 0 })}`)
    await fetch(`${r.url}${announcePath({ infoHash: hash, peerId: binaryId(3), left: 5 })}`)
    const other = 'ab'.repeat(20)
    const res = await fetch(`${r.url}/v1/stats?ih=${hex.toUpperCase()}&ih=${other}`)
    expect(await res.json()).toEqual({
      stats: {
        [hex]: { seeds: 1, leechers: 1, downloads: 0 },
        [other]: { seeds: 0, leechers: 0, downloads: 0 },
      },
    })
    const many = Array.from({ length: 101 }, () => `ih=${other}`).join('&')
    for (const query of ['', 'ih=xyz', many]) {
      const bad = await fetch(`${r.url}/v1/stats?${query}`)
      expect(bad.status, query.slice(0, 20)).toBe(400)
      expect((await bad.json()).error).toMatch(/info hash|ih/)
    }
  })
})
