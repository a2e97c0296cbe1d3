// The Settings page: limits checked and kept across a reload, a relay added that the
// catalog reads at once (and removed), the node identity exported and imported.

import { readFile } from 'node:fs/promises'
import { createIdentity } from '../shared/identity.ts'
import { expect, shot, test } from './fixtures.ts'
import { draft, publish, sign } from './listings.ts'
import { startRelay } from './relay.ts'

test('limits are checked, saved, and kept across a reload', async ({ page }, testInfo) => {
  await page.goto('/')
  await page.getByRole('link', { name: 'Settings' }).click()
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Settings')
  await expect(page).toHaveTitle('Settings · Monsoon')

  const down = page.getByLabel('Download limit')
  const up = page.getByLabel('Upload limit')
  const conns = page.getByLabel('Max connections')
  await expect(down).toHaveValue('')
  await expect(conns).toHaveValue('55')

  await down.fill('fast')
  await conns.fill('0')
  await page.getByRole('button', { name: 'Save' }).click()
  await expect(down).toHaveAttribute('aria-invalid', 'true')
  await expect(page.getByText('Enter a whole number of KiB/s')).toBeVisible()
  await expect(page.getByText('Enter a whole number of connections from 1 to 500.')).toBeVisible()
  await shot(page, testInfo, 'settings-errors')

  await down.fill('2048')
  await up.fill('256')
  await conns.fill('20')
  await page.getByRole('button', { name: 'Save' }).click()
  await expect(page.getByText('Saved.')).toBeVisible()
  await expect(down).not.toHaveAttribute('aria-invalid', 'true')

  await page.reload()
  await expect(page.getByLabel('Download limit')).toHaveValue('2048')
  await expect(page.getByLabel('Upload limit')).toHaveValue('256')
  await expect(page.getByLabel('Max connections')).toHaveValue('20')
  // Kept as bytes per second for WebTorrent's throttles.
  const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('monsoon.settings')!))
  expect(stored).toMatchObject({
    downloadLimit: 2048 * 1024,
    uploadLimit: 256 * 1024,
    maxConns: 20,
  })
  await shot(page, testInfo, 'settings-saved')

  // Emptied, a limit is lifted.
  await page.getByLabel('Download limit').fill('')
  await page.getByRole('button', { name: 'Save' }).click()
  await expect(page.getByText('Saved.')).toBeVisible()
  await page.reload()
  await expect(page.getByLabel('Download limit')).toHaveValue('')
})

test('a relay added in Settings is read at once, kept across a reload, and can be removed', async ({
  page,
  relay,
}, testInfo) => {
  // A relay this page's relay does not peer with: its listing reaches the page only if the
  // app reads it.
  const other = await startRelay()
  try {
    await publish(other.url, sign([draft('Only on the other relay', { category: 'game' })]))
    await page.goto('/')
    await expect(page.getByTestId('listing-count')).toHaveText(/^\d+$/)
    await expect(page.getByText('Only on the other relay')).toHaveCount(0)

    await page.goto('/#/settings')
    const field = page.getByLabel('Relay address')
    const add = page.getByRole('button', { name: 'Add relay' })
    await field.fill('ftp://relay.example')
    await add.click()
    await expect(page.getByRole('alert')).toHaveText(/https:\/\//)
    await expect(field).toHaveAttribute('aria-invalid', 'true')
    await field.fill('https://relay.example/some/path')
    await add.click()
    await expect(page.getByRole('alert')).toHaveText(/without a path/)
    await shot(page, testInfo, 'settings-relay-error')

    // A tracker URL names its relay too.
    await field.fill(other.url.replace('http://', 'ws://') + '/')
    await add.click()
    const list = page.getByRole('list', { name: 'Relays you added' })
    await expect(list.getByRole('listitem')).toHaveText([new RegExp(other.url)])
    await expect(field).toHaveValue('')
    await field.fill(other.url)
    await add.click()
    await expect(page.getByRole('alert')).toHaveText('That relay is already in the list.')
    await shot(page, testInfo, 'settings-relay-added')

    // The catalog reads it at once: its listing is in the index.
    await page.getByRole('link', { name: 'Index' }).click()
    await expect(page.getByText('Only on the other relay')).toBeVisible()
    await page.goto('/#/network')
    await expect(page.getByText(new URL(other.url).host).first()).toBeVisible()

    await page.reload()
    await page.goto('/#/settings')
    await expect(list.getByRole('listitem')).toHaveCount(1)
    await list.getByRole('button', { name: `Remove ${new URL(other.url).host}` }).click()
    await expect(page.getByText('You have not added any relay.')).toBeVisible()
    await page.reload()
    await expect(page.getByText('You have not added any relay.')).toBeVisible()
    expect(relay.url).not.toBe(other.url)
  } finally {
    await other.stop()
  }
})

test('the node identity is shown, exported as a file, and imported from one', async ({
  page,
}, testInfo) => {
  await page.goto('/#/settings')
  const nodeId = page.getByTestId('node-id')
  await expect(nodeId).toHaveText(/^[0-9a-f]{64}$/)
  const id = (await nodeId.textContent())!

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export identity' }).click(),
  ])
  const exported = JSON.parse(await readFile((await download.path())!, 'utf8'))
  expect(exported).toMatchObject({ format: 'monsoon-identity', version: 1, id })
  expect(exported.secretKey).toMatch(/^[0-9a-f]{64}$/)

  // A file that is not an identity is refused, with the reason.
  const input = page.getByLabel('Import identity…')
  await input.setInputFiles({
    name: 'x.json',
    mimeType: 'application/json',
    buffer: Buffer.from('{}'),
  })
  await expect(page.getByRole('alert')).toHaveText('This file is not a Monsoon identity.')
  const damaged = { ...exported, id: '0'.repeat(64) }
  await input.setInputFiles({
    name: 'damaged.json',
    mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify(damaged)),
  })
  await expect(page.getByRole('alert')).toHaveText(/does not match its key/)

  // Another node's identity replaces this one after a confirmation; the page reloads.
  const next = createIdentity()
  const file = {
    format: 'monsoon-identity',
    version: 1,
    id: next.id,
    secretKey: Buffer.from(next.secretKey).toString('hex'),
  }
  await input.setInputFiles({
    name: 'other.json',
    mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify(file)),
  })
  await expect(page.getByText('Replace this browser’s identity?')).toBeVisible()
  await expect(nodeId).toHaveText(id)
  await shot(page, testInfo, 'settings-identity-confirm')
  await page.getByRole('button', { name: 'Replace identity' }).click()
  await expect(nodeId).toHaveText(next.id)
  await page.reload()
  await expect(nodeId).toHaveText(next.id)
})
