// Downloading from whichever supernode is right (issue 4, points 2 and 3), with three real
// relays on loopback and two browsers served by a relay that does NOT own the torrent's hash:
//   - a relay that no longer tracks a hash refers the browsers to its owners ("moved" for
//     the seeder, which had joined there; "not tracked here" for the newcomer), and both
//     follow without anyone clicking anything: the download completes through the owners;
//   - an owner killed with SIGKILL: the browsers still meet through the other owner, and
//     move off the dead one.
// The file's bytes are picked so that the serving relay is not among the hash's two owners
// (shared/rendezvous.ts over the relays' node ids, the relays' own computation).

import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import type { Page } from '@playwright/test'
import { rendezvousOwners } from '../shared/rendezvous.ts'
import { expect, shot, test } from './fixtures.ts'
import {
  freePort,
  relayKeys,
  relayNodeId,
  startRelay,
  startRelays,
  supernodesListed,
} from './relay.ts'
import { contentWithOwners, networkView, saveAndCompare, tracker, trackersOf } from './sharing.ts'

/** Relays that learn each other within a second or two and ask browsers to announce every
 * two seconds, so a referral is seen soon. */
const FAST = ['--local-network', '--supernode-poll-interval', '1', '--ws-announce-interval', '2']

/** Some info hash that `home` owns among `ids`. */
function hashOwnedBy(home: string, ids: string[]): string {
  for (;;) {
    const hash = randomBytes(20).toString('hex')
    if (rendezvousOwners(hash, ids).includes(home)) return hash
  }
}

