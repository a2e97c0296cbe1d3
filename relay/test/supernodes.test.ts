// Relays learning every supernode, as real processes on 127.0.0.1: pushes of their own
// record to --peer relays and pulls of /v1/hello and /v1/supernodes carry every record
// across a chain; POST /v1/supernodes refuses forged, stale, oversized and flooding input
// with clear 4xx answers and keeps what it had.

import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { RecordSigner } from '../supernode/test-support.ts'
import { removeTempDirs, waitFor } from './catalog-helpers.ts'
import { knownSupernodes, nodeIdOf } from './supernode-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'

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

async function push(r: RelayProcess, body: unknown) {
  const res = await fetch(`${r.url}/v1/supernodes`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as Record<string, unknown>,
  }
}

const now = () => Math.floor(Date.now() / 1000)
/** URL put in made-up records: the relay may try to pull it, and nothing may leave the
 * machine (port 9, discard, refuses on loopback). */
const NOWHERE = 'http://127.0.0.1:9'

describe('supernode exchange', () => {
  it('teaches every relay of a chain (B --peer A, C --peer B) all three supernodes', async () => {
    const a = await relay()
    const b = await relay('--peer', a.url)
    const c = await relay('--peer', b.url)
    const ids = (await Promise.all([a, b, c].map(nodeIdOf))).sort()
    expect(new Set(ids).size).toBe(3)
    for (const r of [a, b, c]) {
      const records = await waitFor(`${r.url} knowing all three`, async () => {
        const got = await knownSupernodes(r)
        return JSON.stringify(got.map((x) => x.id).sort()) === JSON.stringify(ids) && got
      })
      // Its own record first, each with the URL its relay publishes.
      expect(records[0].id).toBe(await nodeIdOf(r))
      for (const record of records) expect(record.urls[0]).toMatch(/^http:\/\/localhost:\d+$/)
    }
  })
})

describe('POST /v1/supernodes', () => {
  it('stores a pushed record, ignores a replay, and lists it', async () => {
    const r = await relay()
    const signer = new RecordSigner()
    const record = signer.record({ seq: 2, ts: now(), url: NOWHERE })
    expect(await push(r, record)).toMatchObject({
      status: 200,
      body: { outcome: 'added', id: signer.id },
    })
    const replay = signer.record({ seq: 1, ts: now(), url: NOWHERE })
    expect(await push(r, { records: [replay, record] })).toMatchObject({
      status: 200,
      body: { accepted: 0, results: [{ outcome: 'stale' }, { outcome: 'stale' }] },
    })
    const listed = (await knownSupernodes(r)).find((x) => x.id === signer.id)
    expect(listed?.seq).toBe(2)
  })

  it('refuses forged, wrong-key, future, malformed and oversized input with clear 4xx', async () => {
    const r = await relay()
    const signer = new RecordSigner()
    const good = signer.record({ seq: 5, ts: now(), url: NOWHERE })
    expect((await push(r, good)).status).toBe(200)

    const tampered = { ...signer.record({ seq: 6, ts: now() }), urls: ['https://evil.example'] }
    expect(await push(r, tampered)).toMatchObject({
      status: 400,
      body: { code: 'bad-signature', error: 'signature does not match id' },
    })
    const wrongKey = new RecordSigner().record({ seq: 7, ts: now(), id: signer.id })
    expect(await push(r, wrongKey)).toMatchObject({ status: 400, body: { code: 'bad-signature' } })
    const future = signer.record({ seq: 8, ts: now() + 3600 })
    expect(await push(r, future)).toMatchObject({ status: 400, body: { code: 'future' } })
    expect(await push(r, '{"records": [')).toMatchObject({
      status: 400,
      body: { code: 'malformed' },
    })
    expect(await push(r, { v: 1 })).toMatchObject({ status: 400, body: { code: 'malformed' } })
    const many = Array.from({ length: 33 }, () => good)
    expect(await push(r, { records: many })).toMatchObject({
      status: 413,
      body: { code: 'too-large' },
    })
    expect(await push(r, 'x'.repeat(200 * 1024))).toMatchObject({
      status: 413,
      body: { code: 'too-large' },
    })
    // What it had is unchanged, and the relay still answers.
    const stored = (await knownSupernodes(r)).find((x) => x.id === signer.id)
    expect(stored).toMatchObject({ seq: 5, urls: good.urls })
  })

  it('caps one address pushing fresh ids: a per-minute quota, then 429 with Retry-After', async () => {
    // Not --local-network: the made-up records' reserved name is then never contacted, so
    // none drops out of the list for missed pulls while the test runs.
    const r = await startRelay({ args: ['--supernode-poll-interval', '1'] })
    running.push(r)
    // Signed first, so the pushes follow each other quickly (the bucket refills 4 a second).
    const batches = Array.from({ length: 10 }, () =>
      Array.from({ length: 32 }, () =>
        // A reserved name (never contacted): made-up records at one address the relay can
        // reach would go unreachable after three failed pulls and drop out of the list.
        new RecordSigner().record({ seq: 1, ts: now(), url: 'https://quota.invalid' }),
      ),
    )
    let accepted = 0
    const refusals: Awaited<ReturnType<typeof push>>[] = []
    const t0 = performance.now()
    for (const records of batches) {
      const answer = await push(r, { records })
      if (answer.status === 200) accepted += answer.body.accepted as number
      else refusals.push(answer)
    }
    const seconds = (performance.now() - t0) / 1000
    // 240 records a minute per address, plus what the bucket refilled meanwhile (4 a second:
    // bounded by the time the pushes took, so a slow machine does not fail it), out of 320;
    // the rest refused before any signature was checked.
    expect(accepted).toBeGreaterThanOrEqual(240)
    expect(accepted).toBeLessThanOrEqual(240 + Math.ceil(seconds * 4) + 32)
    expect(refusals.length).toBeGreaterThan(0)
    for (const refusal of refusals) {
      expect(refusal).toMatchObject({ status: 429, body: { code: 'quota' } })
      expect(Number(refusal.retryAfter)).toBeGreaterThan(0)
    }
    expect((await knownSupernodes(r)).length).toBe(1 + accepted)
  })
})
