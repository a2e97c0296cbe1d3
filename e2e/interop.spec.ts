// Our fast transfer path (app/lib/engine/fast, applied by createClient) against a stock WebTorrent
// 3 page (the prebuilt bundle, `new WebTorrent()`, default options), both ways, over real
// WebRTC between two browser contexts and the relay's WebSocket tracker: the bytes arrive
// intact (SHA-256), and what the stock page's data channels receive shows the fast path was
// on. A stock peer never puts two BitTorrent messages in one data-channel message (a piece is
// a 13-byte header and a 16 KiB block, sent apart); ours batches whole messages, so the stock
// page sees blocks with their headers, and several requests in one message.

import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { BrowserContext, Page } from '@playwright/test'
import { expect, test } from './fixtures.ts'
import { infoHashOf, sha256, share, tracker } from './sharing.ts'

const BUNDLE = fileURLToPath(
  new URL('../node_modules/webtorrent/dist/webtorrent.min.js', import.meta.url),
)
/** Large enough for a full request pipeline, small enough for a busy 2-core machine. */
const SIZE = 8 * 1024 * 1024
/** A stock piece message: 4-byte length, id, index, begin, then a 16 KiB block. */
const STOCK_PIECE_MESSAGE = 13 + 16 * 1024

/** What the stock page's data channels received: the largest message, and whether one held
 * two or more whole `request` messages (BEP 3: <len=13><id=6><index><begin><length>). */
interface Seen {
  largest: number
  batchedRequests: boolean
}

/** Installed before the stock bundle: wraps the `onmessage` handler simple-peer sets on each
 * data channel, to look at each message as it arrives. */
function watchChannels() {
  const seen = { largest: 0, batchedRequests: false }
  ;(window as unknown as { seen: typeof seen }).seen = seen
  const proto = RTCDataChannel.prototype
  const desc = Object.getOwnPropertyDescriptor(proto, 'onmessage')!
  Object.defineProperty(proto, 'onmessage', {
    configurable: true,
    get() {
      return desc.get!.call(this)
    },
    set(handler: ((e: MessageEvent) => void) | null) {
      desc.set!.call(
        this,
        handler &&
          ((e: MessageEvent) => {
            if (e.data instanceof ArrayBuffer) {
              const v = new DataView(e.data)
              seen.largest = Math.max(seen.largest, e.data.byteLength)
              const isRequest = (at: number) =>
                e.data.byteLength >= at + 17 && v.getUint32(at) === 13 && v.getUint8(at + 4) === 6
              if (isRequest(0) && isRequest(17)) seen.batchedRequests = true
            }
            handler.call(this, e)
          }),
      )
    },
  })
}

/** A page on the relay's origin running the stock bundle as `window.WebTorrent`. */
async function stockPage(context: BrowserContext, relayUrl: string): Promise<Page> {
  await context.addInitScript(watchChannels)
  const page = await context.newPage()
  await page.goto(`${relayUrl}/health`)
  const bundle = await readFile(BUNDLE, 'utf8')
  await page.addScriptTag({
    type: 'module',
    content: bundle.replace(/export\{(\w+) as default\};?/, 'window.WebTorrent=$1;'),
  })
  await page.waitForFunction(() => typeof (window as { WebTorrent?: unknown }).WebTorrent)
  return page
}

const seenIn = (page: Page) => page.evaluate(() => (window as unknown as { seen: Seen }).seen)

