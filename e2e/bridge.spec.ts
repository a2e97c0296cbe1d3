// The bridge to classic BitTorrent, both ways, with a real classic client (aria2 from
// Debian's packages) whose only tracker is the relay's HTTP /announce and which accepts only
// encrypted connections (MSE/PE, RC4), and the app in Chromium. Everything on 127.0.0.1:
// aria2 without DHT, LPD or PEX; the relay's bridge without DHT or LSD, its WebRTC bound to
// 127.0.0.1 (it listens there).
//  - classic → browser: aria2 seeds; the browser opens the hash, asks for the bridge (a
//    button, or by itself after finding no peer), and saves a byte-identical copy.
//  - browser → classic: the browser seeds; aria2 announces for a hash only browsers seed,
//    which makes the relay bridge it by itself, and downloads a byte-identical copy.

import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import bencode from 'bencode'
import createTorrent from 'create-torrent'
import type { Page } from '@playwright/test'
import { expect, shot, test } from './fixtures.ts'
import { swarmSizeAt } from './mesh.ts'
import { freePort, startRelay, type RunningRelay } from './relay.ts'
import { hasAria2, spawnAria2, type Aria2 } from '../relay/test/aria2.ts'
import { ARIA2_LOOPBACK } from '../relay/test/aria2-flags.ts'
import { sha256 } from '../relay/test/torrent-file.ts'

/** aria2 on loopback with the relay's tracker as its only source of peers, encrypted only. */
const ARIA2_COMMON = [
  ...ARIA2_LOOPBACK,
  // BitTorrent protocol encryption (MSE/PE) with RC4 or nothing: aria2 refuses plain
  // handshakes, so every transfer here proves the bridge speaks MSE/PE both ways.
  '--bt-require-crypto=true',
  '--bt-min-crypto-level=arc4',
]

/** aria2 with the common flags above, then `args`. */
const aria2 = (args: string[]): Aria2 => spawnAria2(args, ARIA2_COMMON)

