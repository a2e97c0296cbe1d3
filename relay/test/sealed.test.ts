// The sealed tunnel of real relay processes on plain HTTP: relays gossip through it (pulls,
// pushes, supernode records), a client reads and writes through it, the unsealed API keeps
// working for classic clients and curl, and hostile envelopes are refused with a clear 4xx
// while the relay keeps serving and keeps what it stored.

import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createIdentity } from '../../shared/identity.ts'
import type { Listing } from '../../shared/listing.ts'
import { SEALED_PATH } from '../../shared/sealed/client.ts'
import { ephemeralSession, nodeSession, sealRequest } from '../../shared/sealed/envelope.ts'
import { encodeInnerRequest } from '../../shared/sealed/inner.ts'
import { FastSigner, sampleDraft } from '../catalog/test-support.ts'
import { MAX_SEALED_REQUEST_BYTES } from '../limits.ts'
import { freePort, getJson, removeTempDirs, waitFor } from './catalog-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { sealedJson } from './sealed-client.ts'

const running: RelayProcess[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
})
afterAll(() => removeTempDirs())

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n))
const now = () => Math.floor(Date.now() / 1000)

function listing(i: number): Listing {
  return new FastSigner().listing(sampleDraft(i, Date.now()), { seq: 1, ts: now() })
}

async function post(r: RelayProcess, envelope: Uint8Array) {
  const res = await fetch(`${r.url}${SEALED_PATH}`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain' },
    body: envelope as BufferSource,
  })
  // A 200 is a sealed answer (bytes); a refusal is JSON.
  const text = await res.text()
  const body = res.ok ? {} : (JSON.parse(text) as { error?: string; code?: string })
  return { status: res.status, body }
}

describe('relays on plain HTTP, sealed', () => {
  it('gossip listings and supernode records through the tunnel; curl still reads in clear', async () => {
    const [p1, p2] = [await freePort(), await freePort()]
    const peer = (p: number) => ['--port', String(p), '--public-url', `http://127.0.0.1:${p}`]
    const common = [
      '--local-network',
      '--peer-poll-interval',
      '1',
      '--supernode-poll-interval',
      '1',
    ]
    const [r1, r2] = await Promise.all([
      startRelay({ args: [...peer(p1), '--peer', `http://127.0.0.1:${p2}`, ...common] }),
      startRelay({ args: [...peer(p2), '--peer', `http://127.0.0.1:${p1}`, ...common] }),
    ])
    running.push(r1, r2)
    const pushed = listing(1)
    expect((await sealedJson(r1.url, '/v1/listings', pushed)).status).toBe(200)
    await waitFor('r2 to hold the listing', async () => {
      const { status } = await sealedJson(r2.url, `/v1/listings/${pushed.infoHash}`)
      return status === 200
    })
    await waitFor('each relay to list the other', async () => {
      const lists = await Promise.all([r1, r2].map((r) => sealedJson(r.url, '/v1/supernodes')))
      return lists.every(({ body }) => (body.supernodes as unknown[]).length === 2)
    })
    // The unsealed API is unchanged for classic clients, curl and other tools.
    const clear = await getJson(`${r2.url}/v1/listings/${pushed.infoHash}`)
    expect((clear.body.listings as Listing[])[0].name).toBe(pushed.name)
  })

  it('refuses tampered, replayed, truncated, oversized and misdirected envelopes with 4xx', async () => {
    const r = await startRelay()
    running.push(r)
    const { id } = (await getJson(`${r.url}/health`)).body as { id: string }
    const stored = listing(2)
    expect((await sealedJson(r.url, '/v1/listings', stored)).status).toBe(200)
    const get = (session = ephemeralSession(id, random)) =>
      sealRequest(
        session,
        encodeInnerRequest({ method: 'GET', path: '/v1/listings', body: new Uint8Array(0) }),
        now(),
        random,
      )

    const once = get()
    expect((await post(r, once)).status).toBe(200)
    expect(await post(r, once)).toEqual({
      status: 409,
      body: { code: 'replayed', error: 'sealed message was seen before' },
    })
    const tampered = get()
    tampered[tampered.length - 1] ^= 1
    expect(await post(r, tampered)).toMatchObject({ status: 400, body: { code: 'unauthentic' } })
    expect(await post(r, get().subarray(0, 40))).toMatchObject({
      status: 400,
      body: { code: 'truncated' },
    })
    expect(await post(r, new Uint8Array(MAX_SEALED_REQUEST_BYTES + 1))).toMatchObject({
      status: 413,
      body: { code: 'too-large' },
    })
    const elsewhere = get(ephemeralSession(createIdentity().id, random))
    expect(await post(r, elsewhere)).toMatchObject({
      status: 421,
      body: { code: 'wrong-receiver' },
    })
    // A node claiming an id whose secret it lacks cannot produce a tag that checks.
    const mallory = createIdentity()
    const claimed = { ...nodeSession(mallory.secretKey, mallory.id, id), sender: random(32) }
    expect((await post(r, get(claimed))).status).toBe(400)
    const stale = sealRequest(
      ephemeralSession(id, random),
      encodeInnerRequest({ method: 'GET', path: '/health', body: new Uint8Array(0) }),
      now() - 3600,
      random,
    )
    expect(await post(r, stale)).toMatchObject({ status: 400, body: { code: 'stale' } })

    // Still up, and what it stored is unchanged.
    const again = await sealedJson(r.url, `/v1/listings/${stored.infoHash}`)
    expect((again.body.listings as Listing[])[0].sig).toBe(stored.sig)
  })
})
