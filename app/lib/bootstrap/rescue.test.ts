import { describe, expect, it } from 'vitest'
import type { RelaySyncProgress } from '../../catalog/protocol.ts'
import type { Found } from './bootstrap.ts'
import { allRelaysDown, RelayRescue, RESCUE_RETRY_MS, type RescueDeps } from './rescue.ts'

const relay = (url: string, state: RelaySyncProgress['state']): RelaySyncProgress => ({
  relay: url,
  fetched: 0,
  remaining: null,
  refused: 0,
  fraction: null,
  state,
  error: state === 'error' ? 'down' : null,
  lastSyncAt: 0,
})

const found = (...urls: string[]) =>
  new Map(
    urls.map((url, i) => [
      `id${i}`,
      { route: 'host-cache', record: { urls: [url] } } as unknown as Found,
    ]),
  )

function rescue(answer: () => Promise<Map<string, Found>>) {
  const told = {
    started: [] as string[][],
    saved: [] as string[][],
    searches: 0,
    cached: [] as string[][],
  }
  let now = 0
  const deps: RescueDeps = {
    origin: 'http://origin.test',
    cached: () => ['http://b.test'],
    bootstrap: (options) => {
      told.searches++
      told.cached.push([...options.cached])
      return answer()
    },
    enough: 3,
    start: (urls) => told.started.push(urls),
    saveFound: (urls) => told.saved.push(urls),
    now: () => now,
  }
  return { r: new RelayRescue(deps), told, tick: (ms: number) => (now += ms) }
}

describe('finding other relays when every one the catalog has is down', () => {
  it('says all are down only when there are relays and each failed', () => {
    expect(allRelaysDown([])).toBe(false)
    expect(allRelaysDown([relay('a', 'error'), relay('b', 'idle')])).toBe(false)
    expect(allRelaysDown([relay('a', 'error'), relay('b', 'syncing')])).toBe(false)
    expect(allRelaysDown([relay('a', 'error'), relay('b', 'error')])).toBe(true)
  })

  it('searches from the host cache and starts the catalog on the new relays only', async () => {
    const { r, told } = rescue(() => Promise.resolve(found('http://origin.test', 'http://b.test')))
    expect(await r.check([relay('http://origin.test', 'error')])).toEqual(['http://b.test'])
    expect(told.cached).toEqual([['http://b.test']])
    expect(told.started).toEqual([['http://b.test']])
    expect(told.saved).toEqual([['http://b.test']])
  })

  it('does nothing while a relay works, and searches again only after the retry time', async () => {
    const { r, told, tick } = rescue(() => Promise.resolve(found()))
    expect(await r.check([relay('http://origin.test', 'idle')])).toEqual([])
    expect(told.searches).toBe(0)
    const down = [relay('http://origin.test', 'error')]
    await r.check(down)
    await r.check(down)
    expect(told.searches).toBe(1)
    expect(told.started).toEqual([])
    tick(RESCUE_RETRY_MS)
    await r.check(down)
    expect(told.searches).toBe(2)
  })

  it('survives a search that throws', async () => {
    const { r, told } = rescue(() => Promise.reject(new Error('offline')))
    expect(await r.check([relay('http://origin.test', 'error')])).toEqual([])
    expect(told.started).toEqual([])
  })
})
