import { describe, expect, it } from 'vitest'
import { CATALOG_PULL_INTERVAL_MS, PULL_TIMEOUT_MS } from '../../../shared/mesh/limits.ts'
import { MAX_PAGE_RECORDS, type MeshMessage } from '../../../shared/mesh/messages.ts'
import { CatalogPulls } from './catalog-pulls.ts'
import { FakeHost } from './test-network.ts'
import type { CatalogExchange } from './types.ts'

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

function setup(catalog: CatalogExchange | null) {
  const clock = { ms: 0 }
  const host = new FakeHost('a'.repeat(40), clock)
  host.catalog = catalog
  const sent: MeshMessage[] = []
  const hostile: string[] = []
  const pulls = new CatalogPulls(host, {
    send: (_peerId, m) => {
      sent.push(m)
      return true
    },
    hostile: (_peerId, reason) => void hostile.push(reason),
    stored: () => {},
    dropped: () => {},
  })
  return { clock, pulls, sent, hostile }
}

const accepting: CatalogExchange = {
  page: async () => ({ records: [], next: 0, more: false }),
  accept: async (_kind, records) => ({ stored: records.length, refused: 0 }),
}

describe('CatalogPulls', () => {
  it('pulls nothing without a catalog, and serves nothing', async () => {
    const { pulls, sent } = setup(null)
    pulls.open('b')
    pulls.tick(0)
    pulls.serve('b', { t: 'pull', query: 1, kind: 'hosts', cursor: 0 })
    await settle()
    expect(sent).toEqual([])
  })

  it('gives up on an unanswered pull after PULL_TIMEOUT_MS and asks again next round', () => {
    const { pulls, sent } = setup(accepting)
    pulls.open('b')
    pulls.tick(0)
    expect(sent).toHaveLength(3)
    pulls.tick(PULL_TIMEOUT_MS)
    expect(sent).toHaveLength(3)
    pulls.tick(CATALOG_PULL_INTERVAL_MS)
    expect(sent).toHaveLength(6)
  })

  it('judges a cursor that goes back hostile', async () => {
    const { pulls, sent, hostile } = setup(accepting)
    pulls.open('b')
    pulls.tick(0)
    const pull = sent[0] as Extract<MeshMessage, { t: 'pull' }>
    pulls.page('b', {
      t: 'page',
      query: pull.query,
      kind: pull.kind,
      next: 5,
      more: false,
      records: ['r'],
    })
    await settle()
    pulls.tick(CATALOG_PULL_INTERVAL_MS)
    const again = sent[3] as Extract<MeshMessage, { t: 'pull' }>
    expect(again).toMatchObject({ kind: pull.kind, cursor: 5 })
    pulls.page('b', {
      t: 'page',
      query: again.query,
      kind: again.kind,
      next: 2,
      more: false,
      records: [],
    })
    expect(hostile).toEqual(['catalog cursor went back'])
  })

  it('never sends a page that would not encode: asks for fewer records', async () => {
    const asked: number[] = []
    const big: CatalogExchange = {
      page: async (_kind, cursor, limit) => {
        asked.push(limit)
        const records = Array.from({ length: limit }, () => 'x'.repeat(8000))
        return { records, next: cursor + limit, more: true }
      },
      accept: accepting.accept,
    }
    const { pulls, sent } = setup(big)
    pulls.open('b')
    pulls.serve('b', { t: 'pull', query: 3, kind: 'listings', cursor: 10 })
    await settle()
    expect(asked[0]).toBe(MAX_PAGE_RECORDS)
    const page = sent.find((m) => m.t === 'page') as Extract<MeshMessage, { t: 'page' }>
    expect(page.records.length).toBe(asked.at(-1))
    expect(page).toMatchObject({ query: 3, next: 10 + page.records.length, more: true })
  })
})
