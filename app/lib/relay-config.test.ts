import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { fetchRelayJson } from '../catalog/relay-client.ts'
import {
  MAX_CANDIDATES,
  RETRY_MIN_MS,
  RelayIce,
  STORAGE_KEY,
  relaysOf,
  type RelayIceDeps,
} from './relay-config.ts'

const ORIGIN = 'http://origin.test'
const T0 = 1_765_000_000_000

/** A relay's /v1/config answer with credentials good for `lifetimeS` from `nowMs`. */
function answer(host: string, nowMs: number, lifetimeS = 3600) {
  const expires = Math.floor(nowMs / 1000) + lifetimeS
  return {
    iceServers: [
      { urls: `stun:${host}:3478` },
      {
        urls: [`turn:${host}:3478?transport=udp`, `turn:${host}:3478?transport=tcp`],
        username: `${expires}:abcd`,
        credential: `cred-${nowMs}`,
      },
    ],
    expires,
  }
}

function memoryStorage() {
  const items = new Map<string, string>()
  return {
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v),
  }
}

/** A clock and timers the test moves by hand, and relays that answer as `answers` says. */
function world(answers: (relay: string, now: number) => unknown) {
  let now = T0
  let timer: { at: number; fn: () => void } | null = null
  const asked: { relay: string; at: number }[] = []
  const deps: RelayIceDeps = {
    now: () => now,
    setTimer: (fn, ms) => (timer = { at: now + ms, fn }),
    clearTimer: (t) => {
      if (t === timer) timer = null
    },
    fetchJson: async (url) => {
      const relay = url.replace(/\/v1\/config$/, '')
      asked.push({ relay, at: now })
      const body = answers(relay, now)
      if (body instanceof Error) throw body
      return body
    },
    storage: memoryStorage(),
    online: () => true,
  }
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0))
  return {
    deps,
    asked,
    now: () => now,
    /** Moves the clock on by `ms`, running the timer when it comes due. */
    async advance(ms: number) {
      const end = now + ms
      while (timer && timer.at <= end) {
        const due = timer
        timer = null
        now = due.at
        due.fn()
        await settle()
      }
      now = end
      await settle()
    },
    settle,
  }
}

const turnOf = (config: RTCConfiguration) =>
  (config.iceServers ?? []).filter((s) => s.username !== undefined)

