// What an observer on the wire sees of relays talking over plain HTTP (ARCHITECTURE.md,
// "Transport and encryption"): tcpdump on the loopback interface records three relays
// gossiping listings with distinctive names, exchanging supernode records and asking each
// other for the owners' figures of a hash; neither a listing's name nor the info hash looked
// up may appear in any TCP stream. The test's own requests go through the tunnel too, as the
// app's do. Controls, so the test can fail: the same capture does show the names over the
// unsealed endpoint, and between relays started with --unsealed.
//
// tcpdump needs root or CAP_NET_RAW (CI runs as root); .ci/run installs it. Loopback only.

import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { Listing } from '../../shared/listing.ts'
import { rendezvousOwners } from '../../shared/rendezvous.ts'
import { FastSigner, sampleDraft } from '../catalog/test-support.ts'
import { TCPDUMP, captureLoopback } from './capture-pcap.ts'
import { freePort, waitFor } from './catalog-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { sealedJson } from './sealed-client.ts'

const running: RelayProcess[] = []
const dir = mkdtempSync(join(tmpdir(), 'monsoon-capture-'))

afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
})
afterAll(() => {
  if (!process.env.MONSOON_KEEP_CAPTURES) rmSync(dir, { recursive: true, force: true })
})

if (!TCPDUMP) console.warn('capture tests skipped: tcpdump is missing (apt-get install tcpdump)')

/** `n` relays on fixed ports, each with every other as --peer, on plain HTTP. */
async function mesh(n: number, ...extra: string[]): Promise<RelayProcess[]> {
  const ports = await Promise.all(Array.from({ length: n }, () => freePort()))
  const relays = await Promise.all(
    ports.map((port) =>
      startRelay({
        args: [
          '--port',
          String(port),
          '--public-url',
          `http://127.0.0.1:${port}`,
          ...ports.filter((p) => p !== port).flatMap((p) => ['--peer', `http://127.0.0.1:${p}`]),
          '--local-network',
          '--supernode-poll-interval',
          '1',
          '--peer-poll-interval',
          '1',
          ...extra,
        ],
      }),
    ),
  )
  running.push(...relays)
  return relays
}

/** `count` listings whose names carry `tag`, signed now; with `remoteTo` (node ids), the
 * last listing's hash is one the last of those nodes does not own. */
function canaries(tag: string, count: number, remoteTo?: string[]): Listing[] {
  const signer = new FastSigner()
  const salt = randomBytes(4).readUInt32BE(0)
  const sign = (i: number) =>
    signer.listing(
      { ...sampleDraft(i, salt), name: `${tag} Film ${i}`, description: `${tag} notes` },
      { seq: 1, ts: Math.floor(Date.now() / 1000) },
    )
  const out = Array.from({ length: count - 1 }, (_, i) => sign(i))
  let i = count - 1
  const notOwned = (hash: string) =>
    !remoteTo || !rendezvousOwners(hash, remoteTo).includes(remoteTo[remoteTo.length - 1])
  while (!notOwned(sampleDraft(i, salt).infoHash)) i++
  return [...out, sign(i)]
}

async function holds(r: RelayProcess, tag: string, count: number): Promise<boolean> {
  const { body } = await sealedJson(r.url, '/v1/listings?after=0&limit=1000')
  const names = (body.listings as Listing[]).map((l) => l.name)
  return names.filter((name) => name.startsWith(tag)).length === count
}

function seen(streams: Buffer[], needle: string): boolean {
  return streams.some((s) => s.includes(needle) || s.includes(needle.toUpperCase()))
}

describe.skipIf(!TCPDUMP)('a capture of relays on plain HTTP', () => {
  it('shows no listing name and no looked-up info hash; the unsealed endpoint does show them', async () => {
    const relays = await mesh(3)
    const capture = await captureLoopback(
      join(dir, 'sealed.pcap'),
      relays.map((r) => r.port),
    )
    const tag = `Canary${randomBytes(6).toString('hex')}`
    const [r1, r2, r3] = relays
    const ids = await Promise.all(
      relays.map(
        async (r) => ((await (await fetch(`${r.url}/health`)).json()) as { id: string }).id,
      ),
    )
    // The last listing's hash is one r2 does not own.
    const listings = canaries(tag, 8, [ids[0], ids[2], ids[1]])
    const remote = listings[7]
    expect((await sealedJson(r1.url, '/v1/listings', { listings })).status).toBe(200)
    await waitFor('r2 and r3 to hold every listing', async () =>
      (await Promise.all([holds(r2, tag, 8), holds(r3, tag, 8)])).every(Boolean),
    )
    await waitFor('r2 to know all three supernodes', async () => {
      const { body } = await sealedJson(r2.url, '/v1/supernodes')
      return (body.supernodes as unknown[]).length === 3
    })
    // Asked of r2, which asks the hash's owners (GET /v1/lookup, sealed) for the figures.
    const detail = await sealedJson(r2.url, `/v1/listings/${remote.infoHash}`)
    expect(detail.status).toBe(200)
    const lookup = await sealedJson(r2.url, `/v1/lookup/${remote.infoHash}`)
    expect(lookup.body.owner).toBe(false)
    const streams = await capture.stop()

    const all = Buffer.concat(streams)
    expect(all.length).toBeGreaterThan(10_000)
    expect(seen(streams, 'POST /v1/sealed')).toBe(true)
    expect(seen(streams, tag)).toBe(false)
    for (const l of listings)
      expect([l.infoHash, seen(streams, l.infoHash)]).toEqual([l.infoHash, false])

    // Control: the same relays, read over the unsealed endpoint, show the names on the wire.
    const control = await captureLoopback(join(dir, 'clear.pcap'), [r1.port])
    const clear = await fetch(`${r1.url}/v1/listings/${remote.infoHash}`)
    expect(clear.status).toBe(200)
    await clear.text()
    const clearStreams = await control.stop()
    expect(seen(clearStreams, tag)).toBe(true)
    expect(seen(clearStreams, remote.infoHash)).toBe(true)
  })

  it('control: relays started with --unsealed gossip the names in clear', async () => {
    const relays = await mesh(2, '--unsealed')
    const capture = await captureLoopback(
      join(dir, 'unsealed.pcap'),
      relays.map((r) => r.port),
    )
    const tag = `Canary${randomBytes(6).toString('hex')}`
    const listings = canaries(tag, 2)
    // The test's own publish is sealed: what shows is the relays' own traffic.
    expect((await sealedJson(relays[0].url, '/v1/listings', { listings })).status).toBe(200)
    await waitFor('r2 to hold the listings', () => holds(relays[1], tag, 2))
    const streams = await capture.stop()
    expect(seen(streams, tag)).toBe(true)
  })
})
