// The torrent view's peer table: two browsers on loopback share a file through a real relay,
// and each one's torrent view shows the other as a peer on a direct path (both ends host
// candidates: data-path="host", read off the connection's getStats()), with the bytes that
// went each way. The second test gives the page a TURN URL without credentials, which
// Chromium refuses to make any RTCPeerConnection with: the app must leave it out and
// transfer as before. The third puts two relays in one network, only the second naming a
// STUN server: a page on the first uses it too, that of its torrent's other tracker. The
// last loads the app where it is not a secure context and checks it says so before hashing.
// The first also reads the engine's report: each patch of the fast path active on the bundle
// the build ships.

import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { writeFile } from 'node:fs/promises'
import { chromium, type Browser, type BrowserContext } from '@playwright/test'
import { TORRENT_PATCHES, WIRE_PATCHES } from '../app/lib/engine/patches.ts'
import { CHROMIUM } from '../scripts/chromium.js'
import { expect, shot, test } from './fixtures.ts'
import { freePort, startRelay, supernodesListed, type RunningRelay } from './relay.ts'
import { infoHashOf, saveAndCompare, share } from './sharing.ts'

const SIZE = 2 * 1024 * 1024
/** Every patch of the engine a browser download uses. */
const ENGINE_PATCHES = [...TORRENT_PATCHES, ...WIRE_PATCHES]

