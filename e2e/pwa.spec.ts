// The app as an installed app: a valid manifest Chromium accepts, the service worker in
// control, the update banner when a new build is deployed, the shell and the catalog
// offline, magnet links through the protocol handler's route, the dark theme, and the
// keyboard.

import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from '@playwright/test'
import { expect, shot, test } from './fixtures.ts'
import { draft, publish, sign } from './listings.ts'
import { startRelay } from './relay.ts'

const DIST = fileURLToPath(new URL('../dist/app', import.meta.url))
const HASH = '89abcdef0123456789abcdef0123456789abcdef'

/** Waits until a service worker is active and controls the page (it claims the page on its
 * first install), and returns its script URL. */
async function controlled(page: Page): Promise<string> {
  await page.evaluate(() => navigator.serviceWorker.ready)
  await expect
    .poll(() => page.evaluate(() => navigator.serviceWorker.controller?.state ?? null))
    .toBe('activated')
  return page.evaluate(() => navigator.serviceWorker.controller!.scriptURL)
}

/**
 * Makes the page's document offline as its context already is. Chromium (150, 156) applies an
 * emulated offline state (context.setOffline) to navigator.onLine only in the documents there
 * when it is set: one loaded after it (a reload) reads onLine true and gets no 'offline' event,
 * while its requests fail. The same conditions sent again to the page once it has loaded reach
 * it; they hold while this session is attached. Returns what lifts them.
 */
async function offlineDocument(page: Page): Promise<() => Promise<void>> {
  const cdp = await page.context().newCDPSession(page)
  const conditions = { latency: 0, downloadThroughput: -1, uploadThroughput: -1 }
  await cdp.send('Network.emulateNetworkConditions', { offline: true, ...conditions })
  return async () => {
    await cdp.send('Network.emulateNetworkConditions', { offline: false, ...conditions })
    await cdp.detach()
  }
}

test('the app is installable: a valid manifest, icons that decode, a service worker in control', async ({
  page,
  context,
  relay,
}) => {
  await page.goto('/')
  const href = await page.locator('link[rel="manifest"]').getAttribute('href')
  expect(href).toBe('/manifest.webmanifest')
  const res = await page.request.get(href!)
  expect(res.ok()).toBe(true)
  expect(res.headers()['content-type']).toContain('application/manifest+json')
  const manifest = await res.json()
  expect(manifest).toMatchObject({
    name: 'Monsoon',
    short_name: 'Monsoon',
    start_url: '/',
    scope: '/',
    display: 'standalone',
    protocol_handlers: [{ protocol: 'magnet', url: '/#/open?magnet=%s' }],
  })
  expect(manifest.theme_color).toMatch(/^#[0-9a-f]{6}$/)
  expect(manifest.background_color).toMatch(/^#[0-9a-f]{6}$/)

  // Every icon is served and decodes at its declared size.
  const icons = manifest.icons as { src: string; sizes: string; purpose: string }[]
  expect(icons.map((i) => `${i.sizes} ${i.purpose}`)).toEqual(
    expect.arrayContaining(['192x192 any', '512x512 any', '512x512 maskable', 'any any']),
  )
  for (const icon of icons) {
    const size = await page.evaluate(async (src) => {
      const blob = await (await fetch(src)).blob()
      if (blob.type.startsWith('image/svg+xml')) {
        const img = new Image()
        img.src = URL.createObjectURL(blob)
        await img.decode()
        return 'any'
      }
      const bitmap = await createImageBitmap(blob)
      return `${bitmap.width}x${bitmap.height}`
    }, icon.src)
    expect(size, icon.src).toBe(icon.sizes)
  }

  // The service worker takes the page on its first install, and serves it after a reload.
  const script = await controlled(page)
  expect(script).toBe(`${relay.url}/sw.js`)
  await page.reload()
  expect(await controlled(page)).toBe(script)

  // Chromium's own verdict: the manifest parses without errors, and nothing keeps the app
  // from installing but the test's browser context being an incognito one.
  const cdp = await context.newCDPSession(page)
  const parsed = await cdp.send('Page.getAppManifest')
  expect(parsed.errors).toEqual([])
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors')
  expect(installabilityErrors.map((e) => e.errorId)).toEqual(['in-incognito'])

  // WebTorrent's streaming half answers under /webtorrent/ (its keepalive is an empty
  // answer from the worker; the relay would send the app's page).
  const keepalive = await page.evaluate(async () => {
    const r = await fetch('/webtorrent/keepalive/')
    return { status: r.status, body: await r.text() }
  })
  expect(keepalive).toEqual({ status: 200, body: '' })

  // The relay's answers are never served from the worker's caches.
  const cached = await page.evaluate(async () => {
    const urls: string[] = []
    for (const name of await caches.keys()) {
      for (const req of await (await caches.open(name)).keys()) urls.push(new URL(req.url).pathname)
    }
    return urls
  })
  expect(cached).toContain('/index.html')
  expect(cached.filter((p) => /^\/(v1|announce|scrape|health)/.test(p))).toEqual([])
})

test('a new build deployed while the app is open shows the update banner, and Reload moves to it', async ({
  browser,
}, testInfo) => {
  // A relay serving its own copy of the build, so the test can deploy a "new version".
  const appDir = await mkdtemp(join(tmpdir(), 'monsoon-app-'))
  await cp(DIST, appDir, { recursive: true })
  const relay = await startRelay({ args: ['--app-dir', appDir] })
  const context = await browser.newContext({ baseURL: relay.url })
  try {
    const page = await context.newPage()
    await page.goto('/')
    await controlled(page)
    await expect(page.getByText('A new version of Monsoon is ready')).toHaveCount(0)

    // The new build: the page changed, so its precache revision changed (as a rebuild does).
    const sw = join(appDir, 'sw.js')
    const before = await readFile(sw, 'utf8')
    const after = before.replace(
      /("revision":")[0-9a-f]+(","url":"index.html")/,
      '$1ffffffffffffffffffffffffffffffff$2',
    )
    expect(after).not.toBe(before)
    await writeFile(sw, after)

    // The browser looks for a new worker on navigation; the open page learns it is waiting.
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.update())
    const banner = page.getByRole('status').filter({ hasText: 'A new version of Monsoon is ready' })
    await expect(banner).toBeVisible()
    await expect(banner.getByRole('button', { name: 'Reload' })).toBeVisible()
    await shot(page, testInfo, 'update-banner')

    const reloaded = page.waitForEvent('load')
    await banner.getByRole('button', { name: 'Reload' }).click()
    await reloaded
    await controlled(page)
    await expect(page.getByText('A new version of Monsoon is ready')).toHaveCount(0)
    // The page now runs under the new worker, whose precache holds the new revision.
    const revisions = await page.evaluate(async () => {
      const urls: string[] = []
      for (const name of await caches.keys()) {
        for (const req of await (await caches.open(name)).keys()) urls.push(req.url)
      }
      return urls.filter((u) => u.includes('index.html'))
    })
    expect(revisions.join()).toContain('ffffffffffffffffffffffffffffffff')
    expect(
      await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting),
    ).toBeNull()
  } finally {
    await context.close()
    await relay.stop()
    await rm(appDir, { recursive: true, force: true })
  }
})

