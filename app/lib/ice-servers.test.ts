import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  MAX_CREDENTIAL_LIFETIME_S,
  MAX_TURN_URLS,
  MIN_CREDENTIAL_LIFETIME_S,
  STUN_REREAD_MS,
  chooseIceServers,
  countIceServers,
  credentialTiming,
  iceUrlKind,
  parseRelayConfig,
  type RelayAnswer,
  type RelayIceConfig,
} from './ice-servers.ts'

/** A relay's answer as the new /v1/config gives it (TLS adds the turns: URL). */
const answer = (host: string, expires = 1_765_000_000, tls = false) => ({
  iceServers: [
    { urls: `stun:${host}:3478` },
    {
      urls: [
        `turn:${host}:3478?transport=udp`,
        `turn:${host}:3478?transport=tcp`,
        ...(tls ? [`turns:${host}:443?transport=tcp`] : []),
      ],
      username: `${expires}:abcd`,
      credential: 'c2VjcmV0IGNyZWRlbnRpYWwgaGVyZQ==',
    },
  ],
  expires,
})

describe('iceUrlKind', () => {
  it('takes RFC 7064/7065 URLs and nothing else', () => {
    for (const url of [
      'stun:127.0.0.1',
      'stun:relay.example:3478',
      'stuns:relay.example:5349',
      'stun:[::1]:3478',
      'turn:10.0.0.1:3478?transport=udp',
      'turn:relay.example?transport=tcp',
      'turns:relay.example:443?transport=tcp',
      'turns:relay.example:443',
    ]) {
      expect(iceUrlKind(url), url).not.toBeNull()
    }
    for (const url of [
      'javascript:alert(1)',
      'http://127.0.0.1/',
      'stun:',
      'stun:host:0',
      'stun:host:65536',
      'stun:host:3478?transport=udp', // STUN URLs have no query (RFC 7064)
      'turn:host:3478?transport=sctp',
      'turns:host:443?transport=udp', // no TURN over DTLS in Chromium
      'turn:host:3478?transport=udp&x=1',
      'turn:user@host',
      'stun:-host',
      'stun:host/path',
      'stun:ho st',
      'STUN:host',
      `stun:${'a'.repeat(300)}`,
      42,
      null,
    ]) {
      expect(iceUrlKind(url), String(url)).toBeNull()
    }
  })
})

