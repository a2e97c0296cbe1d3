// Cold start (ARCHITECTURE.md, "Discovery"): relays that know nothing but a DNS zone and a
// DoH endpoint, or a bootstrap list URL, find the network and join it. Real relay processes
// on 127.0.0.1: B, C and D are peered; B answers the zone over DoH. A is started with only
// --dns-zone and --doh-endpoint (no --peer) and must end up listing B, C and D, while all
// three list A. E starts from B's /.well-known/monsoon.json alone.

import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { parseBootstrapList } from '../../shared/bootstrap-list.ts'
import { getJson, removeTempDirs, waitFor } from './catalog-helpers.ts'
import { knownSupernodes, nodeIdOf, owningIds } from './supernode-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'

const ZONE = 'monsoon.test'
const running: RelayProcess[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
})
afterAll(removeTempDirs)

async function relay(...args: string[]): Promise<RelayProcess> {
  const r = await startRelay({
    args: ['--supernode-poll-interval', '1', '--local-network', ...args],
  })
  running.push(r)
  return r
}

/** B (serving the zone), and C and D peered with it; resolves once B lists all three. */
async function network(): Promise<{ b: RelayProcess; ids: string[] }> {
  const b = await relay('--dns-zone', ZONE)
  const c = await relay('--peer', b.url)
  const d = await relay('--peer', b.url)
  const ids = await Promise.all([b, c, d].map(nodeIdOf))
  // Listed and admitted (shared/admission.ts): DNS and bootstrap lists name owners only.
  await waitFor('B owning with C and D', async () => (await owningIds(b)).length === 3)
  return { b, ids }
}

async function lists(r: RelayProcess, ids: string[]): Promise<boolean> {
  const known = new Set((await knownSupernodes(r)).map((x) => x.id))
  return ids.every((id) => known.has(id))
}

describe('bootstrap', () => {
  it('joins from a zone and a DoH endpoint alone, and every relay lists the newcomer', async () => {
    const { b, ids } = await network()
    const a = await relay('--dns-zone', ZONE, '--doh-endpoint', `${b.url}/dns-query`)
    const aId = await nodeIdOf(a)
    await waitFor('A listing B, C and D', () => lists(a, ids))
    for (const r of running.slice(0, 3)) {
      await waitFor(`${r.url} listing A`, () => lists(r, [aId]))
    }
    // A says how it found each: B, C and D were all named in B's TXT records.
    const { body } = await getJson(`${a.url}/v1/discovery`)
    const routes = Object.fromEntries(
      (body.supernodes as { id: string; route: string }[]).map((s) => [s.id, s.route]),
    )
    expect(routes[aId]).toBe('self')
    for (const id of ids) expect(routes[id]).toBe('dns')
    expect(a.logs.some((l) => l.msg === 'bootstrap joined')).toBe(true)
  })

  it('joins from a bootstrap list URL alone', async () => {
    const { b, ids } = await network()
    const list = await getJson(`${b.url}/.well-known/monsoon.json`)
    expect(list.status).toBe(200)
    expect(parseBootstrapList(list.body)).toHaveLength(3)
    const e = await relay('--bootstrap-url', `${b.url}/.well-known/monsoon.json`)
    await waitFor('E listing B, C and D', () => lists(e, ids))
    const eId = await nodeIdOf(e)
    await waitFor('B listing E', () => lists(b, [eId]))
    const { body } = await getJson(`${e.url}/v1/discovery`)
    const found = (body.supernodes as { route: string }[]).map((s) => s.route).sort()
    expect(found).toEqual(['list', 'list', 'list', 'self'])
  })

  it('keeps running, alone, when the DoH endpoint and the list are broken', async () => {
    const { b } = await network()
    // C serves no zone: its /dns-query says so, rather than serving the app's page.
    const c = running[1]
    const noZone = await fetch(`${c.url}/dns-query?dns=AAABAAABAAAAAAAAAAAAAQAB`)
    expect(noZone.status).toBe(404)
    expect(await noZone.text()).toContain('answers no DNS zone')
    const a = await relay(
      '--dns-zone',
      ZONE,
      '--doh-endpoint',
      `${b.url}/not-doh`,
      '--doh-endpoint',
      `${c.url}/dns-query`,
      '--bootstrap-url',
      `${b.url}/v1/hosts`,
      '--log-level',
      'debug',
    )
    const failed = (msg: string) => a.logs.filter((l) => l.msg === msg).length
    await waitFor('a bootstrap round through every route', async () => {
      return failed('bootstrap DoH lookup failed') >= 2 && failed('bootstrap list failed') >= 1
    })
    expect(a.running()).toBe(true)
    expect(await knownSupernodes(a)).toHaveLength(1)
  })
})
