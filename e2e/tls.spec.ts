// TLS end to end: a relay started with --tls-self-signed serves the app over HTTPS and its
// tracker over WSS on one port; a file shared in one browser context is saved byte-identical
// in another, both pages loaded over HTTPS (the test browser is told to accept the
// self-signed certificate, as a user would after the warning).

import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { expect, shot, test } from './fixtures.ts'
import { startRelay, type RunningRelay } from './relay.ts'
import { sha256 } from './sharing.ts'

let relay: RunningRelay
test.beforeAll(async () => {
  relay = await startRelay({ args: ['--tls-self-signed'] })
})
test.afterAll(async () => {
  await relay?.stop()
})

test('the app over HTTPS from a self-signed relay downloads a file between two browsers', async ({
  browser,
}, testInfo) => {
  const origin = `https://localhost:${relay.port}`
  const name = 'tls sample.bin'
  const data = randomBytes(4 * 1024 * 1024)
  const source = testInfo.outputPath(name)
  await writeFile(source, data)

  const options = { baseURL: origin, ignoreHTTPSErrors: true }
  const seeder = await browser.newContext(options)
  const leecher = await browser.newContext(options)
  try {
    const a = await seeder.newPage()
    await a.goto('/#/add')
    expect(await a.evaluate(() => location.protocol)).toBe('https:')
    await a.getByLabel('Choose files').setInputFiles(source)
    await a.getByRole('button', { name: 'Share', exact: true }).click()
    const shareField = a.getByTestId('share-url')
    await expect(shareField).toHaveValue(/#\/t\/[0-9a-f]{40}\?/, { timeout: 120_000 })
    const shareUrl = await shareField.inputValue()
    expect(shareUrl.startsWith(`${origin}/#/t/`)).toBe(true)
    // The tracker is the relay's own port over WSS.
    expect(new URL(shareUrl).hash).toContain(
      `tr=${encodeURIComponent(`wss://localhost:${relay.port}/`)}`,
    )

    const b = await leecher.newPage()
    await b.goto(shareUrl)
    await expect(b.getByRole('heading', { level: 1 })).toHaveText(name)
    const save = b.getByRole('button', { name: `Save ${name}` })
    await expect(save).toBeEnabled({ timeout: 180_000 })
    await shot(b, testInfo, 'tls-torrent-complete')
    const [download] = await Promise.all([b.waitForEvent('download'), save.click()])
    const saved = await readFile(await download.path())
    expect(sha256(saved)).toBe(sha256(data))
  } finally {
    await seeder.close()
    await leecher.close()
  }
})
