// Test fixtures: one relay process per worker, serving the built app, and the page's base
// URL pointing at it.

import { test as base, type Page, type TestInfo } from '@playwright/test'
import { startRelay, type RunningRelay } from './relay.ts'

export const test = base.extend<object, { relay: RunningRelay }>({
  relay: [
    // eslint-disable-next-line no-empty-pattern -- Playwright requires the destructuring.
    async ({}, use) => {
      const relay = await startRelay()
      await use(relay)
      await relay.stop()
    },
    { scope: 'worker', timeout: 90_000 },
  ],
  baseURL: async ({ relay }, use) => use(relay.url),
})

export { expect } from '@playwright/test'

/** Keeps a full-page screenshot with the test's results, for people to look at. */
export async function shot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`)
  await page.screenshot({ path, fullPage: true })
  await testInfo.attach(name, { path, contentType: 'image/png' })
}
