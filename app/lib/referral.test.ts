import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  MAX_REFERRAL_CHARS,
  MAX_REFERRAL_TRACKERS,
  MOVED_PREFIX,
  REFERRAL_PREFIX,
  parseReferral,
  wsTrackerOrigin,
} from './referral.ts'

describe('parseReferral', () => {
  it('reads a referral and a move, owners in the order given', () => {
    expect(parseReferral(`${REFERRAL_PREFIX}ws://127.0.0.1:4001/ ws://127.0.0.1:4002/`)).toEqual({
      kind: 'refer',
      trackers: ['ws://127.0.0.1:4001/', 'ws://127.0.0.1:4002/'],
    })
    expect(parseReferral(`${MOVED_PREFIX}wss://b.example/ wss://a.example:8443/`)).toEqual({
      kind: 'moved',
      trackers: ['wss://b.example/', 'wss://a.example:8443/'],
    })
  })

  it('writes each tracker one way, and drops repeats', () => {
    expect(parseReferral(`${REFERRAL_PREFIX}ws://A.example:80 ws://a.example/`)).toEqual({
      kind: 'refer',
      trackers: ['ws://a.example/'],
    })
  })

  it('keeps at most MAX_REFERRAL_TRACKERS', () => {
    const urls = Array.from({ length: 50 }, (_, i) => `ws://r${i}.example/`)
    const parsed = parseReferral(REFERRAL_PREFIX + urls.join(' '))
    expect(parsed?.trackers).toEqual(urls.slice(0, MAX_REFERRAL_TRACKERS))
  })

  it('is no referral at all when anything is off', () => {
    const hostile = [
      'Error connecting to ws://127.0.0.1:1',
      'not tracked here; announce to ws://a/',
      ` ${REFERRAL_PREFIX}ws://a/`,
      REFERRAL_PREFIX.toUpperCase() + 'ws://a/',
      REFERRAL_PREFIX,
      `${REFERRAL_PREFIX}ws://a/  ws://b/`,
      `${REFERRAL_PREFIX}ws://a/ `,
      `${REFERRAL_PREFIX}ws://a/\nws://b/`,
      `${REFERRAL_PREFIX}ws://a/\tws://b/`,
      `${REFERRAL_PREFIX}http://a/`,
      `${REFERRAL_PREFIX}https://a/`,
      `${REFERRAL_PREFIX}javascript:alert(1)`,
      `${REFERRAL_PREFIX}data:text/html,<script>alert(1)</script>`,
      `${REFERRAL_PREFIX}ws://a/ file:///etc/passwd`,
      `${REFERRAL_PREFIX}ws://user:pass@a/`,
      `${REFERRAL_PREFIX}ws://a/announce`,
      `${REFERRAL_PREFIX}ws://a/?x=1`,
      `${REFERRAL_PREFIX}ws://a/#x`,
      `${REFERRAL_PREFIX}ws://a:99999/`,
      `${REFERRAL_PREFIX}ws://<img src=x onerror=alert(1)>/`,
      `${REFERRAL_PREFIX}ws://a\u202e.example/`,
      `${REFERRAL_PREFIX}ws://a\u0000/`,
      `${REFERRAL_PREFIX}ws://`,
      `${REFERRAL_PREFIX}ws://${'a'.repeat(400)}/`,
      REFERRAL_PREFIX + 'ws://a/ '.repeat(MAX_REFERRAL_CHARS),
    ]
    for (const text of hostile) expect(parseReferral(text), text).toBeNull()
    expect(parseReferral(undefined)).toBeNull()
    expect(parseReferral({ toString: () => `${REFERRAL_PREFIX}ws://a/` })).toBeNull()
  })

  it('never throws, and only ever yields ws: or wss: origins', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.boolean(), (tail, moved) => {
        const parsed = parseReferral((moved ? MOVED_PREFIX : REFERRAL_PREFIX) + tail)
        if (parsed === null) return
        expect(parsed.trackers.length).toBeGreaterThan(0)
        expect(parsed.trackers.length).toBeLessThanOrEqual(MAX_REFERRAL_TRACKERS)
        for (const t of parsed.trackers) expect(t).toMatch(/^wss?:\/\/[^/\s?#@]+\/$/)
      }),
    )
  })
})

describe('wsTrackerOrigin', () => {
  it('keeps the host and a port that is not the default', () => {
    expect(wsTrackerOrigin('ws://127.0.0.1:8080')).toBe('ws://127.0.0.1:8080/')
    expect(wsTrackerOrigin('wss://relay.example:443/')).toBe('wss://relay.example/')
    expect(wsTrackerOrigin('ws://[::1]:8080/')).toBe('ws://[::1]:8080/')
  })
})
