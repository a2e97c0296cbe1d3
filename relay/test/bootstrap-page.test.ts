// The page's bootstrap (app/lib/bootstrap/bootstrap.ts) run against real relay processes,
// with the real fetch: a lone origin relay knows only itself, so the page goes on, in order,
// to its host cache, to DNS through a relay's DoH endpoint (with the page's own DoH codec),
// and to bootstrap lists, and says which route found each relay.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bootstrapPage } from '../../app/lib/bootstrap/bootstrap.ts'
import { removeTempDirs, waitFor } from './catalog-helpers.ts'
import { nodeIdOf, owningIds } from './supernode-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'

const ZONE = 'monsoon.test'
const running: RelayProcess[] = []
let lone: RelayProcess
let b: RelayProcess
let c: RelayProcess
let ids: Record<string, string>

async function relay(...args: string[]): Promise<RelayProcess> {
  const r = await startRelay({
    args: ['--supernode-poll-interval', '1', '--local-network', ...args],
  })
  running.push(r)
  return r
}

beforeAll(async () => {
  lone = await relay()
  b = await relay('--dns-zone', ZONE)
  c = await relay('--peer', b.url)
  const d = await relay('--peer', b.url)
  // Listed and admitted (shared/admission.ts): DNS and bootstrap lists name owners only.
  await waitFor('B owning with C and D', async () => (await owningIds(b)).length === 3)
  ids = Object.fromEntries(
    await Promise.all(
      Object.entries({ lone, b, c, d }).map(async ([k, r]) => [k, await nodeIdOf(r)] as const),
    ),
  )
})
afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()))
  await removeTempDirs()
})

const routes = (found: Awaited<ReturnType<typeof bootstrapPage>>) =>
  Object.fromEntries([...found].map(([id, f]) => [id, f.route]))

describe('page bootstrap', () => {
  it('stops at the origin when it lists enough', async () => {
    const found = await bootstrapPage({ origin: b.url, cached: [c.url], enough: 3 })
    expect(new Set(Object.values(routes(found)))).toEqual(new Set(['origin']))
    expect(found.size).toBe(3)
  })

  it('goes on to its host cache, then DNS, when the origin knows too few', async () => {
    const found = await bootstrapPage({
      origin: lone.url,
      cached: [c.url],
      enough: 4,
      hints: { zones: [ZONE], dohEndpoints: [`${b.url}/dns-query`] },
    })
    expect(routes(found)).toEqual({
      [ids.lone]: 'origin',
      [ids.c]: 'host-cache',
      [ids.b]: 'dns',
      [ids.d]: 'dns',
    })
  })

  it('reads bootstrap lists when DNS gives nothing', async () => {
    const found = await bootstrapPage({
      origin: lone.url,
      cached: ['http://127.0.0.1:9'],
      enough: 4,
      hints: {
        zones: ['nowhere.test'],
        dohEndpoints: [`${b.url}/dns-query`],
        lists: [`${b.url}/.well-known/monsoon.json`],
      },
    })
    expect(routes(found)).toEqual({
      [ids.lone]: 'origin',
      [ids.b]: 'list',
      [ids.c]: 'list',
      [ids.d]: 'list',
    })
  })
})
