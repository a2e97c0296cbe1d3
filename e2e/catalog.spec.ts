// The index page across the network: two relays peered with each other; browser A, served
// by relay 1, shares a file and lists it; browser B, served by relay 2, finds it by a word
// of its name, opens the listing, downloads it, and saves the same bytes.

import { createHash, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { expect, shot, test } from './fixtures.ts'
import { startPeeredRelays } from './relay.ts'

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')

test('a listing published through relay 1 is found, opened and downloaded from relay 2', async ({
  browser,
}, testInfo) => {
  const [relay1, relay2] = await startPeeredRelays()
  const data = randomBytes(8 * 1024 * 1024)
  const source = testInfo.outputPath('quetzal-field-recordings.bin')
  await writeFile(source, data)
  const name = 'Quetzalcoatl field recordings, vol. 1'
  const description = 'Rain on a tin roof, then frogs.\nRecorded at dusk in July.'

  const seeder = await browser.newContext({ baseURL: relay1.url })
  const leecher = await browser.newContext({ baseURL: relay2.url })
  try {
    // A, on relay 1, learns of relay 2 from relay 1 (its --peer), and shares with a listing.
    const a = await seeder.newPage()
    await a.goto('/')
    await a.getByTestId('sync-status').locator('summary').click()
    await expect(a.getByTestId('relay-sync')).toHaveCount(2)
    await a.getByRole('link', { name: 'Share files' }).first().click()
    await a.getByLabel('Choose files').setInputFiles(source)
    await expect(a.getByLabel('Name')).toHaveValue('quetzal-field-recordings')
    await a.getByLabel('Name').fill(name)
    await a.getByLabel('Category').selectOption('music')
    await a.getByLabel('Description').fill(description)
    await expect(a.getByLabel('List it in the index')).toBeChecked()
    await a.getByRole('button', { name: 'Share', exact: true }).click()
    const status = a.getByTestId('listing-status')
    await expect(status).toHaveAttribute('data-state', 'listed', { timeout: 120_000 })
    await expect(status).toContainText('Listed in the index')
    // The links carry both relays' trackers, so a browser on either finds the seeder.
    const magnet = await a.getByTestId('magnet-link').inputValue()
    expect(magnet).toContain(`tr=${encodeURIComponent(`ws://127.0.0.1:${relay1.port}/`)}`)
    expect(magnet).toContain(`tr=${encodeURIComponent(`ws://127.0.0.1:${relay2.port}/`)}`)
    await shot(a, testInfo, 'share-listed')

    // B, on relay 2, searches a prefix of a word of the name, in another case.
    const b = await leecher.newPage()
    await b.goto('/')
    await b.getByLabel('Search the index').fill('QUETZAL')
    const row = b.getByTestId('listing-row').filter({ hasText: name })
    await expect(row).toBeVisible({ timeout: 60_000 })
    await expect(row).toContainText('Music')
    await expect(row).toContainText('8.00 MiB')
    await shot(b, testInfo, 'index-search')

    await row.getByRole('link', { name }).click()
    await expect(b.getByTestId('listing-name')).toHaveText(name)
    await expect(b.getByTestId('description')).toHaveText(description)
    await expect(b.getByTestId('listed-file')).toHaveText(['quetzal-field-recordings.bin'])
    // Live figures from relay 2's tracker: A announces there too.
    await expect(b.getByTestId('seeds')).toHaveText('1', { timeout: 60_000 })
    await expect(b.getByTestId('listing-magnet')).toHaveValue(
      new RegExp(`tr=${encodeURIComponent(`ws://127.0.0.1:${relay1.port}/`)}`),
    )
    await shot(b, testInfo, 'listing-details')

    await b.getByRole('button', { name: 'Download' }).click()
    await expect(b.getByRole('heading', { level: 1 })).toHaveText('quetzal-field-recordings.bin')
    const save = b.getByRole('button', { name: 'Save quetzal-field-recordings.bin' })
    await expect(save).toBeEnabled({ timeout: 180_000 })
    const [download] = await Promise.all([b.waitForEvent('download'), save.click()])
    const saved = await readFile(await download.path())
    expect(saved.length).toBe(data.length)
    expect(sha256(saved)).toBe(sha256(data))

    // Relay 1 goes down: B says so, and keeps its index and relay 2.
    await relay1.stop('SIGKILL')
    await b.getByRole('link', { name: 'Index', exact: true }).click()
    await b.getByTestId('sync-status').locator('summary').click()
    await b.getByRole('button', { name: 'Sync now' }).click()
    const entry = (url: string) =>
      b.getByTestId('relay-sync').and(b.locator(`[data-relay="${url}"]`))
    await expect(entry(relay1.url)).toHaveAttribute('data-state', 'error')
    await expect(entry(relay1.url)).toContainText(`cannot reach 127.0.0.1:${relay1.port}`)
    await expect(entry(relay2.url)).toHaveAttribute('data-state', 'idle')
    await expect(b.getByTestId('sync-status')).toHaveAttribute('data-state', 'partial')
    await expect(b.getByTestId('listing-row').filter({ hasText: name })).toBeVisible()
    await shot(b, testInfo, 'index-relay-down')
  } finally {
    await seeder.close()
    await leecher.close()
    await Promise.all([relay1.stop(), relay2.stop()])
  }
})
