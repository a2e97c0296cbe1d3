import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { loadRelayConfig, parseRelayConfig } from './relay-config.ts'

describe('parseRelayConfig', () => {
  it('keeps well-formed STUN/TURN URLs, at most 8, and nothing else', () => {
    expect(parseRelayConfig({ iceServers: [{ urls: 'stun:127.0.0.1:3478' }] })).toEqual({
      iceServers: [{ urls: 'stun:127.0.0.1:3478' }],
    })
    const hostile = {
      iceServers: [
        { urls: 'javascript:alert(1)' },
        { urls: 'http://127.0.0.1/' },
        { urls: ['stun:a'] },
        null,
        { urls: 'turn:127.0.0.1', credential: 'x' },
        ...Array.from({ length: 20 }, (_, i) => ({ urls: `stun:127.0.0.${i}` })),
      ],
    }
    const parsed = parseRelayConfig(hostile)
    expect(parsed.iceServers).toHaveLength(8)
    expect(parsed.iceServers[0]).toEqual({ urls: 'turn:127.0.0.1' })
    expect(parseRelayConfig(null)).toEqual({ iceServers: [] })
    expect(parseRelayConfig({ iceServers: 'stun:x' })).toEqual({ iceServers: [] })
  })
})

describe('loadRelayConfig', () => {
  /** A real HTTP server on a loopback port answering GET /v1/config. */
  async function relayAnswering(body: string): Promise<{ origin: string; close(): Promise<void> }> {
    const server = createServer((_req, res) => {
      res.setHeader('Content-Type', 'application/json')
      res.end(body)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    return {
      origin: `http://127.0.0.1:${port}`,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    }
  }

  function memoryStorage() {
    const items = new Map<string, string>()
    return {
      getItem: (k: string) => items.get(k) ?? null,
      setItem: (k: string, v: string) => void items.set(k, v),
    }
  }

  it('keeps the last answer and starts from it when the relay cannot be reached', async () => {
    const storage = memoryStorage()
    const relay = await relayAnswering(
      JSON.stringify({ iceServers: [{ urls: 'stun:127.0.0.1:3478' }] }),
    )
    const online = await loadRelayConfig(relay.origin, storage)
    expect(online.iceServers).toEqual([{ urls: 'stun:127.0.0.1:3478' }])
    await relay.close()

    // The relay is gone (as offline): the kept copy, at once.
    const offline = await loadRelayConfig(relay.origin, storage)
    expect(offline).toEqual(online)
  })

  it('ignores a kept copy that is not a config', async () => {
    const storage = memoryStorage()
    storage.setItem('monsoon.relay-config', '{"iceServers":[{"urls":"javascript:x"}]}')
    const relay = await relayAnswering('not json')
    expect((await loadRelayConfig(relay.origin, storage)).iceServers).toEqual([])
    await relay.close()
  })
})