test('offline, the app starts from the service worker, lists and searches the saved catalog, and transfers wait for the network', async ({
  browser,
}, testInfo) => {
  const relay = await startRelay()
  const context = await browser.newContext({ baseURL: relay.url })
  try {
    await publish(
      relay.url,
      sign([
        draft('Monsoon field recordings', { category: 'music' }),
        draft('Offline reading list', { category: 'book' }),
        draft('Rainforest timelapse', { category: 'movie' }),
      ]),
    )
    const page = await context.newPage()
    await page.goto('/')
    await expect(page.getByTestId('listing-count')).toHaveText('3')
    await controlled(page)

    await context.setOffline(true)
    await page.reload()
    const online = await offlineDocument(page)
    await expect(page.getByRole('status').filter({ hasText: 'You are offline' })).toBeVisible()
    await expect(page.getByTestId('listing-row')).toHaveCount(3)
    await page.getByLabel('Search the index').fill('rainfor')
    await expect(page.getByTestId('listing-row').locator('td.c-name')).toHaveText([
      'Rainforest timelapse',
    ])
    await shot(page, testInfo, 'offline-index-search')

    // A share link opened offline: the torrent view, waiting for the network.
    await page.goto(`/#/t/${HASH}?dn=Waiting+for+rain`)
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Waiting for rain')
    await expect(page.getByTestId('phase')).toHaveText('Waiting for the network')
    await shot(page, testInfo, 'offline-torrent')

    // Back online, the notice goes; the transfer waits on until a tracker answers again
    // (WebTorrent retries a failed tracker socket on its own schedule).
    await context.setOffline(false)
    await online()
    await expect(page.getByRole('status').filter({ hasText: 'You are offline' })).toHaveCount(0)
  } finally {
    await context.close()
    await relay.stop()
  }
})

test('a transfer whose relays are all out of reach waits for the network', async ({
  page,
}, testInfo) => {
  // The relay that served the page, killed once the app is loaded: online, but no tracker.
  const doomed = await startRelay()
  try {
    await page.goto(`${doomed.url}/`)
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible()
  } finally {
    await doomed.stop('SIGKILL')
  }
  await page.getByLabel('Magnet link or info hash').fill(HASH)
  await page.getByRole('button', { name: 'Open' }).click()
  await expect(page.getByTestId('tracker-error')).toBeVisible({ timeout: 60_000 })
  await expect(page.getByTestId('phase')).toHaveText('Waiting for the network')
  expect(await page.evaluate(() => navigator.onLine)).toBe(true)
  await shot(page, testInfo, 'relays-unreachable')
})