test('a stock WebTorrent page downloads what our client shares, byte-identical', async ({
  browser,
  relay,
}, testInfo) => {
  const name = 'interop ours to stock.bin'
  const data = randomBytes(SIZE)
  const source = testInfo.outputPath(name)
  await writeFile(source, data)
  const infoHash = infoHashOf(name, data)

  const ours = await browser.newContext({ baseURL: relay.url })
  const stock = await browser.newContext()
  try {
    const a = await ours.newPage()
    await a.goto('/#/add')
    await share(a, source, infoHash)

    const b = await stockPage(stock, relay.url)
    const digest = await b.evaluate(
      ({ infoHash, tracker }) =>
        new Promise<string>((resolve, reject) => {
          const W = (window as unknown as { WebTorrent: new (o: object) => never }).WebTorrent
          const client = new (
            W as new (o: object) => {
              on(e: string, f: (err: unknown) => void): void
              add(
                id: string,
                o: object,
              ): {
                on(e: string, f: () => void): void
                files: { arrayBuffer(): Promise<ArrayBuffer> }[]
              }
            }
          )({ tracker: { rtcConfig: { iceServers: [] } } })
          client.on('error', (err) => reject(new Error(String(err))))
          const torrent = client.add(infoHash, { announce: [tracker] })
          torrent.on('done', async () => {
            const bytes = await torrent.files[0].arrayBuffer()
            const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
            resolve([...d].map((x) => x.toString(16).padStart(2, '0')).join(''))
          })
        }),
      { infoHash, tracker: tracker(relay) },
    )
    expect(digest).toBe(sha256(data))
    // Our seeder's batches: a block with its header in one data-channel message (a stock
    // seeder's largest is the bare 16 KiB block). A stock leecher sends each request on its
    // own, so each answer goes out alone: more than one block per message is for our peers.
    expect((await seenIn(b)).largest).toBeGreaterThanOrEqual(STOCK_PIECE_MESSAGE)
  } finally {
    await ours.close()
    await stock.close()
  }
})

test('our client downloads what a stock WebTorrent page seeds, byte-identical', async ({
  browser,
  relay,
}) => {
  const name = 'interop stock to ours.bin'
  const stock = await browser.newContext()
  const ours = await browser.newContext({ baseURL: relay.url, acceptDownloads: true })
  try {
    const a = await stockPage(stock, relay.url)
    const seeded = await a.evaluate(
      ({ name, size, tracker }) =>
        new Promise<{ infoHash: string; sha256: string }>((resolve, reject) => {
          const data = new Uint8Array(size)
          for (let at = 0; at < size; at += 65536) {
            crypto.getRandomValues(data.subarray(at, at + 65536))
          }
          const W = (window as unknown as { WebTorrent: new (o: object) => never }).WebTorrent
          const client = new (
            W as new (o: object) => {
              on(e: string, f: (err: unknown) => void): void
              seed(f: File, o: object, cb: (t: { infoHash: string }) => void): void
            }
          )({ tracker: { rtcConfig: { iceServers: [] } } })
          client.on('error', (err) => reject(new Error(String(err))))
          client.seed(new File([data], name), { announce: [tracker] }, async (t) => {
            const d = new Uint8Array(await crypto.subtle.digest('SHA-256', data))
            const hex = [...d].map((x) => x.toString(16).padStart(2, '0')).join('')
            resolve({ infoHash: t.infoHash, sha256: hex })
          })
        }),
      { name, size: SIZE, tracker: tracker(relay) },
    )

    const b = await ours.newPage()
    const tr = encodeURIComponent(tracker(relay))
    await b.goto(`/#/t/${seeded.infoHash}?dn=${encodeURIComponent(name)}&tr=${tr}`)
    await expect(b.getByRole('heading', { level: 1 })).toHaveText(name)
    const save = b.getByRole('button', { name: `Save ${name}` })
    await expect(save).toBeEnabled({ timeout: 180_000 })
    const [download] = await Promise.all([b.waitForEvent('download'), save.click()])
    const saved = await readFile(await download.path())
    expect(saved.length).toBe(SIZE)
    expect(sha256(saved)).toBe(seeded.sha256)
    // Our leecher's batches: several block requests in one data-channel message.
    expect((await seenIn(a)).batchedRequests).toBe(true)
  } finally {
    await ours.close()
    await stock.close()
  }
})
