// Relays sharing their catalogs, as real processes on 127.0.0.1: gossip pushes across hops,
// cursor pulls that resume after a restart without fetching anything twice, hostile peers,
// and a relay killed with SIGKILL mid-burst keeping every listing it acknowledged.

import { createServer, type Server } from 'node:http'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { Listing } from '../../shared/listing.ts'
import { FastSigner, sampleDraft } from '../catalog/test-support.ts'
import {
  allListings,
  freePort,
  getJson,
  listingsOf,
  logsWith,
  peerCursors,
  postJson,
  removeTempDirs,
  tempDir,
  waitFor,
} from './catalog-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'

const running: RelayProcess[] = []

async function relay(...args: string[]): Promise<RelayProcess> {
  const r = await startRelay({ args })
  running.push(r)
  return r
}

async function has(r: RelayProcess, l: Listing): Promise<boolean> {
  const { status, body } = await getJson(`${r.url}/v1/listings/${l.infoHash}`)
  return status === 200 && (body.listings as Listing[]).some((x) => x.sig === l.sig)
}

async function count(r: RelayProcess): Promise<number> {
  return (await allListings(r.url)).length
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
})
afterAll(() => removeTempDirs())

describe('relay to relay', () => {
  it('spreads a published listing over two hops by push, and does not push it back in a loop', async () => {
    // r1 <-> r2 -> r3; nothing polls after the first pull, so only pushes carry news.
    const [p1, p2] = [await freePort(), await freePort()]
    const slow = ['--peer-poll-interval', '3600', '--log-level', 'debug']
    const r3 = await relay(...slow)
    const [r1, r2] = await Promise.all([
      relay('--port', String(p1), '--peer', `http://127.0.0.1:${p2}`, ...slow),
      relay('--port', String(p2), '--peer', `http://127.0.0.1:${p1}`, '--peer', r3.url, ...slow),
    ])
    const l = new FastSigner().listing(sampleDraft(1), {
      seq: 1,
      ts: Math.floor(Date.now() / 1000),
    })
    // r2's first pull of r1 over (caught up, or failed if r1 was not listening yet), so the
    // listing reaches r2 by push, which r2 passes on, and not by that pull, which it would
    // not: pulled listings are not pushed again.
    const fromR1 = (e: Record<string, unknown>) => e.peer === `http://127.0.0.1:${p1}`
    await waitFor('r2 to have tried r1 once', async () =>
      [...logsWith(r2.logs, 'catalog caught up'), ...logsWith(r2.logs, 'catalog pull failed')].some(
        fromR1,
      ),
    )
    expect((await postJson(r1.url, l)).status).toBe(200)
    await waitFor('the listing on r3', () => has(r3, l))
    expect(await has(r2, l)).toBe(true)
    // r2 pushed it back to r1, which already had it: accepted 0, so r1 pushed nothing more.
    const back = await waitFor('r2 pushing to r1', async () =>
      logsWith(r2.logs, 'catalog push').find((e) => e.peer === r1.url),
    )
    expect(back).toMatchObject({ sent: 1, accepted: 0 })
    expect(logsWith(r1.logs, 'catalog push')).toHaveLength(1)
    expect(await getJson(`${r2.url}/v1/relays`)).toMatchObject({
      body: { self: `http://localhost:${p2}`, relays: [`http://127.0.0.1:${p1}`, r3.url] },
    })
  })

  it('pulls a peer catalog by cursor, and after a restart resumes without fetching twice', async () => {
    const signer = new FastSigner()
    const first = listingsOf(signer, 0, 250, 1)
    const later = listingsOf(signer, 250, 150, 1)
    const r1 = await relay()
    const dir = tempDir()
    const args = ['--data-dir', dir, '--peer', r1.url, '--peer-poll-interval', '1']
    let r2 = await relay(...args)
    for (let i = 0; i < first.length; i += 100) {
      expect((await postJson(r1.url, { listings: first.slice(i, i + 100) })).status).toBe(200)
    }
    await waitFor('r2 to have the first 250', async () => (await count(r2)) === 250)
    const cursorBefore = (await getJson(`${r1.url}/v1/listings?after=0&limit=1`)).body
      .latest as number
    await r2.stop()
    running.splice(running.indexOf(r2), 1)
    const [afterStop] = peerCursors(dir)
    expect(afterStop).toMatchObject({ peer: r1.url, cursor: cursorBefore, fetched: 250 })

    for (let i = 0; i < later.length; i += 100) {
      expect((await postJson(r1.url, { listings: later.slice(i, i + 100) })).status).toBe(200)
    }
    r2 = await relay(...args)
    await waitFor('r2 to have all 400', async () => (await count(r2)) === 400)
    expect(logsWith(r2.logs, 'catalog pull start')[0]).toMatchObject({
      cursor: cursorBefore,
      fetched: 250,
    })
    const pulls = logsWith(r2.logs, 'catalog pull')
    expect(pulls[0].after).toBe(cursorBefore)
    expect(pulls.reduce((n, e) => n + (e.received as number), 0)).toBe(150)
    await r2.stop()
    running.splice(running.indexOf(r2), 1)
    expect(peerCursors(dir)[0].fetched).toBe(400)
    const everything = new Set([...first, ...later].map((l) => l.sig))
    expect(new Set((await allListings(r1.url)).map((l) => l.sig))).toEqual(everything)
  })

  it('stores only what verifies from a hostile peer, and survives one that floods', async () => {
    const signer = new FastSigner()
    const [good, tampered] = listingsOf(signer, 0, 2, 2)
    const pages: Record<string, string> = {
      '/v1/listings?after=0&limit=1000': JSON.stringify({
        listings: [{ ...tampered, name: 'Changed' }, good, { junk: true }],
        next: 3,
        more: false,
        epoch: 'abc',
      }),
    }
    const hostile = await serve(
      (url) => pages[url] ?? '{"listings":[],"next":3,"more":false,"epoch":"abc"}',
    )
    const flood = await serve(() => 'x'.repeat(12 * 1024 * 1024))
    const hostileUrl = `http://127.0.0.1:${(hostile.address() as { port: number }).port}`
    const floodUrl = `http://127.0.0.1:${(flood.address() as { port: number }).port}`
    try {
      const r = await relay('--peer', hostileUrl, '--peer', floodUrl, '--peer-poll-interval', '1')
      await waitFor('the good listing', () => has(r, good))
      expect(await has(r, tampered)).toBe(false)
      expect(await count(r)).toBe(1)
      await waitFor('the flood refused', async () =>
        logsWith(r.logs, 'catalog pull failed').some((e) => e.peer === floodUrl),
      )
      expect((await fetch(`${r.url}/health`)).status).toBe(200)
    } finally {
      hostile.close()
      flood.close()
    }
  })

  it('keeps every listing it acknowledged when killed with SIGKILL mid-burst', async () => {
    const dir = tempDir()
    const r = await relay('--data-dir', dir)
    const signers = Array.from({ length: 10 }, () => new FastSigner())
    const batches = signers.flatMap((s, k) =>
      [0, 1, 2, 3].map((b) => listingsOf(s, b * 25, 25, 10 + k)),
    )
    const acknowledged: Listing[] = []
    let answered = 0
    const send = async (batch: Listing[]) => {
      try {
        const answer = await postJson(r.url, { listings: batch })
        const results = answer.body.results as { status: number }[]
        results.forEach((res, i) => res.status === 200 && acknowledged.push(batch[i]))
        if (++answered === 6) r.child.kill('SIGKILL')
      } catch {
        // Cut off by the kill: not acknowledged.
      }
    }
    // Four requests in flight at a time until the relay dies.
    const queue = [...batches]
    await Promise.all(
      [0, 1, 2, 3].map(async () => {
        while (queue.length) await send(queue.shift()!)
      }),
    )
    await waitFor('the relay to die', async () => !r.running())
    expect(acknowledged.length).toBeGreaterThanOrEqual(6 * 25)
    expect(acknowledged.length).toBeLessThan(40 * 25)

    const again = await relay('--data-dir', dir)
    const stored = new Set((await allListings(again.url)).map((l) => l.sig))
    for (const l of acknowledged) expect(stored.has(l.sig)).toBe(true)
  })
})

function serve(body: (url: string) => string): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(body(req.url ?? '/'))
    })
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}
