// Streaming: a WebM video still downloading plays in the torrent view. The player reads it
// through the service worker (app/sw.ts) from WebTorrent's streaming server in the page; the
// seeder's upload is capped so that the download is still running while it plays.

import { copyFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { expect, shot, test } from './fixtures.ts'
import { shareFile, throttledSeeder } from './fixtures/storage.ts'

/** 20 s of VP8, 839,070 bytes (e2e/fixtures/make-clip.mjs). */
const CLIP = fileURLToPath(new URL('./fixtures/clip.webm', import.meta.url))
/** About 20 s to download the clip: it plays long before the end. */
const UPLOAD_LIMIT = 40 * 1024

test('a video plays in the torrent view before its download completes', async ({
  browser,
  relay,
}, testInfo) => {
  const name = 'monsoon clip.webm'
  const source = testInfo.outputPath(name)
  await copyFile(CLIP, source)
  const seeder = await browser.newContext({ baseURL: relay.url })
  const leecher = await browser.newContext({ baseURL: relay.url })
  try {
    const a = await seeder.newPage()
    await throttledSeeder(a, UPLOAD_LIMIT)
    await a.goto('/')
    const { shareUrl } = await shareFile(a, source)

    const b = await leecher.newPage()
    await b.goto('/')
    await b.evaluate(async () => void (await navigator.serviceWorker.ready))
    await b.goto(shareUrl)
    const player = b.getByTestId('player')
    await expect(player).toBeVisible({ timeout: 60_000 })
    await player.evaluate((v: HTMLVideoElement) => {
      v.muted = true
      void v.play()
    })
    await expect
      .poll(() => player.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 60_000 })
      .toBeGreaterThan(1)
    // Still downloading while it plays.
    await expect(b.getByTestId('phase')).toHaveText('Downloading')
    const progress = await b.getByTestId('progress').textContent()
    expect(progress).not.toBe('100 %')
    await shot(b, testInfo, 'playing-while-downloading')
    testInfo.annotations.push({ type: 'progress while playing', description: progress ?? '' })
  } finally {
    await seeder.close()
    await leecher.close()
  }
})