/** Shares a file from the page; returns its share URL once hashed. */
async function share(page: Page, path: string): Promise<string> {
  await page.goto('/#/add')
  await page.getByLabel('Choose files').setInputFiles(path)
  await page.getByLabel('List it in the index').uncheck()
  await page.getByRole('button', { name: 'Share', exact: true }).click()
  const field = page.getByTestId('share-url')
  await expect(field).toHaveValue(/#\/t\/[0-9a-f]{40}\?/, { timeout: 120_000 })
  return field.inputValue()
}

test('a relay that does not own the hash refers both browsers to its owners, and they download there', async ({
  browser,
}, testInfo) => {
  // Three relays, their node ids known up front. `home` runs alone at first: it owns every
  // hash; the two others join its network later (--peer), and `home` admits them
  // (shared/admission.ts).
  const keys = await relayKeys(3)
  const ids = keys.map((k) => k.id)
  const relays = [
    await startRelay({ port: await freePort(), dataDir: keys[0].dataDir, args: FAST }),
  ]
  const contexts = []
  try {
    const [home] = relays
    const name = 'referred.bin'
    const { data, infoHash, owners } = contentWithOwners(
      name,
      4 * 1024 * 1024,
      ids,
      (o) => !o.includes(ids[0]),
    )
    const source = testInfo.outputPath(name)
    await writeFile(source, data)

    const seeder = await browser.newContext({ baseURL: home.url })
    const leecher = await browser.newContext({ baseURL: home.url })
    contexts.push(seeder, leecher)

    // A shares through `home` while it is alone: it tracks the hash, and A joins there.
    const a = await seeder.newPage()
    const shareUrl = await share(a, source)
    expect(new URL(shareUrl).hash).toContain(`#/t/${infoHash}?`)
    await expect(a.getByTestId('phase')).toHaveText('Seeding')

    // B reads the supernodes now, while `home` still names only itself: it opens another
    // torrent first (one `home` keeps owning, so nothing refers B before the real test), and
    // its network view says what it read.
    const b = await leecher.newPage()
    await b.goto(`/#/t/${hashOwnedBy(ids[0], ids)}`)
    await networkView(b)
    await expect(b.getByTestId('owners-from')).toHaveAttribute('data-supernodes', '1')

    // The others join: `home` admits them, now knows the two own the hash, and stops
    // tracking it.
    relays.push(
      ...(await Promise.all(
        // Ports picked first, so each names itself 127.0.0.1 as `home` does.
        keys.slice(1).map(async (k) =>
          startRelay({
            port: await freePort(),
            dataDir: k.dataDir,
            peers: [home.url],
            args: FAST,
          }),
        ),
      )),
    )
    const ownerTrackers = owners.map((id) => tracker(relays[ids.indexOf(id)]))
    await expect
      .poll(
        async () => (await (await fetch(`${home.url}/v1/lookup/${infoHash}`)).json()) as object,
        {
          timeout: 30_000,
        },
      )
      .toMatchObject({ owner: false, owners: owners.map((id) => ({ id })) })

    // A's next announce to `home` is answered "moved": A follows to the owners.
    await networkView(a)
    await expect(trackersOf(a, infoHash)).toHaveCount(2, { timeout: 30_000 })
    await expect(trackersOf(a, infoHash)).toHaveText(ownerTrackers.map((t) => new RegExp(t)))
    await expect(a.getByTestId('torrent-moved')).toHaveAttribute('data-reason', 'referral')
    await shot(a, testInfo, 'referral-seeder-network')

    // B opens A's share link. Its view is stale, so it announces to `home`, which answers
    // "not tracked here" with the owners; B follows, meets A there, and downloads.
    await b.evaluate((hash) => (location.hash = hash), new URL(shareUrl).hash)
    await expect(b.getByRole('heading', { level: 1 })).toHaveText(name)
    await saveAndCompare(b, name, data)
    await shot(b, testInfo, 'referral-leecher-done')

    await networkView(b)
    const bTrackers = trackersOf(b, infoHash)
    await expect(bTrackers).toHaveText(ownerTrackers.map((t) => new RegExp(t)))
    for (const row of await bTrackers.all()) await expect(row).toHaveAttribute('data-owner', 'true')
    await expect(
      b
        .locator(`[data-testid="torrent-owners"][data-infohash="${infoHash}"]`)
        .getByTestId('torrent-moved'),
    ).toHaveAttribute('data-reason', 'referral')
    await expect(b.getByTestId('owners-from')).toHaveAttribute('data-supernodes', '3')
    await shot(b, testInfo, 'referral-leecher-network')
  } finally {
    await Promise.all(contexts.map((c) => c.close()))
    await Promise.all(relays.map((r) => r.stop()))
  }
})

test('an owner killed with SIGKILL: the browsers meet through the other owner and move off the dead one', async ({
  browser,
}, testInfo) => {
  const relays = await startRelays(3, { args: FAST, peered: true })
  const contexts = []
  try {
    const ids = await Promise.all(relays.map((r) => relayNodeId(r.url)))
    const [home] = relays
    // Every relay lists all three before the browsers come.
    for (const r of relays) {
      await expect.poll(() => supernodesListed(r.url), { timeout: 30_000 }).toBe(3)
    }
    const name = 'failover.bin'
    const { data, infoHash, owners } = contentWithOwners(
      name,
      4 * 1024 * 1024,
      ids,
      (o) => !o.includes(ids[0]),
    )
    const [doomed, survivor] = owners.map((id) => relays[ids.indexOf(id)])
    const source = testInfo.outputPath(name)
    await writeFile(source, data)

    const seeder = await browser.newContext({ baseURL: home.url })
    const leecher = await browser.newContext({ baseURL: home.url })
    contexts.push(seeder, leecher)

    const a = await seeder.newPage()
    const shareUrl = await share(a, source)
    expect(new URL(shareUrl).hash).toContain(`#/t/${infoHash}?`)
    await networkView(a)
    await expect(trackersOf(a, infoHash)).toHaveText(
      [tracker(doomed), tracker(survivor)].map((t) => new RegExp(t)),
    )

    // The first owner dies before B arrives: B must find A through the other one.
    await doomed.stop('SIGKILL')
    const b = await leecher.newPage()
    await b.goto(shareUrl)
    await expect(b.getByRole('heading', { level: 1 })).toHaveText(name)
    await saveAndCompare(b, name, data)

    // Both move off the dead owner: the hash's owners are now the survivor and the next one.
    const after = rendezvousOwners(infoHash, [ids[0], ids[relays.indexOf(survivor)]]).map((id) =>
      tracker(relays[ids.indexOf(id)]),
    )
    for (const page of [a, b]) {
      await networkView(page)
      await expect(trackersOf(page, infoHash)).toHaveText(
        after.map((t) => new RegExp(t)),
        {
          timeout: 30_000,
        },
      )
    }
    // A announced to the dead owner (checked above), so it moved because it stopped answering.
    // (B may have come after `home` dropped the dead owner, and then never announced there.)
    await expect(a.getByTestId('torrent-moved')).toHaveAttribute('data-reason', 'down')
    await shot(b, testInfo, 'failover-leecher-network')
  } finally {
    await Promise.all(contexts.map((c) => c.close()))
    await Promise.all(relays.map((r) => r.stop()))
  }
})
