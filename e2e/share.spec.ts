// The first user journey: A shares a file from one browser, B opens A's share link in
// another and saves a byte-identical copy, over WebRTC through the relay's tracker.

import { createHash, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { expect, shot, test } from './fixtures.ts'

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')

test('a file shared in one browser is saved byte-identical in another', async ({
  browser,
  relay,
}, testInfo) => {
  const name = 'monsoon sample.bin'
  const data = randomBytes(8 * 1024 * 1024)
  const source = testInfo.outputPath(name)
  await writeFile(source, data)

  const seeder = await browser.newContext({ baseURL: relay.url })
  const leecher = await browser.newContext({ baseURL: relay.url })
  try {
    const a = await seeder.newPage()
    await a.goto('/#/add')
    await a.getByLabel('Choose files').setInputFiles(source)
    await a.getByRole('button', { name: 'Share', exact: true }).click()

    const shareField = a.getByTestId('share-url')
    await expect(shareField).toHaveValue(/#\/t\/[0-9a-f]{40}\?/, { timeout: 120_000 })
    const shareUrl = await shareField.inputValue()
    const tracker = `ws://127.0.0.1:${relay.port}/`
    expect(shareUrl.startsWith(`${relay.url}/#/t/`)).toBe(true)
    expect(new URL(shareUrl).hash).toContain(`tr=${encodeURIComponent(tracker)}`)
    expect(await a.getByTestId('magnet-link').inputValue()).toContain(
      `&tr=${encodeURIComponent(tracker)}`,
    )
    await shot(a, testInfo, 'share-seeding')

    const b = await leecher.newPage()
    await b.goto(shareUrl)
    await expect(b.getByRole('heading', { level: 1 })).toHaveText(name)
    const save = b.getByRole('button', { name: `Save ${name}` })
    await expect(save).toBeEnabled({ timeout: 180_000 })
    await expect(b.getByTestId('phase')).toHaveText('Seeding')
    await shot(b, testInfo, 'torrent-complete')

    const [download] = await Promise.all([b.waitForEvent('download'), save.click()])
    expect(download.suggestedFilename()).toBe(name)
    const saved = await readFile(await download.path())
    expect(saved.length).toBe(data.length)
    expect(sha256(saved)).toBe(sha256(data))
  } finally {
    await seeder.close()
    await leecher.close()
  }
})

test('files dropped anywhere on the share page are hashed and shared together', async ({
  page,
}, testInfo) => {
  await page.goto('/#/add')
  await expect(page.getByRole('heading', { name: 'Share files' })).toBeVisible()
  const dataTransfer = await page.evaluateHandle(() => {
    const dt = new DataTransfer()
    dt.items.add(new File(['first file\n'], 'notes.txt', { type: 'text/plain' }))
    dt.items.add(new File([new Uint8Array(300_000).fill(7)], 'blob.bin'))
    return dt
  })
  // Dropped on the page's heading, not on the drop box: the whole page takes drops.
  const target = page.getByRole('heading', { name: 'Share files' })
  await target.dispatchEvent('dragenter', { dataTransfer })
  await target.dispatchEvent('dragover', { dataTransfer })
  await target.dispatchEvent('drop', { dataTransfer })
  await expect(page.getByTestId('picked-files')).toContainText('2 files')
  await expect(page.getByLabel('Name')).toHaveValue('notes.txt and 1 more')
  await page.getByRole('button', { name: 'Share', exact: true }).click()

  const result = page.getByTestId('share-result')
  await expect(result.getByRole('heading')).toHaveText('notes.txt and 1 more')
  await expect(page.getByTestId('share-url')).toHaveValue(/#\/t\/[0-9a-f]{40}\?dn=notes\.txt/, {
    timeout: 60_000,
  })
  await page.getByRole('link', { name: 'Open torrent page' }).click()
  await expect(page.getByTestId('file-name')).toHaveText(['notes.txt', 'blob.bin'])
  await shot(page, testInfo, 'torrent-two-files')

  // Saved back out of the torrent, each file holds its own bytes (the pieces straddle them).
  for (const [name, expected] of [
    ['notes.txt', Buffer.from('first file\n')],
    ['blob.bin', Buffer.alloc(300_000, 7)],
  ] as const) {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: `Save ${name}` }).click(),
    ])
    expect(download.suggestedFilename()).toBe(name)
    expect(sha256(await readFile(await download.path()))).toBe(sha256(expected))
  }
})