describe('parseRelayConfig', () => {
  it('reads the new shape: STUN, TURN with its credentials, and the expiry', () => {
    expect(parseRelayConfig(answer('127.0.0.1', 1_765_000_000, true))).toEqual({
      stun: ['stun:127.0.0.1:3478'],
      turn: [
        {
          urls: [
            'turn:127.0.0.1:3478?transport=udp',
            'turn:127.0.0.1:3478?transport=tcp',
            'turns:127.0.0.1:443?transport=tcp',
          ],
          username: '1765000000:abcd',
          credential: 'c2VjcmV0IGNyZWRlbnRpYWwgaGVyZQ==',
        },
      ],
      expires: 1_765_000_000,
    })
    // The answer of a relay without TURN, and the older relays' (STUN only, no expiry).
    expect(parseRelayConfig({ iceServers: [{ urls: 'stun:127.0.0.1:3478' }] })).toEqual({
      stun: ['stun:127.0.0.1:3478'],
      turn: [],
      expires: null,
    })
  })

  it('drops TURN without a username and a credential (Chromium would refuse the whole list)', () => {
    const parsed = parseRelayConfig({
      iceServers: [
        { urls: 'turn:127.0.0.1:3478' },
        { urls: 'turn:127.0.0.1:3478', credential: 'x' },
        { urls: 'turn:127.0.0.1:3478', username: 'u' },
        { urls: 'turn:127.0.0.1:3478', username: '', credential: '' },
        { urls: 'turn:127.0.0.1:3478', username: 7, credential: ['x'] },
        // A mixed entry keeps its STUN URL.
        { urls: ['stun:127.0.0.2', 'turn:127.0.0.2'] },
      ],
    })
    expect(parsed).toEqual({ stun: ['stun:127.0.0.2'], turn: [], expires: null })
  })

  it('bounds usernames, credentials and URL counts, and refuses control characters', () => {
    const turn = (username: string, credential: string) =>
      parseRelayConfig({ iceServers: [{ urls: 'turn:h:1', username, credential }] }).turn
    expect(turn('u'.repeat(256), 'c'.repeat(256))).toHaveLength(1)
    expect(turn('u'.repeat(257), 'c')).toEqual([])
    expect(turn('u', 'c'.repeat(257))).toEqual([])
    expect(turn('u\r\nInjected: 1', 'c')).toEqual([])
    expect(turn('u', 'c\u0000')).toEqual([])
    expect(turn('ü', 'c')).toEqual([])

    const many = parseRelayConfig({
      iceServers: [
        ...Array.from({ length: 20 }, (_, i) => ({ urls: `stun:127.0.0.${i}` })),
        ...Array.from({ length: 20 }, (_, i) => ({
          urls: Array.from({ length: 10 }, (_, j) => `turn:10.0.${i}.${j}`),
          username: 'u',
          credential: 'c',
        })),
      ],
    })
    expect(many.stun).toEqual(['stun:127.0.0.0', 'stun:127.0.0.1'])
    // Entries past the first 16 are not even looked at: no TURN came before them.
    expect(many.turn).toEqual([])
    const turnFirst = parseRelayConfig({
      iceServers: Array.from({ length: 3 }, (_, i) => ({
        urls: Array.from({ length: 10 }, (_, j) => `turn:10.0.${i}.${j}`),
        username: 'u',
        credential: 'c',
      })),
    })
    expect(turnFirst.turn.flatMap((t) => t.urls)).toEqual([
      'turn:10.0.0.0',
      'turn:10.0.0.1',
      'turn:10.0.0.2',
    ])
  })

  it('keeps TURN only with a sound expiry, and ignores unknown keys', () => {
    const withExpiry = (expires: unknown) =>
      parseRelayConfig({ ...answer('h'), expires, extra: { nested: [1, 2] } })
    expect(withExpiry(undefined).turn).toHaveLength(1)
    expect(withExpiry(undefined).expires).toBeNull()
    for (const bad of ['1765000000', -1, 0, 1.5, 1e300, null, {}]) {
      expect(withExpiry(bad).turn, String(bad)).toEqual([])
      expect(withExpiry(bad).stun).toEqual(['stun:h:3478'])
    }
  })

  it('never throws on hostile shapes, and keeps only checked URLs', () => {
    for (const hostile of [
      null,
      undefined,
      'stun:x',
      [],
      { iceServers: 'stun:x' },
      { iceServers: { length: 1e9 } },
      { iceServers: [null, 1, 'stun:x', [], { urls: null }, { urls: { 0: 'stun:x' } }] },
      { iceServers: Array.from({ length: 100_000 }, () => ({ urls: 'stun:h' })) },
    ]) {
      const parsed = parseRelayConfig(hostile)
      expect(parsed.turn).toEqual([])
      expect(parsed.stun.length).toBeLessThanOrEqual(1)
    }
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const parsed = parseRelayConfig({ iceServers: [value, { urls: value }], expires: value })
        const urls = [...parsed.stun, ...parsed.turn.flatMap((t) => t.urls)]
        expect(urls.every((u) => iceUrlKind(u) !== null)).toBe(true)
      }),
    )
  })
})

