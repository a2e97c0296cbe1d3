// Opening torrents: magnet links and info hashes pasted on the home page, bad links, and a
// tracker that cannot be reached.

import { expect, shot, test } from './fixtures.ts'
import { startRelay } from './relay.ts'

const HASH = '0123456789abcdef0123456789abcdef01234567'

test('pasting a magnet link on the home page opens its torrent view', async ({
  page,
  context,
  relay,
}, testInfo) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: relay.url })
  await page.goto('/')
  await expect(page.getByRole('link', { name: 'Index', exact: true })).toHaveAttribute(
    'aria-current',
    'page',
  )
  await shot(page, testInfo, 'home')

  const magnet = `magnet:?xt=urn:btih:${HASH.toUpperCase()}&dn=Field+recordings&tr=wss%3A%2F%2Fother.example%2F`
  await page.evaluate((text) => navigator.clipboard.writeText(text), magnet)
  await page.getByLabel('Magnet link or info hash').focus()
  await page.keyboard.press('ControlOrMeta+V')

  await expect(page).toHaveURL(new RegExp(`#/t/${HASH}\\?dn=Field\\+recordings&tr=`))
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Field recordings')
  await expect(page.getByText(HASH)).toBeVisible()
  await expect(page.getByTestId('phase')).toHaveText('Finding peers')
  // The share links of the view carry this relay's tracker and the link's own.
  const magnetOut = await page.getByLabel('Magnet link', { exact: true }).inputValue()
  expect(magnetOut).toContain(`tr=${encodeURIComponent(`ws://127.0.0.1:${relay.port}/`)}`)
  expect(magnetOut).toContain(`tr=${encodeURIComponent('wss://other.example/')}`)
  await shot(page, testInfo, 'torrent-finding-peers')
})

test('an info hash typed on the home page opens its torrent view', async ({ page }) => {
  await page.goto('/')
  await page.getByLabel('Magnet link or info hash').fill(HASH)
  await page.getByRole('button', { name: 'Open' }).click()
  await expect(page).toHaveURL(new RegExp(`#/t/${HASH}$`))
  await expect(page.getByTestId('phase')).toHaveText('Finding peers')
})

test('a bogus magnet link shows a clear error and stays on the home page', async ({
  page,
}, testInfo) => {
  await page.goto('/')
  const field = page.getByLabel('Magnet link or info hash')
  await field.fill('magnet:?xt=urn:btih:not-a-real-hash&dn=x')
  await page.getByRole('button', { name: 'Open' }).click()
  await expect(page.getByRole('alert')).toHaveText(/not a valid info hash/)
  await expect(field).toHaveAttribute('aria-invalid', 'true')
  expect(new URL(page.url()).hash).toBe('')
  await shot(page, testInfo, 'home-bad-magnet')

  await field.fill('magnet:?dn=no+hash+at+all')
  await field.press('Enter')
  await expect(page.getByRole('alert')).toHaveText(/no BitTorrent info hash/)
})

test('a share link with a broken info hash says so', async ({ page }) => {
  await page.goto('/#/t/zzzz?dn=whatever')
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(
    'This link does not lead to a torrent',
  )
  await expect(page.getByRole('alert')).toHaveText(/not a valid info hash/)
})

test('a hostile name in a link is shown as text, never run', async ({ page }) => {
  const name = '<img src=x onerror="window.__pwned=1">\u202e../../etc/passwd'
  await page.goto(`/#/t/${HASH}?dn=${encodeURIComponent(name)}`)
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name)
  await expect(page.locator('main img')).toHaveCount(0)
  expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined()
})

test('a tracker that cannot be reached is reported on the torrent view', async ({
  page,
}, testInfo) => {
  // A relay of its own, stopped once the app is loaded: its tracker is then unreachable.
  const doomed = await startRelay()
  try {
    await page.goto(`${doomed.url}/`)
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible()
  } finally {
    await doomed.stop('SIGKILL')
  }
  await page.getByLabel('Magnet link or info hash').fill(HASH)
  await page.getByRole('button', { name: 'Open' }).click()
  await expect(page.getByTestId('tracker-error')).toContainText('Cannot reach the tracker', {
    timeout: 60_000,
  })
  await shot(page, testInfo, 'torrent-tracker-unreachable')
})
