// The HTTP tracker of a real relay process, over real sockets: BEP 3 announce, BEP 23 compact
// peers, BEP 48 scrape, and the address rules (socket address; X-Forwarded-For only with
// --trust-proxy).

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRelay, type RelayProcess } from './relay-process.ts'
import {
  announcePath,
  binaryId,
  compactPeers,
  decodeDict,
  failureReason,
  hex,
  scrapeFiles,
  scrapePath,
  type AnnounceParams,
} from './tracker-wire.ts'

async function get(relay: RelayProcess, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(relay.url + path, { headers })
  expect(res.status).toBe(200)
  return new Uint8Array(await res.arrayBuffer())
}

async function health(relay: RelayProcess) {
  const res = await fetch(`${relay.url}/health`)
  expect(res.status).toBe(200)
  return (await res.json()) as { ok: boolean; torrents: number; peers: number }
}

describe('HTTP tracker of a relay process', () => {
  let relay: RelayProcess
  beforeAll(async () => {
    relay = await startRelay()
  })
  afterAll(() => relay?.stop())

  const announce = (p: Partial<AnnounceParams> & { n: number }, headers?: Record<string, string>) =>
    get(
      relay,
      announcePath({ infoHash: binaryId(1), peerId: binaryId(100 + p.n), port: 7000 + p.n, ...p }),
      headers,
    ).then(decodeDict)

  it('introduces a leecher to a seeder and keeps scrape counts through a download', async () => {
    const hash = binaryId(1)
    const seeder = await announce({ n: 1, left: 0, event: 'started' })
    expect(seeder).toMatchObject({ complete: 1, incomplete: 0, interval: 600, 'min interval': 300 })

    const leecher = await announce({ n: 2, left: 4096, event: 'started' })
    expect(leecher).toMatchObject({ complete: 1, incomplete: 1 })
    expect(compactPeers(leecher.peers)).toEqual([{ ip: '127.0.0.1', port: 7001 }])

    expect(scrapeFiles(await get(relay, scrapePath([hash]))).get(hex(hash))).toEqual({
      complete: 1,
      incomplete: 1,
      downloaded: 0,
    })
    expect(await health(relay)).toMatchObject({ ok: true, torrents: 1, peers: 2 })

    await announce({ n: 2, left: 0, event: 'completed' })
    await announce({ n: 1, event: 'stopped' })
    const files = scrapeFiles(await get(relay, scrapePath([hash, binaryId(2)])))
    expect(files.get(hex(hash))).toEqual({ complete: 1, incomplete: 0, downloaded: 1 })
    expect(files.get(hex(binaryId(2)))).toEqual({ complete: 0, incomplete: 0, downloaded: 0 })
    expect(await health(relay)).toMatchObject({ peers: 1 })
  })

  it('records the socket address, not a forged ip= or X-Forwarded-For', async () => {
    const infoHash = binaryId(3)
    await announce({ n: 1, infoHash, extra: 'ip=127.0.0.99' }, { 'X-Forwarded-For': '127.0.0.66' })
    const body = await announce({ n: 2, infoHash })
    expect(compactPeers(body.peers)).toEqual([{ ip: '127.0.0.1', port: 7001 }])
  })

  it('answers bad announces with a bencoded failure reason and stores nothing', async () => {
    const before = await health(relay)
    const bad = announcePath({ infoHash: binaryId(4).subarray(0, 19), peerId: binaryId(5) })
    expect(failureReason(await get(relay, bad))).toBe('invalid info_hash: must be 20 bytes')
    const zeroPort = announcePath({ infoHash: binaryId(4), peerId: binaryId(5), port: 0 })
    expect(failureReason(await get(relay, zeroPort))).toBe('invalid port: must be 1-65535')
    expect(await health(relay)).toMatchObject({ torrents: before.torrents, peers: before.peers })
  })
})

describe('a relay started with --trust-proxy', () => {
  let relay: RelayProcess
  beforeAll(async () => {
    relay = await startRelay({ args: ['--trust-proxy'] })
  })
  afterAll(() => relay?.stop())

  it('takes the peer address from the last X-Forwarded-For entry', async () => {
    const params = { infoHash: binaryId(1), peerId: binaryId(1), port: 7001 }
    const headers = { 'X-Forwarded-For': '127.0.0.66, 127.0.0.77' }
    await get(relay, announcePath(params), headers)
    const body = decodeDict(
      await get(relay, announcePath({ ...params, peerId: binaryId(2), port: 7002 })),
    )
    expect(compactPeers(body.peers)).toEqual([{ ip: '127.0.0.77', port: 7001 }])
  })
})
