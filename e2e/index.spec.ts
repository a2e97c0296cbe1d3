// The index page in one browser: empty, then sixty listings published to its relay;
// searching as you type (words, prefixes, case and accents), the category filter, sorting
// on every column, paging; hostile listings shown as text; the catalog kept across a reload
// with the relays cut off; a relay's refusal shown when sharing.

import { writeFile } from 'node:fs/promises'
import type { Page } from '@playwright/test'
import { sanitizeName } from '../shared/text.ts'
import { expect, shot, test } from './fixtures.ts'
import { draft, publish, sign } from './listings.ts'
import { startRelay } from './relay.ts'
import { sampleDrafts } from './sample-listings.ts'

const rows = (page: Page) => page.getByTestId('listing-row')
const names = (page: Page) => rows(page).locator('td.c-name')

test('the index searches as you type, filters, sorts on every column and pages', async ({
  browser,
}, testInfo) => {
  const relay = await startRelay()
  const context = await browser.newContext({ baseURL: relay.url })
  try {
    const page = await context.newPage()
    await page.goto('/')
    await expect(page.getByTestId('index-empty')).toContainText('The index is empty')
    await expect(page.getByTestId('index-empty').getByRole('link')).toHaveText('Share files')
    await shot(page, testInfo, 'index-empty')

    const samples = sampleDrafts()
    await publish(
      relay.url,
      sign(
        samples.map((s) => s.draft),
        undefined,
        (i) => samples[i].ageSeconds,
      ),
    )
    await page.getByTestId('sync-status').locator('summary').click()
    await page.getByRole('button', { name: 'Sync now' }).click()
    await expect(page.getByTestId('listing-count')).toHaveText('60')
    await page.getByTestId('sync-status').locator('summary').click()
    await expect(page.getByTestId('result-range')).toHaveText('1–50 of 60')
    await expect(rows(page)).toHaveCount(50)
    // Newest first by default.
    await expect(names(page).first()).toHaveText(samples[0].draft.name)
    await shot(page, testInfo, 'index-listings')
    await page.emulateMedia({ colorScheme: 'dark' })
    await shot(page, testInfo, 'index-listings-dark')
    await page.emulateMedia({ colorScheme: 'light' })

    await page.getByRole('button', { name: 'Next page' }).click()
    await expect(page.getByTestId('result-range')).toHaveText('51–60 of 60')
    await expect(rows(page)).toHaveCount(10)
    expect(new URL(page.url()).hash).toBe('#/?page=2')

    // Words and their beginnings, any case, accents or not; every word must match.
    const search = page.getByLabel('Search the index')
    await search.fill('CAFE')
    await expect(names(page)).toHaveText(['Café del Mar style chill sampler'])
    await search.fill('miserab hugo')
    await expect(names(page)).toHaveText(['Les Misérables — Victor Hugo (texte intégral)'])
    await search.fill('été')
    await expect(names(page)).toHaveText(['Montréal — Été 2024 field recordings'])
    await search.fill('linux')
    await expect(rows(page)).toHaveCount(3)
    await search.fill('nux')
    await expect(page.getByTestId('no-results')).toContainText('Nothing matches')
    await page.getByRole('button', { name: 'Show everything' }).click()
    await expect(search).toHaveValue('')
    await expect(page.getByTestId('result-range')).toHaveText('1–50 of 60')

    // The category filter, with counts.
    const music = samples.filter((s) => s.draft.category === 'music').length
    const filter = page.getByRole('group', { name: 'Category' })
    await expect(filter.getByRole('button', { name: /^Music/ })).toContainText(String(music))
    await filter.getByRole('button', { name: /^Music/ }).click()
    await expect(filter.getByRole('button', { name: /^Music/ })).toHaveAttribute(
      'aria-pressed',
      'true',
    )
    await expect(rows(page)).toHaveCount(music)
    await expect(rows(page).locator('td.c-category')).toHaveText(Array(music).fill('Music'))
    await filter.getByRole('button', { name: /^All/ }).click()

    // Every column sorts, both ways, and says so with aria-sort.
    const header = (label: string) => page.getByRole('columnheader', { name: label })
    for (const label of ['Category', 'Name', 'Size', 'Seeds', 'Leechers', 'Downloads', 'Added']) {
      await header(label).getByRole('button').click()
      const first = await header(label).getAttribute('aria-sort')
      expect(['ascending', 'descending']).toContain(first)
      await header(label).getByRole('button').click()
      await expect(header(label)).toHaveAttribute(
        'aria-sort',
        first === 'ascending' ? 'descending' : 'ascending',
      )
      await expect(
        page.getByRole('columnheader').and(page.locator('[aria-sort="none"]')),
      ).toHaveCount(6)
    }
    const bySize = [...samples].sort((a, b) => a.draft.size - b.draft.size)
    await header('Size').getByRole('button').click()
    await expect(header('Size')).toHaveAttribute('aria-sort', 'descending')
    await expect(names(page).first()).toHaveText(bySize[bySize.length - 1].draft.name)
    await header('Size').getByRole('button').click()
    await expect(header('Size')).toHaveAttribute('aria-sort', 'ascending')
    await expect(names(page).first()).toHaveText(bySize[0].draft.name)

    // A listing, and back to the same search and order.
    await search.fill('bunny')
    await expect(names(page)).toHaveText(['Big Buck Bunny (2008) 1080p'])
    await names(page).first().getByRole('link').click()
    await expect(page.getByTestId('listing-name')).toHaveText('Big Buck Bunny (2008) 1080p')
    await expect(page.getByTestId('description')).toHaveText(
      'Blender Foundation open movie.\nCC-BY 3.0.',
    )
    await shot(page, testInfo, 'listing-details')
    await page.getByRole('link', { name: 'Back to the index' }).click()
    await expect(search).toHaveValue('bunny')
    await expect(header('Size')).toHaveAttribute('aria-sort', 'ascending')
  } finally {
    await context.close()
    await relay.stop()
  }
})

