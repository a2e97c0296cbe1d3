// End-to-end tests: real Chromium (Debian's, Playwright cannot download its own here)
// against real relay processes (e2e/fixtures.ts). Run after `vite build`: `npm run test:e2e`.
import { defineConfig } from '@playwright/test'

export default defineConfig({
  testDir: 'e2e',
  // WebRTC transfers between two browser contexts on a 2-core machine: give them room.
  timeout: 240_000,
  expect: { timeout: 30_000 },
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // Host candidates as plain addresses, so peers on 127.0.0.1 connect without mDNS.
        '--disable-features=WebRtcHideLocalIpsWithMdns',
      ],
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
})
