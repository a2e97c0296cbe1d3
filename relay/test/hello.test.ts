// A relay's identity and signed supernode record, from real relay processes on 127.0.0.1:
// GET /v1/hello verifies with the shared verifier, carries the configured role and capacity
// and the tracker's live load, and the node id survives a restart with the same data dir.

import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { verifySupernodeRecord, type SupernodeRecord } from '../../shared/supernode.ts'
import { getJson, logsWith, removeTempDirs, tempDir, waitFor } from './catalog-helpers.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { announcePath, binaryId } from './tracker-wire.ts'

const running: RelayProcess[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
})
afterAll(removeTempDirs)

async function relay(...args: string[]): Promise<RelayProcess> {
  const r = await startRelay({ args })
  running.push(r)
  return r
}

/** GET /v1/hello, checked by the same code every node runs on records it receives. */
async function hello(r: RelayProcess): Promise<SupernodeRecord> {
  const res = await fetch(`${r.url}/v1/hello`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  return verifySupernodeRecord(await res.json(), Math.floor(Date.now() / 1000))
}

async function healthId(r: RelayProcess): Promise<string> {
  const { status, body } = await getJson(`${r.url}/health`)
  expect(status).toBe(200)
  return body.id as string
}

describe('GET /v1/hello', () => {
  it('serves a signed record with the id /health gives and the default role and capacity', async () => {
    const r = await relay()
    const record = await hello(r)
    expect(record.id).toMatch(/^[0-9a-f]{64}$/)
    expect(await healthId(r)).toBe(record.id)
    expect(record).toMatchObject({
      v: 1,
      urls: [`http://localhost:${r.port}`],
      role: 'supernode',
      capacity: { maxHashes: 100_000, maxPeers: 1_000_000, bandwidth: 262_144 },
      load: { hashes: 0, peers: 0 },
    })
    expect(logsWith(r.logs, 'node key created')[0].id).toBe(record.id)
  })

  it('carries --role, the capacity flags, and the tracker load as it changes', async () => {
    const r = await relay(
      '--role',
      'candidate',
      '--max-torrents',
      '500',
      '--max-peers',
      '9000',
      '--max-bandwidth',
      '12345',
      '--public-url',
      'https://Relay.Example:443/',
    )
    const first = await hello(r)
    expect(first).toMatchObject({
      role: 'candidate',
      urls: ['https://relay.example'],
      capacity: { maxHashes: 500, maxPeers: 9000, bandwidth: 12_345 },
      load: { hashes: 0, peers: 0 },
    })
    for (let n = 1; n <= 3; n++) {
      const path = announcePath({ infoHash: binaryId(n), peerId: binaryId(100 + n), port: 7000 })
      const res = await fetch(`${r.url}${path}`)
      expect(res.status).toBe(200)
    }
    // The record is signed again every few seconds; wait for one with the new load.
    const loaded = await waitFor('a record with the new load', async () => {
      const record = await hello(r)
      return record.load.hashes === 3 && record.load.bandwidth > 0 && record
    })
    expect(loaded.load.peers).toBe(3)
    expect(loaded.id).toBe(first.id)
    expect(loaded.seq).toBeGreaterThan(first.seq)
  })
})

describe('relay node identity', () => {
  it('keeps its id across a restart with the same data directory, in a 0600 file', async () => {
    const dir = tempDir()
    const a = await relay('--data-dir', dir)
    const id = (await hello(a)).id
    await a.stop()
    const keyFile = join(dir, 'node.key')
    if (process.platform !== 'win32') expect(statSync(keyFile).mode & 0o777).toBe(0o600)

    const b = await relay('--data-dir', dir)
    expect((await hello(b)).id).toBe(id)
    expect(await healthId(b)).toBe(id)
    expect(logsWith(b.logs, 'node key loaded')[0].id).toBe(id)

    const other = await relay()
    expect((await hello(other)).id).not.toBe(id)
  })

  it('refuses to start on a corrupt key file, saying why, and leaves the file alone', async () => {
    const dir = tempDir()
    const keyFile = join(dir, 'node.key')
    writeFileSync(keyFile, '{"type":"monsoon-node-key","v":1,"secretKey":"00')
    await expect(startRelay({ args: ['--data-dir', dir] })).rejects.toThrow(
      /node\.key is not a usable node key/,
    )
    expect(readFileSync(keyFile, 'utf8')).toBe('{"type":"monsoon-node-key","v":1,"secretKey":"00')
  })
})