test('hostile listings are shown as text, and the catalog survives a reload without relays', async ({
  page,
  context,
  relay,
}, testInfo) => {
  const hostile = '<img src=x onerror="window.__pwned=1">\u202e../../etc/passwd gpj.exe'
  const [listing] = sign([
    draft(hostile, {
      category: 'application',
      files: 3,
      description: '<script>window.__pwned=2</script>\n<b>not bold</b>\u202e ../../x',
      fileList: [
        { path: '../../etc/passwd', size: 1 },
        { path: '/abs/<img src=y onerror="window.__pwned=3">.txt', size: 2 },
      ],
    }),
  ])
  // Published as signed: sanitised by the publisher's code, checked again by the relay.
  expect(listing.name).toBe(sanitizeName(hostile))
  expect(listing.name).not.toMatch(/[\u202e/]/)
  await publish(relay.url, [listing])

  await page.goto('/#/?q=onerror')
  const row = rows(page).filter({ hasText: 'onerror' })
  await expect(row.locator('td.c-name')).toHaveText(listing.name)
  await expect(page.locator('main img')).toHaveCount(0)

  await row.getByRole('link').click()
  await expect(page.getByTestId('listing-name')).toHaveText(listing.name)
  await expect(page.getByTestId('description')).toHaveText(listing.description)
  await expect(page.getByTestId('listed-file')).toHaveText(listing.fileList.map((f) => f.path))
  expect(listing.fileList.map((f) => f.path)).toEqual([
    'etc/passwd',
    'abs/<img src=y onerror="window.__pwned=3">.txt',
  ])
  await expect(page.getByText('and 1 more file not listed.')).toBeVisible()
  await expect(page.locator('main img, main script, main b')).toHaveCount(0)
  expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined()
  await shot(page, testInfo, 'listing-hostile')

  // Relays cut off: what the index shows after a reload can only come from IndexedDB.
  await context.route('**/v1/**', (route) => route.abort())
  await page.goto('/#/?q=onerror')
  await page.reload()
  await expect(rows(page).locator('td.c-name')).toHaveText([listing.name])
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-state', 'down')
  await page.getByTestId('sync-status').locator('summary').click()
  await expect(page.getByTestId('relay-sync').first()).toContainText('Unreachable')
  await shot(page, testInfo, 'index-offline')
  await context.unroute('**/v1/**')
})

test("a relay's refusal to list is shown, and the files are shared anyway", async ({
  browser,
}, testInfo) => {
  // One listing a minute from an address: the second share is refused (HTTP 429).
  const relay = await startRelay({ args: ['--publish-rate-per-address', '1'] })
  const context = await browser.newContext({ baseURL: relay.url })
  try {
    const page = await context.newPage()
    await page.goto('/#/add')
    for (const [i, file] of ['first.txt', 'second.txt'].entries()) {
      const path = testInfo.outputPath(file)
      await writeFile(path, `file number ${i}\n`)
      if (i > 0) await page.getByRole('button', { name: 'Share other files' }).click()
      await page.getByLabel('Choose files').setInputFiles(path)
      await page.getByRole('button', { name: 'Share', exact: true }).click()
      await expect(page.getByTestId('share-url')).toHaveValue(/#\/t\/[0-9a-f]{40}/)
      if (i === 0) {
        await expect(page.getByTestId('listing-status')).toHaveAttribute('data-state', 'listed')
      }
    }
    const status = page.getByTestId('listing-status')
    await expect(status).toHaveAttribute('data-state', 'failed')
    await expect(status.getByRole('alert')).toContainText('The listing was not published.')
    await expect(status.getByRole('alert')).toContainText('refused the listing (HTTP 429)')
    await expect(status.getByRole('button', { name: 'Try again' })).toBeVisible()
    await shot(page, testInfo, 'share-refused')
  } finally {
    await context.close()
    await relay.stop()
  }
})

test('the seeds and leechers of the rows on screen follow the tracker, not the last sync', async ({
  page,
  relay,
}) => {
  const [listing] = sign([draft('Figures follow the swarm')])
  await publish(relay.url, [listing])
  await page.goto('/#/?q=figures')
  const row = rows(page).filter({ hasText: 'Figures follow the swarm' })
  await expect(row.locator('td.c-seeds')).toHaveText('0')

  // A classic client seeds it after the listing was synced: only a refresh can tell.
  const bytes = (hex: string) =>
    Array.from(Buffer.from(hex, 'hex'), (b) => `%${b.toString(16).padStart(2, '0')}`).join('')
  for (const [peer, left] of [
    ['11', 0],
    ['22', 5],
  ] as const) {
    const query = `info_hash=${bytes(listing.infoHash)}&peer_id=${bytes(peer.repeat(20))}&port=6881&left=${left}`
    expect((await fetch(`${relay.url}/announce?${query}`)).ok).toBe(true)
  }
  await page.reload()
  await expect(row.locator('td.c-seeds')).toHaveText('1')
  await expect(row.locator('td.c-leechers')).toHaveText('1')
})