test.describe('the bridge to classic BitTorrent', () => {
  test.skip(!hasAria2, 'aria2c is not installed (apt-get install aria2)')

  let relay: RunningRelay
  let dir: string
  const running: Aria2[] = []

  test.beforeAll(async () => {
    relay = await startRelay({ args: ['--bridge'] })
    dir = await mkdtemp(join(tmpdir(), 'monsoon-bridge-e2e-'))
  })

  test.afterAll(async () => {
    for (const p of running) await p.stop()
    await relay?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  /** aria2 seeds `data` as `name`, its torrent naming only the relay's /announce. */
  async function aria2Seeds(name: string, data: Uint8Array): Promise<string> {
    const seedDir = await mkdtemp(join(dir, 'seed-'))
    await writeFile(join(seedDir, name), data)
    const torrent = await new Promise<Uint8Array>((resolve, reject) =>
      createTorrent(
        join(seedDir, name),
        { announceList: [[`${relay.url}/announce`]], urlList: [], createdBy: 'monsoon-e2e' },
        (err, t) => (err ? reject(err) : resolve(t)),
      ),
    )
    const torrentPath = join(seedDir, 'classic.torrent')
    await writeFile(torrentPath, torrent)
    running.push(
      aria2([
        `--dir=${seedDir}`,
        `--listen-port=${await freePort()}`,
        '--check-integrity=true',
        '--seed-ratio=0.0',
        torrentPath,
      ]),
    )
    // BEP 3: the info hash is the SHA-1 of the bencoded info dictionary.
    const { info } = bencode.decode(torrent) as { info: unknown }
    return createHash('sha1').update(bencode.encode(info)).digest('hex')
  }

  /** Waits for the torrent page's Save button, saves the file, and checks its bytes. */
  async function savesIdentical(page: Page, name: string, data: Uint8Array): Promise<void> {
    const save = page.getByRole('button', { name: `Save ${name}` })
    await expect(save).toBeEnabled({ timeout: 180_000 })
    const [download] = await Promise.all([page.waitForEvent('download'), save.click()])
    const saved = await readFile(await download.path())
    expect(saved.length).toBe(data.length)
    expect(sha256(saved)).toBe(sha256(data))
  }

  test('a file only aria2 seeds is saved byte-identical in the browser', async ({
    browser,
  }, testInfo) => {
    const name = 'classic-only.bin'
    const data = randomBytes(8 * 1024 * 1024)
    const infoHash = await aria2Seeds(name, data)

    const context = await browser.newContext({ baseURL: relay.url })
    try {
      const page = await context.newPage()
      await page.goto(`/#/t/${infoHash}?dn=${name}`)
      await expect(page.getByTestId('peers')).toHaveText('0')
      await page.getByRole('button', { name: 'Bridge from classic peers' }).click()
      await expect(page.getByTestId('bridge-status')).toContainText('classic BitTorrent peers')
      await savesIdentical(page, name, data)
      await shot(page, testInfo, 'bridged-download')

      // The network view lists the bridged torrent.
      await page.goto('/#/network')
      const row = page.locator(`[data-testid="bridged"][data-infohash="${infoHash}"]`)
      await expect(row).toContainText(name)
      await shot(page, testInfo, 'network-bridge')
    } finally {
      await context.close()
    }
  })

  test('a download that finds no peer asks the bridge by itself', async ({ browser }) => {
    const name = 'asked-by-itself.bin'
    const data = randomBytes(2 * 1024 * 1024)
    const infoHash = await aria2Seeds(name, data)

    const context = await browser.newContext({ baseURL: relay.url })
    try {
      const page = await context.newPage()
      await page.goto(`/#/t/${infoHash}?dn=${name}`)
      // No button pressed: after NO_PEERS_MS (20 s) without a peer the tab asks.
      await expect(page.getByTestId('bridge-status')).toContainText(
        'No peer was found, so this tab asked.',
        { timeout: 60_000 },
      )
      await savesIdentical(page, name, data)
    } finally {
      await context.close()
    }
  })

  test('a file only a browser seeds is downloaded byte-identical by aria2', async ({
    browser,
  }, testInfo) => {
    // About 8 s when it passes. In two fresh-clone CI runs (2026-12-07) the tab seeded with
    // no peer and aria2 waited out the timeout, on both tries in the second; it never failed
    // run alone, nor after the unit tests. One cause it could have had is fixed in the relay
    // (a classic announce before any seeder now waits for one: relay/bridge/bridge.ts), but
    // the second run had that fix. So this test now waits for the tab's seeder to be tracked
    // first, and prints aria2's output and the relay's log if aria2 fails. Bounded here, and
    // retried once under CI (playwright.config.ts).
    test.setTimeout(90_000)
    const name = 'browser-only.bin'
    const data = randomBytes(8 * 1024 * 1024)
    const source = testInfo.outputPath(name)
    await writeFile(source, data)

    const context = await browser.newContext({ baseURL: relay.url })
    try {
      const page = await context.newPage()
      await page.goto('/#/add')
      await page.getByLabel('Choose files').setInputFiles(source)
      await page.getByRole('button', { name: 'Share', exact: true }).click()
      const shareField = page.getByTestId('share-url')
      await expect(shareField).toHaveValue(/#\/t\/[0-9a-f]{40}\?/, { timeout: 120_000 })
      const infoHash = /#\/t\/([0-9a-f]{40})/.exec(await shareField.inputValue())![1]
      // The tab's seeder tracked first, as the qBittorrent test does: the other order (a
      // classic announce before any seeder) is relay/test/bridge.test.ts's.
      await expect.poll(() => swarmSizeAt(relay, infoHash), { timeout: 30_000 }).toBeGreaterThan(0)

      // aria2 knows only the hash and the relay's HTTP tracker. Its announce finds a browser
      // seeder and no classic one, so the relay bridges the hash without being asked.
      const out = join(dir, 'aria2-out')
      const leecher = aria2([
        `--dir=${out}`,
        `--listen-port=${await freePort()}`,
        '--seed-time=0',
        '--bt-save-metadata=false',
        `magnet:?xt=urn:btih:${infoHash}&tr=${encodeURIComponent(`${relay.url}/announce`)}`,
      ])
      running.push(leecher)
      try {
        const code = await leecher.exit
        expect(code, leecher.output()).toBe(0)
      } catch (err) {
        // Seen twice in one fresh-clone run and never alone: say what the relay saw.
        console.log(`aria2:\n${leecher.output()}\nrelay:\n${relay.recentLog()}`)
        throw err
      }
      expect(sha256(await readFile(join(out, name)))).toBe(sha256(data))

      const listed = (await (await fetch(`${relay.url}/v1/bridge`)).json()) as {
        torrents: { infoHash: string; reason: string }[]
      }
      expect(listed.torrents).toContainEqual(
        expect.objectContaining({ infoHash, reason: 'classic-announce' }),
      )
    } finally {
      await context.close()
    }
  })
})
