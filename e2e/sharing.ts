// Browser steps shared by the multi-relay end-to-end tests: sharing a file from a page,
// saving it in another and comparing bytes, reading the network view; and, on the Node side,
// the info hash the app will give a file, so a test can pick bytes whose owners it wants.

import bencode from 'bencode'
import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { Page } from '@playwright/test'
import { pieceLengthFor } from '../app/lib/file-chunk-store.ts'
import { rendezvousOwners } from '../shared/rendezvous.ts'
import { expect } from './fixtures.ts'
import type { RunningRelay } from './relay.ts'

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex')
const sha1 = (data: Uint8Array) => createHash('sha1').update(data).digest()

/** The v1 info hash the app gives one file shared under its own name (BEP 3: SHA-1 of the
 * bencoded info dictionary, pieces sized by the app's pieceLengthFor). */
export function infoHashOf(name: string, data: Buffer): string {
  const pieceLength = pieceLengthFor(data.length)
  const pieces: Buffer[] = []
  for (let at = 0; at < data.length; at += pieceLength) {
    pieces.push(sha1(data.subarray(at, at + pieceLength)))
  }
  const info = {
    length: data.length,
    name,
    'piece length': pieceLength,
    pieces: Buffer.concat(pieces),
  }
  return sha1(bencode.encode(info)).toString('hex')
}

/** Random bytes whose torrent's owners among the supernodes `ids` pass `wanted`. */
export function contentWithOwners(
  name: string,
  size: number,
  ids: string[],
  wanted: (owners: string[]) => boolean,
) {
  for (;;) {
    const data = randomBytes(size)
    const infoHash = infoHashOf(name, data)
    const owners = rendezvousOwners(infoHash, ids)
    if (wanted(owners)) return { data, infoHash, owners }
  }
}

/** A relay's WebSocket tracker, as the app names it. */
export const tracker = (relay: RunningRelay) => `ws://127.0.0.1:${relay.port}/`

/** Shares a file from the page (without listing it) and returns its share URL once hashed.
 * The page is not reloaded: torrents it already has keep seeding. */
export async function share(page: Page, path: string, infoHash: string): Promise<string> {
  await page.evaluate(() => (location.hash = '#/add'))
  await expect(page.getByRole('heading', { name: 'Share files' })).toBeVisible()
  // Still showing the last share's links: start a new one.
  const another = page.getByRole('button', { name: 'Share other files' })
  if (await another.isVisible()) await another.click()
  await page.getByLabel('Choose files').setInputFiles(path)
  await page.getByLabel('List it in the index').uncheck()
  await page.getByRole('button', { name: 'Share', exact: true }).click()
  const field = page.getByTestId('share-url')
  await expect(field).toHaveValue(new RegExp(`#/t/${infoHash}\\?`), { timeout: 120_000 })
  return field.inputValue()
}

/** Opens a share link's torrent in the page, on the page's own relay, without reloading. */
export async function openShared(page: Page, shareUrl: string, name: string): Promise<void> {
  await page.evaluate((hash) => (location.hash = hash), new URL(shareUrl).hash)
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name)
}

/** Opens the network view in the page without reloading it (torrents live in the tab). */
export async function networkView(page: Page): Promise<void> {
  await page.getByRole('link', { name: 'Network', exact: true }).click()
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Network')
}

/** The trackers the page's torrent announces to now, as the network view lists them. */
export function trackersOf(page: Page, infoHash: string) {
  return page
    .locator(`[data-testid="torrent-owners"][data-infohash="${infoHash}"]`)
    .getByTestId('torrent-tracker')
}

/** Waits for the torrent page's Save button, saves, and compares the bytes with `data`. */
export async function saveAndCompare(page: Page, name: string, data: Buffer): Promise<void> {
  const save = page.getByRole('button', { name: `Save ${name}` })
  await expect(save).toBeEnabled({ timeout: 120_000 })
  const [download] = await Promise.all([page.waitForEvent('download'), save.click()])
  const saved = await readFile(await download.path())
  expect(saved.length).toBe(data.length)
  expect(sha256(saved)).toBe(sha256(data))
}