async function shareAndFetch(browser: Browser, relay: RunningRelay, source: string) {
  const seeder = await browser.newContext({ baseURL: relay.url })
  const leecher = await browser.newContext({ baseURL: relay.url })
  const a = await seeder.newPage()
  await a.goto('/#/add')
  await a.getByLabel('Choose files').setInputFiles(source)
  await a.getByLabel('List it in the index').uncheck()
  await a.getByRole('button', { name: 'Share', exact: true }).click()
  const field = a.getByTestId('share-url')
  await expect(field).toHaveValue(/#\/t\/[0-9a-f]{40}\?/, { timeout: 120_000 })
  const shareUrl = await field.inputValue()
  const b = await leecher.newPage()
  await b.goto(shareUrl)
  return { a, b, shareUrl, close: () => Promise.all([seeder.close(), leecher.close()]) }
}

test('each side of a loopback transfer shows the other as a direct peer, with its bytes', async ({
  browser,
  relay,
}, testInfo) => {
  const name = 'peer path.bin'
  const data = randomBytes(SIZE)
  const source = testInfo.outputPath(name)
  await writeFile(source, data)
  const { a, b, shareUrl, close } = await shareAndFetch(browser, relay, source)
  try {
    await saveAndCompare(b, name, data)

    const row = b.getByTestId('peer-row')
    await expect(row).toHaveCount(1)
    await expect(row.getByTestId('peer-path')).toHaveAttribute('data-path', 'host')
    await expect(row.getByTestId('peer-path')).toHaveText(/Direct/)
    await expect
      .poll(async () => Number(await row.getByTestId('peer-downloaded').getAttribute('data-bytes')))
      .toBeGreaterThanOrEqual(SIZE)
    await expect(b.getByText(/carries every byte/)).toBeVisible()
    await shot(b, testInfo, 'peer-table-downloader')

    // The engine's report (EngineStatus.svelte): every part of the fast path applied to the
    // torrent and its WebRTC wire, on the bundle this build ships, and the connection was
    // made by Monsoon's peer connection layer (app/lib/engine/peer-connections.ts).
    const engine = b.getByTestId('engine-status')
    await expect(engine.getByTestId('engine-ok')).toBeVisible()
    for (const patch of ENGINE_PATCHES) {
      await expect(engine.locator(`[data-patch="${patch}"]`)).toHaveAttribute(
        'data-state',
        'active',
      )
    }
    await expect(engine).toContainText(/[1-9]\d* WebRTC connection\(s\) made by Monsoon/)

    // The seeder's view of the same connection: the bytes went out.
    await a.evaluate((hash) => (location.hash = hash), new URL(shareUrl).hash)
    const seen = a.getByTestId('peer-row')
    await expect(seen.getByTestId('peer-path')).toHaveAttribute('data-path', 'host')
    await expect
      .poll(async () => Number(await seen.getByTestId('peer-uploaded').getAttribute('data-bytes')))
      .toBeGreaterThanOrEqual(SIZE)
  } finally {
    await close()
  }
})

test('a TURN server the operator names gets minted credentials, and one that is down is not fatal', async ({
  browser,
}, testInfo) => {
  // Nothing listens there: were it used, it would only cost a failed allocation. Before the
  // relay minted credentials for it, Chromium refused every RTCPeerConnection with it in
  // (InvalidAccessError); the page drops any TURN entry that still comes without them.
  const relay = await startRelay({ args: ['--ice-server', 'turn:127.0.0.1:9'] })
  try {
    const config = (await (await fetch(`${relay.url}/v1/config`)).json()) as {
      iceServers: { urls: string | string[]; username?: string; credential?: string }[]
    }
    const named = config.iceServers.find((s) => s.urls === 'turn:127.0.0.1:9')
    expect(named).toMatchObject({ username: expect.any(String), credential: expect.any(String) })
    const name = 'no credentials.bin'
    const data = randomBytes(SIZE / 4)
    const source = testInfo.outputPath(name)
    await writeFile(source, data)
    const { b, close } = await shareAndFetch(browser, relay, source)
    try {
      await saveAndCompare(b, name, data)
      await expect(b.getByTestId('peer-path')).toHaveAttribute('data-path', 'host')
    } finally {
      await close()
    }
  } finally {
    await relay.stop()
  }
})

/** A STUN server (RFC 8489 Binding only) on loopback UDP, counting the requests it answers. */
async function stunServer() {
  const socket = createSocket('udp4')
  let requests = 0
  socket.on('message', (msg, from) => {
    // A Binding request: type 0x0001, the magic cookie, a 12-byte transaction id.
    if (msg.length < 20 || msg.readUInt16BE(0) !== 0x0001) return
    if (msg.readUInt32BE(4) !== MAGIC_COOKIE) return
    requests++
    const answer = Buffer.alloc(32)
    answer.writeUInt16BE(0x0101, 0) // Binding success
    answer.writeUInt16BE(12, 2)
    msg.copy(answer, 4, 4, 20) // cookie and transaction id
    answer.writeUInt16BE(0x0020, 20) // XOR-MAPPED-ADDRESS
    answer.writeUInt16BE(8, 22)
    answer.writeUInt16BE(0x0001, 24) // IPv4
    answer.writeUInt16BE(from.port ^ (MAGIC_COOKIE >>> 16), 26)
    const ip = from.address.split('.').reduce((n, b) => n * 256 + Number(b), 0)
    answer.writeUInt32BE((ip ^ MAGIC_COOKIE) >>> 0, 28)
    socket.send(answer, from.port, from.address)
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return {
    url: `stun:127.0.0.1:${socket.address().port}`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  }
}

const MAGIC_COOKIE = 0x2112a442
/** Relays that meet within a second and take loopback addresses as a network. */
const FAST = ['--local-network', '--supernode-poll-interval', '1', '--ws-announce-interval', '2']

test("a page uses the STUN server of the other relay its torrent's tracker is on", async ({
  browser,
}, testInfo) => {
  // Only B names a STUN server (neither runs its own): whatever A's page uses, it took from B.
  const stun = await stunServer()
  const [portA, portB] = await Promise.all([freePort(), freePort()])
  const relays: RunningRelay[] = []
  const contexts: BrowserContext[] = []
  const own = ['--no-stun', '--no-turn']
  try {
    relays.push(await startRelay({ port: portA, args: [...FAST, ...own] }))
    relays.push(
      await startRelay({
        port: portB,
        peers: [`http://127.0.0.1:${portA}`],
        args: [...FAST, ...own, '--ice-server', stun.url],
      }),
    )
    const [a, b] = relays
    // Both relays list both supernodes before the browsers come: each hash is owned by both,
    // so a torrent announces to both trackers whichever page it is in.
    for (const r of relays) {
      await expect.poll(() => supernodesListed(r.url), { timeout: 30_000 }).toBe(2)
    }
    const name = 'two relays.bin'
    const data = randomBytes(SIZE / 4)
    const source = testInfo.outputPath(name)
    await writeFile(source, data)
    contexts.push(await browser.newContext({ baseURL: a.url }))
    const seeder = await contexts[0].newPage()
    await seeder.goto('/')
    const shareUrl = await share(seeder, source, infoHashOf(name, data))
    // The seeder's announces carry offers: their ICE gathering asks B's STUN server, the
    // only one there is, while no other browser is around.
    await expect.poll(() => stun.requests(), { timeout: 60_000 }).toBeGreaterThan(0)

    contexts.push(await browser.newContext({ baseURL: b.url }))
    const leecher = await contexts[1].newPage()
    await leecher.goto(`${b.url}/${new URL(shareUrl).hash}`)
    await saveAndCompare(leecher, name, data)
    await expect(leecher.getByTestId('peer-path')).toHaveAttribute('data-path', 'host')
    await expect(leecher.getByTestId('ice-servers')).toHaveAttribute('data-stun', '1')
    await seeder.evaluate((hash) => (location.hash = hash), new URL(shareUrl).hash)
    await expect(seeder.getByTestId('ice-servers')).toHaveAttribute('data-stun', '1')
    await expect(seeder.getByTestId('peer-path')).toHaveAttribute('data-path', 'host')
    await shot(seeder, testInfo, 'peer-table-other-relay-stun')
  } finally {
    await Promise.all(contexts.map((c) => c.close()))
    await Promise.all(relays.map((r) => r.stop()))
    await stun.close()
  }
})

test('over plain HTTP under a name that is not loopback, the page says HTTPS is needed before any hashing', async ({
  relay,
}, testInfo) => {
  // The name leads to the loopback relay, but only `localhost` and loopback addresses make a
  // plain-HTTP page a secure context: this one is not, as on a LAN or public address.
  const insecure = await chromium.launch({
    ...CHROMIUM,
    args: [...CHROMIUM.args, '--host-resolver-rules=MAP relay.insecure.test 127.0.0.1'],
  })
  try {
    const page = await insecure.newPage()
    await page.goto(`http://relay.insecure.test:${relay.port}/#/add`)
    expect(await page.evaluate(() => window.isSecureContext)).toBe(false)
    const banner = page.getByTestId('insecure-context')
    await expect(banner).toContainText('must be reached over HTTPS')
    await expect(banner).toContainText('--acme-domain')
    const notice = page.getByTestId('insecure-share')
    await expect(notice).toContainText('Files cannot be shared from this page')
    await expect(page.getByLabel('Choose files')).toHaveCount(0)

    // Files dropped anyway are not taken: no form to share them, no TypeError from hashing.
    const dataTransfer = await page.evaluateHandle(() => {
      const dt = new DataTransfer()
      dt.items.add(new File(['some bytes'], 'dropped.txt', { type: 'text/plain' }))
      return dt
    })
    const target = page.getByRole('heading', { name: 'Share files' })
    await target.dispatchEvent('dragenter', { dataTransfer })
    await target.dispatchEvent('drop', { dataTransfer })
    await expect(notice).toBeVisible()
    await expect(page.getByRole('button', { name: 'Share', exact: true })).toHaveCount(0)
    await expect(page.getByText(/reading 'digest'/)).toHaveCount(0)
    await shot(page, testInfo, 'insecure-context')
  } finally {
    await insecure.close()
  }

  // On loopback the same relay's page is a secure context, and says nothing of the kind.
  const secure = await chromium.launch(CHROMIUM)
  try {
    const page = await secure.newPage()
    await page.goto(`${relay.url}/#/add`)
    await expect(page.getByRole('heading', { name: 'Share files' })).toBeVisible()
    await expect(page.getByTestId('insecure-context')).toHaveCount(0)
  } finally {
    await secure.close()
  }
})
