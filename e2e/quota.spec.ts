// Quota: with storage made small for real (CDP Storage.overrideQuotaForOrigin, so the OPFS
// writes themselves fail), a download that does not fit stops at once with a clear message,
// and a torrent already stored keeps every piece and goes on seeding.

import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { pieceLengthFor } from '../app/lib/file-chunk-store.ts'
import { expect, shot, test } from './fixtures.ts'
import { saveAndCompare, shareFile, storedPieces } from './fixtures/storage.ts'

const MiB = 1024 * 1024
/** Room left for torrents: the small one fits, the big one does not. */
const ROOM = 5 * MiB

test('a download that does not fit says storage is full and loses nothing stored', async ({
  browser,
  relay,
}, testInfo) => {
  const small = { name: 'fits.bin', data: randomBytes(2 * MiB) }
  const big = { name: 'too big.bin', data: randomBytes(8 * MiB) }
  const seeder = await browser.newContext({ baseURL: relay.url })
  const leecher = await browser.newContext({ baseURL: relay.url })
  try {
    const links = []
    for (const f of [small, big]) {
      const path = testInfo.outputPath(f.name)
      await writeFile(path, f.data)
      const a = await seeder.newPage()
      await a.goto('/')
      links.push(await shareFile(a, path))
    }
    const [smallLink, bigLink] = links as [(typeof links)[0], (typeof links)[0]]

    const b = await leecher.newPage()
    await b.goto('/')
    // Measured once the service worker has cached the app, so the room left is for torrents.
    const usage = await b.evaluate(async () => {
      await navigator.serviceWorker.ready
      return (await navigator.storage.estimate()).usage ?? 0
    })
    const cdp = await leecher.newCDPSession(b)
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: relay.url, quotaSize: usage + ROOM })

    await b.goto(smallLink.shareUrl)
    await saveAndCompare(b, small.name, small.data)
    const smallPieces = small.data.length / pieceLengthFor(small.data.length)
    await expect.poll(() => storedPieces(b, smallLink.infoHash)).toBe(smallPieces)

    await b.evaluate((hash) => (location.hash = hash), new URL(bigLink.shareUrl).hash)
    const full = b.getByTestId('storage-full')
    await expect(full).toBeVisible({ timeout: 120_000 })
    await expect(full).toContainText(`Storage is full: Monsoon could not save “${big.name}”`)
    await expect(full).toContainText('Free some space or delete a torrent')
    await shot(b, testInfo, 'storage-full')

    // The torrent stored before keeps every piece, and still seeds.
    expect(await storedPieces(b, smallLink.infoHash)).toBe(smallPieces)
    await b.evaluate((hash) => (location.hash = hash), new URL(smallLink.shareUrl).hash)
    await expect(b.getByTestId('phase')).toHaveText('Seeding')
    await expect(b.getByTestId('progress')).toHaveText('100 %')
  } finally {
    await seeder.close()
    await leecher.close()
  }
})
