// The network view (#/network): the supernodes the serving relay knows, checked in the
// browser; the host cache; and which supernodes own each torrent open in the tab, by the
// same rendezvous hashing the relays run.

import { rendezvousOwners } from '../shared/rendezvous.ts'
import { expect, shot, test } from './fixtures.ts'
import { freePort, startRelay } from './relay.ts'

const HASH = '0123456789abcdef0123456789abcdef01234567'

async function nodeId(url: string): Promise<string> {
  const health = (await (await fetch(`${url}/health`)).json()) as { id: string }
  return health.id
}

test('one relay: its own supernode, an empty host cache, and the owner of an opened torrent', async ({
  page,
  relay,
}, testInfo) => {
  const id = await nodeId(relay.url)
  await page.goto('/#/network')
  await expect(page.getByRole('link', { name: 'Network', exact: true })).toHaveAttribute(
    'aria-current',
    'page',
  )
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Network')

  const rows = page.getByTestId('supernode')
  await expect(rows).toHaveCount(1)
  await expect(rows.first()).toHaveAttribute('data-id', id)
  await expect(rows.first()).toHaveAttribute('data-role', 'supernode')
  await expect(rows.first()).toContainText('this relay')
  // Without --public-url a relay names itself http://localhost:PORT.
  await expect(rows.first()).toContainText(`http://localhost:${relay.port}`)
  await expect(rows.first().getByRole('meter')).toBeVisible()
  await expect(page.getByTestId('hosts-empty')).toBeVisible()
  await expect(page.getByText('No torrent is open in this tab.')).toBeVisible()
  await expect(page.getByTestId('network-sync').first()).toHaveAttribute('data-relay', relay.url)

  // Open a magnet on the home page, then come back through the nav.
  await page.goto('/')
  await page.getByLabel('Magnet link or info hash').fill(`magnet:?xt=urn:btih:${HASH}&dn=Owned`)
  await page.getByRole('button', { name: 'Open' }).click()
  await expect(page).toHaveURL(new RegExp(`#/t/${HASH}`))
  await page.getByRole('link', { name: 'Network', exact: true }).click()

  const torrent = page.getByTestId('torrent-owners')
  await expect(torrent).toHaveAttribute('data-infohash', HASH)
  await expect(torrent.getByTestId('owner')).toHaveCount(1)
  await expect(torrent.getByTestId('owner')).toHaveAttribute('data-id', id)
  await expect(torrent).toContainText(`ws://127.0.0.1:${relay.port}/`)
  await shot(page, testInfo, 'network-one-relay')
})

test('two peered relays: both supernodes, the peer in the host cache, owners in rendezvous order', async ({
  browser,
}, testInfo) => {
  const portA = await freePort()
  const fast = ['--local-network', '--supernode-poll-interval', '1']
  const a = await startRelay({ port: portA, args: fast })
  const b = await startRelay({ peers: [a.url], args: fast })
  try {
    const [idA, idB] = await Promise.all([nodeId(a.url), nodeId(b.url)])
    const page = await browser.newPage({ baseURL: b.url })
    await page.goto('/#/network')
    const rows = page.getByTestId('supernode')
    // B learns A's record from its first exchange; the view reads again every few seconds.
    await expect(rows).toHaveCount(2, { timeout: 60_000 })
    await expect(rows.first()).toHaveAttribute('data-id', idB)
    await expect(page.locator(`[data-testid="supernode"][data-id="${idA}"]`)).toContainText(a.url)
    await expect(page.locator(`[data-testid="host"][data-url="${a.url}"]`)).toBeVisible()

    await page.goto('/')
    await page.getByLabel('Magnet link or info hash').fill(HASH)
    await page.getByRole('button', { name: 'Open' }).click()
    await expect(page).toHaveURL(new RegExp(`#/t/${HASH}`))
    await page.getByRole('link', { name: 'Network', exact: true }).click()
    await expect(page.getByTestId('supernode')).toHaveCount(2)
    const owners = page.getByTestId('torrent-owners').getByTestId('owner')
    await expect(owners).toHaveCount(2)
    const expected = rendezvousOwners(HASH, [idA, idB])
    await expect(owners.nth(0)).toHaveAttribute('data-id', expected[0])
    await expect(owners.nth(1)).toHaveAttribute('data-id', expected[1])
    await shot(page, testInfo, 'network-two-relays')
    await page.close()
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
})

test('a relay that stops answering: the view says so and keeps what it read', async ({
  browser,
}, testInfo) => {
  const relay = await startRelay()
  let stopped = false
  try {
    const id = await nodeId(relay.url)
    const page = await browser.newPage({ baseURL: relay.url })
    await page.goto('/#/network')
    await expect(page.getByTestId('supernode')).toHaveAttribute('data-id', id)

    await relay.stop()
    stopped = true
    await page.getByRole('button', { name: 'Refresh' }).click()
    await expect(page.getByTestId('supernodes-error')).toContainText(
      `Could not read the supernodes. cannot reach 127.0.0.1:${relay.port}`,
    )
    await expect(page.getByText('Could not read the host cache.')).toBeVisible()
    await expect(page.getByTestId('supernode')).toHaveAttribute('data-id', id)
    await shot(page, testInfo, 'network-relay-down')
    await page.close()
  } finally {
    if (!stopped) await relay.stop()
  }
})