describe('RelayIce', () => {
  it('replaces the servers of the one rtcConfig in place, fresh at 80 % of the lifetime', async () => {
    const w = world((relay, now) => answer(new URL(relay).hostname, now))
    const target: RTCConfiguration = { iceServers: [] }
    const ice = new RelayIce(ORIGIN, target, w.deps)
    await ice.start()
    expect(target.iceServers).toEqual([
      { urls: ['stun:origin.test:3478'] },
      {
        urls: ['turn:origin.test:3478?transport=udp', 'turn:origin.test:3478?transport=tcp'],
        username: `${T0 / 1000 + 3600}:abcd`,
        credential: `cred-${T0}`,
      },
    ])
    const first = target.iceServers
    await w.advance(2879_000)
    expect(w.asked).toHaveLength(1)
    await w.advance(1_000)
    expect(w.asked.map((a) => a.at)).toEqual([T0, T0 + 2880_000])
    // The same object, its servers swapped: what simple-peer copies for the next peer.
    expect(target.iceServers).not.toBe(first)
    expect(turnOf(target)[0]?.credential).toBe(`cred-${T0 + 2880_000}`)
    ice.stop()
  })

  it('retries a failed refresh with backoff, then offers no lapsed TURN', async () => {
    let up = true
    const w = world((relay, now) => (up ? answer('origin.test', now) : new Error('down')))
    const target: RTCConfiguration = {}
    const ice = new RelayIce(ORIGIN, target, w.deps)
    await ice.start()
    up = false
    await w.advance(2880_000) // the refresh fails…
    await w.advance(RETRY_MIN_MS) // …and is retried: 5 s, then 10 s, 20 s…
    await w.advance(2 * RETRY_MIN_MS)
    expect(w.asked.map((a) => a.at - T0)).toEqual([0, 2880_000, 2885_000, 2895_000])
    expect(turnOf(target)).toHaveLength(1) // the last good answer, still valid
    await w.advance(720_000) // past the hour: the credentials lapsed
    expect(turnOf(target)).toEqual([])
    expect(target.iceServers).toEqual([{ urls: ['stun:origin.test:3478'] }])
    up = true
    ice.wake()
    await w.settle()
    expect(turnOf(target)).toHaveLength(1)
    ice.stop()
  })

  it('starts from the kept answer when the origin cannot be reached', async () => {
    let up = true
    const w = world((_relay, now) => (up ? answer('origin.test', now) : new Error('offline')))
    const online = new RelayIce(ORIGIN, {}, w.deps)
    await online.start()
    online.stop()
    up = false
    await w.advance(60_000)
    const target: RTCConfiguration = {}
    const offline = new RelayIce(ORIGIN, target, w.deps)
    await offline.start()
    expect(target.iceServers).toHaveLength(2)
    offline.stop()
    // Started again two hours on: the kept STUN, not the kept credentials.
    await w.advance(2 * 3600_000)
    const later: RTCConfiguration = {}
    const late = new RelayIce(ORIGIN, later, w.deps)
    await late.start()
    expect(later.iceServers).toEqual([{ urls: ['stun:origin.test:3478'] }])
    late.stop()
  })

  it('ignores a kept copy that is not a config, and reads an older one', async () => {
    const w = world(() => new Error('down'))
    w.deps.storage!.setItem(STORAGE_KEY, '{"iceServers":[{"urls":"javascript:x"}]}')
    const target: RTCConfiguration = {}
    const ice = new RelayIce(ORIGIN, target, w.deps)
    await ice.start()
    expect(target.iceServers).toEqual([])
    ice.stop()
    w.deps.storage!.setItem(STORAGE_KEY, 'not json')
    await new RelayIce(ORIGIN, target, w.deps).start()
    expect(target.iceServers).toEqual([])
    // Kept by the version before (no date, no TURN).
    w.deps.storage!.setItem(STORAGE_KEY, '{"iceServers":[{"urls":"stun:127.0.0.1:3478"}]}')
    const old = new RelayIce(ORIGIN, target, w.deps)
    await old.start()
    expect(target.iceServers).toEqual([{ urls: ['stun:127.0.0.1:3478'] }])
    old.stop()
  })

  it("adds the trackers' relays' TURN and STUN and passes over relays that fail", async () => {
    const w = world((relay, now) =>
      relay.includes('down') ? new Error('down') : answer(new URL(relay).hostname, now),
    )
    const target: RTCConfiguration = {}
    const ice = new RelayIce(ORIGIN, target, w.deps)
    await ice.start()
    ice.setRelays(
      ['http://down.test', 'http://owner.test', 'http://owner.test', ORIGIN],
      ['http://super.test', 'http://spare.test'],
    )
    await w.settle()
    await w.settle()
    const urls = (target.iceServers ?? []).map((s) => [s.urls].flat()[0])
    expect(urls).toEqual([
      'stun:origin.test:3478',
      'turn:origin.test:3478?transport=udp',
      'stun:owner.test:3478',
      'turn:owner.test:3478?transport=udp',
      'stun:super.test:3478',
    ])
    // Two others answered: the spare was never asked, the origin not twice.
    expect(w.asked.map((a) => a.relay).sort()).toEqual(
      [ORIGIN, 'http://down.test', 'http://owner.test', 'http://super.test'].sort(),
    )
    // The same lists again ask nothing.
    const before = w.asked.length
    ice.setRelays(
      ['http://owner.test', 'http://down.test', 'http://owner.test'],
      ['http://super.test', 'http://spare.test'],
    )
    await w.settle()
    expect(w.asked.length).toBe(before)
    ice.stop()
  })

  it('looks at a bounded number of other relays, and no plain-HTTP ones from HTTPS', async () => {
    const w = world(() => new Error('down'))
    const ice = new RelayIce('https://origin.test', {}, w.deps)
    await ice.start()
    const many = Array.from({ length: 50 }, (_, i) => `https://r${i}.test`)
    ice.setRelays(['http://plain.test', ...many], many)
    await w.settle()
    const others = w.asked.filter((a) => a.relay !== 'https://origin.test')
    expect(others).toHaveLength(MAX_CANDIDATES)
    expect(others.some((a) => a.relay.startsWith('http:'))).toBe(false)
    ice.stop()
  })
})

describe('relaysOf', () => {
  it('turns trackers and record URLs into relay origins', () => {
    expect(
      relaysOf(
        ['wss://a.example/', 'ws://127.0.0.1:8000/', 'udp://x:1'],
        ['https://b.example', 'https://b.example/path', 'javascript:x'],
      ),
    ).toEqual({
      trackerRelays: ['https://a.example', 'http://127.0.0.1:8000'],
      supernodes: ['https://b.example'],
    })
  })
})

describe('RelayIce against a real HTTP relay', () => {
  it("reads the relay's answer over the network the page uses (fetchRelayJson)", async () => {
    const server = createServer((req, res) => {
      res.setHeader('Content-Type', 'application/json')
      res.end(JSON.stringify(req.url === '/v1/config' ? answer('127.0.0.1', Date.now()) : {}))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const target: RTCConfiguration = {}
    const ice = new RelayIce(`http://127.0.0.1:${port}`, target, {
      fetchJson: (url, timeoutMs) => fetchRelayJson(url, {}, timeoutMs),
      now: Date.now,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
      storage: memoryStorage(),
      online: () => true,
    })
    try {
      await ice.start()
      expect(target.iceServers?.[0]).toEqual({ urls: ['stun:127.0.0.1:3478'] })
      expect(turnOf(target)[0]?.urls).toHaveLength(2)
    } finally {
      ice.stop()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