test('a magnet link through the protocol handler route opens its torrent view', async ({
  page,
}, testInfo) => {
  const magnet = `magnet:?xt=urn:btih:${HASH}&dn=Storm+chaser&tr=wss%3A%2F%2Fother.example%2F`
  // As the browser calls it: the link escaped into %s of MAGNET_HANDLER_URL.
  await page.goto(`/#/open?magnet=${encodeURIComponent(magnet)}`)
  await expect(page).toHaveURL(new RegExp(`#/t/${HASH}\\?dn=Storm\\+chaser&tr=`))
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Storm chaser')
  await expect(page.getByTestId('phase')).toHaveText('Finding peers')
  await shot(page, testInfo, 'magnet-opened')

  // The open page is replaced, so Back does not open the link again.
  await page.goBack()
  await expect(page).not.toHaveURL(/#\/open/)

  await page.goto('/#/open?magnet=magnet%3A%3Fxt%3Durn%3Abtih%3Anope')
  await expect(page.getByRole('alert')).toHaveText(/not a valid info hash/)
  await expect(page.getByRole('link', { name: 'Go to the index' })).toBeVisible()

  // The fallback for a browser tab: Settings asks the browser to send magnet: links here,
  // with the same route.
  await page.goto('/#/settings')
  const asked = await page.evaluate(() => {
    const calls: string[][] = []
    const original = navigator.registerProtocolHandler.bind(navigator)
    navigator.registerProtocolHandler = (scheme: string, url: string) => {
      calls.push([scheme, url])
      original(scheme, url)
    }
    ;(window as unknown as { handlerCalls: string[][] }).handlerCalls = calls
    return true
  })
  expect(asked).toBe(true)
  await page.getByRole('button', { name: 'Open magnet links with Monsoon' }).click()
  await expect(page.getByText('Asked the browser.')).toBeVisible()
  expect(
    await page.evaluate(() => (window as unknown as { handlerCalls: string[][] }).handlerCalls),
  ).toEqual([['magnet', `${new URL(page.url()).origin}/#/open?magnet=%s`]])
})

test('the dark theme follows the system setting', async ({ page }, testInfo) => {
  await page.emulateMedia({ colorScheme: 'dark' })
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor)
  for (const path of ['/', '/#/settings', '/#/network', '/#/add']) {
    await page.goto(path)
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible()
    expect(await background()).toBe('rgb(13, 17, 23)')
    await shot(page, testInfo, `dark-${path.replace(/\W/g, '') || 'index'}`)
  }
  await page.emulateMedia({ colorScheme: 'light' })
  expect(await background()).toBe('rgb(246, 248, 251)')
})

test('Tab reaches the skip link, the navigation and the primary actions, each with a visible focus ring', async ({
  page,
}, testInfo) => {
  await page.goto('/')
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible()

  /** The focused element's accessible label and whether a focus ring is drawn around it. */
  const focused = () =>
    page.evaluate(() => {
      const el = document.activeElement as HTMLElement
      const style = getComputedStyle(el)
      return {
        text: (el.getAttribute('aria-label') ?? el.textContent ?? '').trim(),
        tag: el.tagName,
        ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
      }
    })

  const seen: string[] = []
  for (let i = 0; i < 7; i++) {
    await page.keyboard.press('Tab')
    const f = await focused()
    expect(f.ring, `focus ring on ${f.text}`).toBe(true)
    seen.push(f.text)
    if (i === 0) await shot(page, testInfo, 'focus-skip-link')
  }
  expect(seen.slice(0, 6)).toEqual([
    'Skip to content',
    'Monsoon',
    'Index',
    'Share files',
    'Network',
    'Settings',
  ])

  // Enter on a nav link goes there; the page's primary action is reachable next.
  await page.keyboard.press('Shift+Tab')
  await page.keyboard.press('Enter')
  await expect(page).toHaveURL(/#\/settings$/)
  await page.keyboard.press('Tab')
  for (let i = 0; i < 10 && (await focused()).text !== 'Save'; i++) await page.keyboard.press('Tab')
  expect((await focused()).text).toBe('Save')
  await shot(page, testInfo, 'focus-settings-save')

  // The skip link moves focus to the page's content (a fresh page: going to `/` from
  // `/#/settings` only changes the hash and keeps the focus where it was).
  await page.goto('/')
  await page.reload()
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Index')
  await page.keyboard.press('Tab')
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused()
  await page.keyboard.press('Enter')
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('main')
})
