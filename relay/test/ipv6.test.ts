// IPv6 end to end on a relay process listening on `::` (both families on one socket): classic
// clients that reach it over ::1 get each other in BEP 7 `peers6` (18 bytes a peer) and
// IPv4 peers in BEP 23 `peers`, and two real aria2 clients that speak only IPv6 find each
// other through it and move a file, bytes equal. Skipped on a machine without ::1.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ARIA2_LOOPBACK } from './aria2-flags.ts'
import { hasAria2, spawnAria2, type Aria2 } from './aria2.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { freePortOn, seedFile, sha256 } from './torrent-file.ts'
import {
  announcePath,
  binaryId,
  compactPeers,
  compactPeers6,
  decodeDict,
  hex,
  scrapeFiles,
  scrapePath,
  type AnnounceParams,
} from './tracker-wire.ts'

const hasLoopback6 = Object.values(networkInterfaces()).some((addresses) =>
  addresses?.some((a) => a.family === 'IPv6' && a.address === '::1'),
)
if (!hasLoopback6) console.warn('IPv6 tests skipped: this machine has no ::1 (ip -6 addr show lo)')
if (!hasAria2) console.warn('IPv6 aria2 test skipped: aria2c is not installed (CI installs it)')

/** ::1 as compactPeers6 spells it (full, unabbreviated). */
const LOOPBACK6 = '0:0:0:0:0:0:0:1'

/** aria2's loopback flags moved to ::1: IPv6 on, every socket bound there. Its IPv4 listener
 * then fails to bind and says so; it carries on with the IPv6 one. */
const ARIA2_LOOPBACK6 = ARIA2_LOOPBACK.map((flag) =>
  flag === '--interface=127.0.0.1'
    ? '--interface=::1'
    : flag === '--disable-ipv6=true'
      ? '--disable-ipv6=false'
      : flag,
)

describe.skipIf(!hasLoopback6)('a relay listening on ::', () => {
  let relay: RelayProcess
  let url6: string
  let dir: string
  const aria2s: Aria2[] = []

  beforeAll(async () => {
    // The later --host wins over relay-process.ts's 127.0.0.1.
    relay = await startRelay({ args: ['--host', '::'] })
    url6 = `http://[::1]:${relay.port}`
    dir = mkdtempSync(join(tmpdir(), 'monsoon-ipv6-'))
  }, 90_000)

  afterAll(async () => {
    await Promise.all(aria2s.map((a) => a.stop()))
    await relay?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  async function get(base: string, path: string): Promise<Uint8Array> {
    const res = await fetch(base + path)
    expect(res.status).toBe(200)
    return new Uint8Array(await res.arrayBuffer())
  }

  const announce = (base: string, p: AnnounceParams) => get(base, announcePath(p)).then(decodeDict)

  it('says where it listens with the address in brackets', () => {
    const listening = relay.logs.find((l) => l.msg === 'listening')
    expect(listening).toMatchObject({ host: '::', url: `http://[::]:${relay.port}` })
  })

  it('gives a client on ::1 its IPv6 peers in peers6 and IPv4 ones in peers', async () => {
    const infoHash = binaryId(6)
    const peer = (n: number, left: number) => ({
      infoHash,
      peerId: binaryId(600 + n),
      port: 7600 + n,
      left,
      event: 'started',
      compact: 1 as const,
    })
    const seed6 = await announce(url6, peer(1, 0))
    expect(seed6).toMatchObject({ complete: 1, incomplete: 0 })
    expect(compactPeers(seed6.peers)).toEqual([])

    const leecher4 = await announce(relay.url, peer(2, 4096))
    expect(compactPeers6(leecher4.peers6)).toEqual([{ ip: LOOPBACK6, port: 7601 }])

    const leecher6 = await announce(url6, peer(3, 4096))
    expect(leecher6).toMatchObject({ complete: 1, incomplete: 2 })
    expect(compactPeers6(leecher6.peers6)).toEqual([{ ip: LOOPBACK6, port: 7601 }])
    expect(compactPeers(leecher6.peers)).toEqual([{ ip: '127.0.0.1', port: 7602 }])

    const counts = scrapeFiles(await get(url6, scrapePath([infoHash])))
    expect(counts.get(hex(infoHash))).toEqual({ complete: 1, incomplete: 2, downloaded: 0 })
  })

  it.skipIf(!hasAria2)(
    'lets two aria2 clients on ::1 find each other and move a file, bytes equal',
    { timeout: 60_000 },
    async () => {
      const file = await seedFile(join(dir, 'seed'), 'over-ipv6.bin', 4 * 1024 * 1024, [
        `${url6}/announce`,
      ])
      const seederPort = await freePortOn('::1')
      const seeder = spawnAria2(
        [
          `--dir=${file.dir}`,
          `--listen-port=${seederPort}`,
          '--check-integrity=true',
          '--seed-ratio=0.0',
          file.torrentPath,
        ],
        ARIA2_LOOPBACK6,
      )
      aria2s.push(seeder)
      // The relay has the seeder as an IPv6 peer before the leecher starts.
      const probe = { infoHash: Buffer.from(file.infoHash, 'hex'), peerId: binaryId(699) }
      await expect
        .poll(async () => compactPeers6((await announce(url6, { ...probe, port: 7699 })).peers6), {
          timeout: 20_000,
          interval: 250,
        })
        .toContainEqual({ ip: LOOPBACK6, port: seederPort })
      await announce(url6, { ...probe, port: 7699, event: 'stopped' })

      const out = join(dir, 'download')
      const leecher = spawnAria2(
        [
          `--dir=${out}`,
          `--listen-port=${await freePortOn('::1')}`,
          '--seed-time=0',
          file.torrentPath,
        ],
        ARIA2_LOOPBACK6,
      )
      aria2s.push(leecher)
      expect(await leecher.exit, leecher.output()).toBe(0)
      expect(sha256(readFileSync(join(out, file.name)))).toBe(sha256(file.data))
    },
  )
})
