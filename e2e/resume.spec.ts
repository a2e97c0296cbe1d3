// Resume: a download reloaded half way goes on from the pieces it already verified and
// stored in OPFS, and fetches only the rest. Counted in bytes off the wire (WebTorrent's
// `received`, shown in the torrent view), not in time.

import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { pieceLengthFor } from '../app/lib/file-chunk-store.ts'
import { expect, shot, test } from './fixtures.ts'
import { saveAndCompare, shareFile, storedPieces, throttledSeeder } from './fixtures/storage.ts'

const SIZE = 4 * 1024 * 1024
/** The seeder's upload limit (its Settings), so the download takes long enough to stop it. */
const UPLOAD_LIMIT = 384 * 1024

test('a download reloaded half way resumes without fetching its verified pieces again', async ({
  browser,
  relay,
}, testInfo) => {
  const name = 'resume sample.bin'
  const data = randomBytes(SIZE)
  const pieceLength = pieceLengthFor(SIZE)
  const source = testInfo.outputPath(name)
  await writeFile(source, data)

  const seeder = await browser.newContext({ baseURL: relay.url })
  const leecher = await browser.newContext({ baseURL: relay.url })
  try {
    const a = await seeder.newPage()
    await throttledSeeder(a, UPLOAD_LIMIT)
    await a.goto('/')
    const { shareUrl, infoHash } = await shareFile(a, source)

    const b = await leecher.newPage()
    await b.goto(shareUrl)
    await expect(b.getByRole('heading', { level: 1 })).toHaveText(name)
    // Stopped when at least a quarter is stored, well before the end.
    await expect
      .poll(() => storedPieces(b, infoHash), { timeout: 120_000 })
      .toBeGreaterThanOrEqual(SIZE / pieceLength / 4)
    const before = await storedPieces(b, infoHash)
    expect(before).toBeLessThan(SIZE / pieceLength)
    await shot(b, testInfo, 'before-reload')

    await b.reload()
    await expect(b.getByRole('heading', { level: 1 })).toHaveText(name)
    const resumed = b.getByTestId('resumed')
    await expect(resumed).toBeVisible()
    const resumedFrom = Number(await resumed.getAttribute('data-bytes'))
    expect(resumedFrom).toBeGreaterThanOrEqual(before * pieceLength)
    await shot(b, testInfo, 'after-reload')

    await saveAndCompare(b, name, data)
    await expect(b.getByTestId('phase')).toHaveText('Seeding')
    const received = Number(await b.getByTestId('received').getAttribute('data-bytes'))
    const remaining = SIZE - resumedFrom
    // Every missing piece came over the wire once, and no verified one did again: at most a
    // few pieces' worth more (blocks of pieces in flight when the page reloaded).
    expect(received).toBeGreaterThanOrEqual(remaining)
    expect(received).toBeLessThanOrEqual(remaining + 8 * pieceLength)
    testInfo.annotations.push({
      type: 'bytes',
      description: `stored before reload ${before * pieceLength}, resumed from ${resumedFrom}, received after ${received} of ${SIZE}`,
    })
    await shot(b, testInfo, 'resumed-complete')
  } finally {
    await seeder.close()
    await leecher.close()
  }
})
