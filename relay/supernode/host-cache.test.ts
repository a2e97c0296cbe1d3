import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_HOST_CHECK_MEMO } from '../limits.ts'
import { HostCache } from './host-cache.ts'

const T = 1_764_115_200_000

describe('HostCache', () => {
  it('records a URL in origin form with its source, last-seen time and contact counts', () => {
    const cache = new HostCache()
    expect(cache.seen('HTTPS://Relay.Monsoon.NETWORK:443/', 'peer:a', T)).toEqual({
      ok: true,
      url: 'https://relay.monsoon.network',
    })
    cache.seen('https://relay.monsoon.network', 'peer:b', T + 5000)
    cache.contacted('https://relay.monsoon.network', true, T + 6000)
    cache.contacted('https://relay.monsoon.network', false, T + 7000)
    cache.contacted('https://never.monsoon.network', true, T)
    expect(cache.list()).toEqual([
      {
        url: 'https://relay.monsoon.network',
        source: 'peer:a',
        firstSeenMs: T,
        lastSeenMs: T + 6000,
        successes: 1,
        failures: 1,
      },
    ])
  })

  it('refuses what is not an http(s) origin', () => {
    const cache = new HostCache()
    for (const bad of [
      'ftp://relay.monsoon.network',
      'https://relay.monsoon.network/path',
      'https://u:p@relay.monsoon.network',
      'nonsense',
      '',
    ]) {
      expect(cache.seen(bad, 's', T)).toMatchObject({ ok: false, code: 'malformed' })
    }
    expect(cache.size).toBe(0)
  })

  it.each([
    'http://127.0.0.1:8080',
    'http://2130706433',
    'http://10.0.0.1',
    'http://192.168.0.10:9000',
    'http://169.254.169.254',
    'http://224.0.0.251',
    'http://0.0.0.0:80',
    'http://[::1]:8080',
    'http://[::]',
    'http://[::ffff:127.0.0.1]',
    'http://[fd12::1]',
    'http://[fe80::1]',
    'http://[ff02::1]',
    'http://localhost:8080',
    'http://intranet',
  ])('refuses %s unless the network is local', (url) => {
    expect(new HostCache().seen(url, 's', T)).toMatchObject({ ok: false, code: 'not-public' })
    expect(new HostCache({ localNetwork: true }).seen(url, 's', T)).toMatchObject({ ok: true })
  })

  it('keeps 10,000 addresses from one source to its share, and others keep theirs', () => {
    const cache = new HostCache({ maxPerSource: 50, maxHosts: 200 })
    for (let i = 0; i < 20; i++) cache.seen(`https://honest${i}.monsoon.network`, 'honest', T)
    for (let i = 0; i < 10_000; i++) {
      const ip = `${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.9`
      expect(cache.seen(`http://${ip}:6881`, '203.0.113.66', T + i).ok).toBe(true)
    }
    expect(cache.countFrom('203.0.113.66')).toBe(50)
    expect(cache.countFrom('honest')).toBe(20)
    expect(cache.size).toBe(70)
    // The flood churned only its own slots: the newest 50 of its addresses are what is left.
    const kept = cache.list().filter((h) => h.source === '203.0.113.66')
    expect(Math.min(...kept.map((h) => h.lastSeenMs))).toBe(T + 9950)
  })

  it('when full, evicts the worst entry, never one that answers more than it fails', () => {
    const cache = new HostCache({ maxPerSource: 10, maxHosts: 4 })
    for (let i = 0; i < 4; i++) cache.seen(`https://h${i}.monsoon.network`, `s${i}`, T + i)
    cache.contacted('https://h0.monsoon.network', false, T)
    for (const i of [1, 2, 3]) cache.contacted(`https://h${i}.monsoon.network`, true, T + 10)
    expect(cache.seen('https://new1.monsoon.network', 'x', T + 20).ok).toBe(true)
    expect(cache.get('https://h0.monsoon.network')).toBeUndefined()
    // new1 (never contacted) is now the worst; it goes for new2.
    expect(cache.seen('https://new2.monsoon.network', 'y', T + 30).ok).toBe(true)
    expect(cache.get('https://new1.monsoon.network')).toBeUndefined()
    cache.contacted('https://new2.monsoon.network', true, T + 40)
    expect(cache.seen('https://new3.monsoon.network', 'z', T + 50)).toMatchObject({
      ok: false,
      code: 'full',
    })
    expect(
      cache
        .list()
        .map((h) => h.url)
        .sort(),
    ).toEqual([
      'https://h1.monsoon.network',
      'https://h2.monsoon.network',
      'https://h3.monsoon.network',
      'https://new2.monsoon.network',
    ])
  })

  it('property: never over its bounds, and per-source counts match the entries', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(40), fc.nat(5), fc.boolean(), fc.boolean()), { maxLength: 300 }),
        (ops) => {
          const cache = new HostCache({ maxPerSource: 5, maxHosts: 12 })
          let t = T
          for (const [host, source, contact, ok] of ops) {
            const url = `https://h${host}.monsoon.network`
            if (contact) cache.contacted(url, ok, t++)
            else cache.seen(url, `s${source}`, t++)
            expect(cache.size).toBeLessThanOrEqual(12)
          }
          const list = cache.list()
          for (let s = 0; s < 6; s++) {
            const n = list.filter((h) => h.source === `s${s}`).length
            expect(n).toBe(cache.countFrom(`s${s}`))
            expect(n).toBeLessThanOrEqual(5)
          }
        },
      ),
      { numRuns: 200 },
    )
  })
})

describe('HostCache.check', () => {
  it('gives the same answer again without checking again, and holds a bounded number', () => {
    const cache = new HostCache({ localNetwork: true })
    const first = cache.check('http://127.0.0.1:10000')
    expect(first).toEqual({ ok: true, url: 'http://127.0.0.1:10000' })
    expect(cache.check('http://127.0.0.1:10000')).toBe(first)
    expect(Object.isFrozen(first)).toBe(true)
    for (let port = 10001; port <= 10000 + MAX_HOST_CHECK_MEMO; port++) {
      expect(cache.check(`http://127.0.0.1:${port}`)).toEqual({
        ok: true,
        url: `http://127.0.0.1:${port}`,
      })
    }
    // Past the cap the remembered answers were dropped: the same answer, made again.
    const again = cache.check('http://127.0.0.1:10000')
    expect(again).toEqual(first)
    expect(again).not.toBe(first)
  })

  it('remembers refusals as refusals', () => {
    const cache = new HostCache()
    for (let i = 0; i < 3; i++) {
      expect(cache.check('http://127.0.0.1:10000')).toMatchObject({ ok: false, code: 'not-public' })
      expect(cache.check('nonsense')).toMatchObject({ ok: false, code: 'malformed' })
    }
  })
})
