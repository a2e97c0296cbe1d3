import { describe, expect, it } from 'vitest'
import { parseRelayConfig } from './relay-config.ts'

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