describe('credentialTiming', () => {
  const readAt = 1_765_000_000_000 // unix ms: second 1_765_000_000

  it('asks again at 80 % of the lifetime, and offers TURN until it ends', () => {
    const config = parseRelayConfig(answer('h', 1_765_000_000 + 3600))
    expect(credentialTiming(config, readAt)).toEqual({
      refreshAt: readAt + 2880_000,
      validUntil: readAt + 3600_000,
    })
  })

  it('bounds the lifetime when the clocks differ, and rereads STUN-only answers hourly', () => {
    const timing = (expires: number | undefined) =>
      credentialTiming(parseRelayConfig({ ...answer('h'), expires }), readAt)
    // Our clock behind the relay's by a day: never more than an hour.
    expect(timing(1_765_000_000 + 86_400).validUntil).toBe(
      readAt + MAX_CREDENTIAL_LIFETIME_S * 1000,
    )
    // Ahead of it: the credentials look lapsed; a few minutes are assumed, not zero.
    expect(timing(1_765_000_000 - 600).validUntil).toBe(readAt + MIN_CREDENTIAL_LIFETIME_S * 1000)
    expect(timing(1_765_000_000 - 600).refreshAt).toBe(readAt + 240_000)
    expect(timing(undefined).validUntil).toBe(readAt + MAX_CREDENTIAL_LIFETIME_S * 1000)
    expect(credentialTiming(parseRelayConfig({ iceServers: [] }), readAt)).toEqual({
      refreshAt: readAt + STUN_REREAD_MS,
      validUntil: Infinity,
    })
  })
})

describe('chooseIceServers', () => {
  const held = (config: RelayIceConfig, validUntil = Infinity): RelayAnswer => ({
    config,
    validUntil,
  })
  const relay = (host: string, tls = false) => held(parseRelayConfig(answer(host, 1, tls)))

  it("takes the origin's STUN and TURN, others' STUN, and tracker relays' TURN", () => {
    const servers = chooseIceServers(
      relay('origin'),
      [
        { answer: relay('tracker'), turn: true },
        { answer: relay('supernode'), turn: false },
        { answer: relay('third'), turn: false },
      ],
      0,
    )
    expect(servers.map((s) => s.urls)).toEqual([
      ['stun:origin:3478'],
      ['turn:origin:3478?transport=udp', 'turn:origin:3478?transport=tcp'],
      ['stun:tracker:3478'],
      ['turn:tracker:3478?transport=udp', 'turn:tracker:3478?transport=tcp'],
      ['stun:supernode:3478'],
    ])
    expect(servers[1]).toMatchObject({ username: '1:abcd' })
  })

  it('caps TURN relays and URLs, drops lapsed credentials and repeated URLs', () => {
    const servers = chooseIceServers(
      relay('origin', true),
      [
        { answer: relay('a', true), turn: true },
        { answer: relay('b', true), turn: true },
      ],
      0,
    )
    const turnUrls = servers.filter((s) => 'username' in s).flatMap((s) => [s.urls].flat())
    expect(turnUrls.length).toBe(MAX_TURN_URLS)
    expect(turnUrls.some((u) => u.includes('b:'))).toBe(false)

    const lapsed = chooseIceServers(held(parseRelayConfig(answer('origin')), 1000), [], 1000)
    expect(lapsed).toEqual([{ urls: ['stun:origin:3478'] }])

    // The same relay known under the origin's name and as a tracker: its URLs once.
    const twice = chooseIceServers(relay('origin'), [{ answer: relay('origin'), turn: true }], 0)
    expect(twice).toHaveLength(2)
    expect(chooseIceServers(null, [], 0)).toEqual([])
  })
})

describe('countIceServers', () => {
  it('counts servers by host and port, whatever their transports', () => {
    const servers = chooseIceServers(
      { config: parseRelayConfig(answer('origin', 1, true)), validUntil: Infinity },
      [
        {
          answer: { config: parseRelayConfig(answer('other')), validUntil: Infinity },
          turn: false,
        },
      ],
      0,
    )
    // turn:origin:3478 (udp and tcp) is one server, turns:origin:443 another.
    expect(countIceServers(servers)).toEqual({ stun: 2, turn: 2 })
    expect(countIceServers([])).toEqual({ stun: 0, turn: 0 })
  })
})
