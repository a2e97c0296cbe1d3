// The app over IPv6: a relay listening on `::` serves the app at http://[::1]:PORT/, and the
// page reaches the relay there for everything it asks: its supernode record (/v1/supernodes),
// the catalog sync, and the WebSocket tracker (a torrent opened in the tab announces to
// ws://[::1]:PORT/, and the relay counts the tab in the hash's swarm). Skipped on a machine
// without ::1.

import { networkInterfaces } from 'node:os'
import { expect, shot, test } from './fixtures.ts'
import { freePort, relayNodeId, startRelay, type RunningRelay } from './relay.ts'
import { percentEncode, scrapeFiles } from '../relay/test/tracker-wire.ts'

const hasLoopback6 = Object.values(networkInterfaces()).some((addresses) =>
  addresses?.some((a) => a.family === 'IPv6' && a.address === '::1'),
)
const HASH = '0123456789abcdef0123456789abcdef01234566'

test.describe('the app over http://[::1]', () => {
  test.skip(!hasLoopback6, 'this machine has no ::1 (ip -6 addr show lo)')

  let relay: RunningRelay
  let url6: string

  test.beforeAll(async () => {
    // Named by its IPv6 address, so the page has no other name to reach it by (the default
    // public URL is http://localhost:PORT). The later flags win over e2e/relay.ts's.
    const port = await freePort()
    url6 = `http://[::1]:${port}`
    relay = await startRelay({ port, args: ['--host', '::', '--public-url', url6] })
  })

  test.afterAll(async () => {
    await relay?.stop()
  })

  test('reaches its relay over IPv6: supernodes, catalog sync, WebSocket tracker', async ({
    browser,
  }, testInfo) => {
    const context = await browser.newContext({ baseURL: url6 })
    try {
      const page = await context.newPage()
      // Everything the page asks goes to [::1]: nothing falls back to 127.0.0.1 or localhost.
      const sockets: string[] = []
      const requests: string[] = []
      page.on('websocket', (ws) => sockets.push(ws.url()))
      page.on('request', (req) => requests.push(req.url()))
      await page.goto('/#/network')
      const rows = page.getByTestId('supernode')
      await expect(rows).toHaveCount(1)
      await expect(rows.first()).toHaveAttribute('data-id', await relayNodeId(url6))
      const sync = page.getByTestId('network-sync').first()
      await expect(sync).toHaveAttribute('data-relay', url6)
      await expect(sync).toHaveAttribute('data-state', 'idle')

      await page.goto('/')
      await page.getByLabel('Magnet link or info hash').fill(HASH)
      await page.getByRole('button', { name: 'Open' }).click()
      await expect(page).toHaveURL(new RegExp(`#/t/${HASH}`))
      // The tab's WebSocket announce reached the relay over ::1: one leecher in the swarm.
      await expect
        .poll(async () => {
          const res = await fetch(`${url6}/scrape?info_hash=${percentEncode(hexBytes(HASH))}`)
          return scrapeFiles(new Uint8Array(await res.arrayBuffer())).get(HASH)?.incomplete
        })
        .toBe(1)
      await expect(page.getByTestId('tracker-error')).toHaveCount(0)

      await page.getByRole('link', { name: 'Network', exact: true }).click()
      await expect(page.getByTestId('torrent-owners')).toContainText(`ws://[::1]:${relay.port}/`)
      await shot(page, testInfo, 'network-over-ipv6')
      expect(sockets).toContain(`ws://[::1]:${relay.port}/`)
      const origins = new Set([...sockets, ...requests].map((u) => new URL(u).host))
      expect([...origins]).toEqual([`[::1]:${relay.port}`])
    } finally {
      await context.close()
    }
  })
})

function hexBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'))
}
