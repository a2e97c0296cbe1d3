// Interoperability with a real classic BitTorrent client from Debian's packages: aria2 seeds a
// 4 MiB random file whose only tracker is the relay's /announce, and another aria2, or the
// stock WebTorrent Node client over TCP, downloads it through the relay. Everything runs on
// 127.0.0.1 with DHT, LPD, PEX and UPnP off, so the relay is the only way peers can meet.

import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import bencode from 'bencode'
import createTorrent from 'create-torrent'
import WebTorrent from 'webtorrent'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { hasAria2, spawnAria2 as aria2, type Aria2 } from './aria2.ts'
import { QUIET_WEBTORRENT } from './loopback-rtc.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { scrapeFiles, scrapePath } from './tracker-wire.ts'
import { freePort } from './ports.ts'
import { sha256 } from './torrent-file.ts'

if (!hasAria2) {
  console.warn('classic-client tests skipped: aria2c is not installed (apt-get install aria2)')
}
const SKIP_NOTE = hasAria2 ? '' : ' [skipped: aria2c not installed; CI installs it]'

const FILE_NAME = 'random-4MiB.bin'
const FILE_SIZE = 4 * 1024 * 1024

function makeTorrent(path: string, announce: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    createTorrent(
      path,
      { announceList: [[announce]], urlList: [], createdBy: 'monsoon-test' },
      (err, t) => (err ? reject(err) : resolve(t)),
    ),
  )
}

describe('a classic client (aria2) through the relay', () => {
  let relay: RelayProcess
  let dir: string
  let torrentPath: string
  let infoHash: Uint8Array
  let original: Uint8Array
  let seeder: Aria2 | undefined
  const running: Aria2[] = []

  beforeAll(async () => {
    if (!hasAria2) return
    relay = await startRelay()
    dir = mkdtempSync(join(tmpdir(), 'monsoon-aria2-'))
    mkdirSync(join(dir, 'seed'))
    original = randomBytes(FILE_SIZE)
    writeFileSync(join(dir, 'seed', FILE_NAME), original)
    const torrent = await makeTorrent(join(dir, 'seed', FILE_NAME), `${relay.url}/announce`)
    torrentPath = join(dir, 'file.torrent')
    writeFileSync(torrentPath, torrent)
    // BEP 3: the info hash is the SHA-1 of the bencoded info dictionary.
    const { info } = bencode.decode(torrent) as { info: unknown }
    infoHash = createHash('sha1').update(bencode.encode(info)).digest()

    seeder = aria2([
      `--dir=${join(dir, 'seed')}`,
      `--listen-port=${await freePort()}`,
      '--check-integrity=true',
      '--seed-ratio=0.0',
      torrentPath,
    ])
    running.push(seeder)
    // The relay knows the seeder once its scrape counts one complete peer.
    await vi.waitFor(
      async () => {
        expect(seeder!.child.exitCode, `aria2 seeder exited:\n${seeder!.output()}`).toBeNull()
        const res = await fetch(relay.url + scrapePath([infoHash]))
        const counts = scrapeFiles(new Uint8Array(await res.arrayBuffer()))
        expect(counts.get(Buffer.from(infoHash).toString('hex'))?.complete).toBe(1)
      },
      { timeout: 60_000, interval: 200 },
    )
  }, 120_000)

  afterAll(async () => {
    for (const p of running) {
      if (p.child.exitCode === null) {
        p.child.kill('SIGTERM')
        await p.exit
      }
    }
    await relay?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /** An aria2 leecher fetches the torrent into `out` through the relay; bytes must match. */
  async function aria2Downloads(out: string): Promise<void> {
    const leecher = aria2([
      `--dir=${out}`,
      `--listen-port=${await freePort()}`,
      '--seed-time=0',
      torrentPath,
    ])
    running.push(leecher)
    const code = await leecher.exit
    expect(code, leecher.output()).toBe(0)
    expect(sha256(readFileSync(join(out, FILE_NAME)))).toBe(sha256(original))
  }

  it.skipIf(!hasAria2)(
    `aria2 downloads from an aria2 seeder, bytes equal${SKIP_NOTE}`,
    { timeout: 120_000 },
    async () => {
      await aria2Downloads(join(dir, 'aria2-download'))
    },
  )

  it.skipIf(!hasAria2)(
    `stock WebTorrent (Node, TCP) downloads from an aria2 seeder, bytes equal${SKIP_NOTE}`,
    { timeout: 120_000 },
    async () => {
      const client = new WebTorrent(QUIET_WEBTORRENT)
      try {
        const torrent = client.add(readFileSync(torrentPath), { path: join(dir, 'wt-download') })
        const wires: string[] = []
        torrent.on('wire', (_wire: unknown, addr: string) => wires.push(addr))
        await once(torrent, 'done')
        expect(sha256(new Uint8Array(await torrent.files[0].arrayBuffer()))).toBe(sha256(original))
        expect(wires.length).toBeGreaterThan(0)
        for (const addr of wires) expect(addr).toMatch(/^127\.0\.0\.1:\d+$/)
      } finally {
        await new Promise((r) => client.destroy(r))
      }
    },
  )

  it.skipIf(!hasAria2)(
    `aria2 downloads from a stock WebTorrent (Node, TCP) seeder, bytes equal${SKIP_NOTE}`,
    { timeout: 120_000 },
    async () => {
      // Stop the aria2 seeder first, so WebTorrent is the only peer with the data.
      seeder!.child.kill('SIGTERM')
      await seeder!.exit
      const client = new WebTorrent(QUIET_WEBTORRENT)
      try {
        const torrent = client.add(readFileSync(torrentPath), { path: join(dir, 'seed') })
        await once(torrent, 'done')
        await aria2Downloads(join(dir, 'aria2-from-webtorrent'))
      } finally {
        await new Promise((r) => client.destroy(r))
      }
    },
  )
})
