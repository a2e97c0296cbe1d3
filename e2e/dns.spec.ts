// Finding the network through DNS alone (issue 5), with four real relays on loopback:
// B, C and D are peered, and B answers the zone over DNS-over-HTTPS. Relay A is started
// knowing nothing but B's DoH endpoint and the zone's name (no --peer): it looks the zone
// up, joins, and so learns C and D. A browser served by A sees C and D in its Network view,
// found by DNS, and downloads a file from a browser seeding through C, on a torrent whose
// owners (rendezvous hashing over the four) are C and D.

import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { checkSupernodes } from '../app/lib/network.ts'
import { rendezvousOwners } from '../shared/rendezvous.ts'
import { expect, shot, test } from './fixtures.ts'
import { freePort, relayNodeId, startRelay, type RunningRelay } from './relay.ts'
import { infoHashOf, sha256 } from './sharing.ts'

const ZONE = 'monsoon.test'
const FAST = ['--local-network', '--supernode-poll-interval', '1', '--ws-announce-interval', '2']

async function relay(...args: string[]): Promise<RunningRelay> {
  return startRelay({ port: await freePort(), args: [...FAST, ...args] })
}

/** The supernodes a relay lists that a browser takes (admitted ones: app/lib/network.ts). */
async function supernodeIds(r: RunningRelay): Promise<string[]> {
  const body: unknown = await (await fetch(`${r.url}/v1/supernodes`)).json()
  const { records } = checkSupernodes(body, Math.floor(Date.now() / 1000))
  return records.map((s) => s.id).sort()
}

test('a relay that knows only a DoH endpoint and a zone joins, and its browser downloads through supernodes found by DNS', async ({
  browser,
}, testInfo) => {
  const relays: RunningRelay[] = []
  const contexts = []
  try {
    const b = await relay('--dns-zone', ZONE)
    relays.push(b)
    const c = await relay('--peer', b.url)
    const d = await relay('--peer', b.url)
    relays.push(c, d)
    // B's zone names C and D once they have joined B: A's first DNS lookup must find all three
    // (else A may hear of C or D from B first, and list it as found through a peer).
    const bcd = await Promise.all([b, c, d].map((r) => relayNodeId(r.url)))
    await expect.poll(() => supernodeIds(b), { timeout: 60_000 }).toEqual([...bcd].sort())
    const a = await relay('--dns-zone', ZONE, '--doh-endpoint', `${b.url}/dns-query`)
    relays.push(a)
    const ids = await Promise.all([a, b, c, d].map((r) => relayNodeId(r.url)))
    const all = [...ids].sort()
    // Every relay comes to list all four: A found B, C and D through B's zone, and told them.
    for (const r of relays) {
      await expect.poll(() => supernodeIds(r), { timeout: 60_000 }).toEqual(all)
    }

    // A torrent whose two owners are C and D: the seeder joins through C.
    const name = 'through-dns.bin'
    let data: Buffer
    do data = randomBytes(2 * 1024 * 1024)
    while (
      !rendezvousOwners(infoHashOf(name, data), ids).every((id) => id === ids[2] || id === ids[3])
    )
    const source = testInfo.outputPath(name)
    await writeFile(source, data)

    const seeder = await browser.newContext({ baseURL: c.url })
    const leecher = await browser.newContext({ baseURL: a.url })
    contexts.push(seeder, leecher)
    const s = await seeder.newPage()
    await s.goto('/#/add')
    await s.getByLabel('Choose files').setInputFiles(source)
    await s.getByLabel('List it in the index').uncheck()
    await s.getByRole('button', { name: 'Share', exact: true }).click()
    const field = s.getByTestId('share-url')
    await expect(field).toHaveValue(/#\/t\/[0-9a-f]{40}\?/, { timeout: 120_000 })
    const shareUrl = await field.inputValue()
    await expect(s.getByTestId('phase')).toHaveText('Seeding')

    // The page served by A: its Network view lists C and D, which A found through DNS.
    const l = await leecher.newPage()
    await l.goto('/#/network')
    for (const r of [b, c, d]) {
      await expect(
        l.locator(`[data-testid="discovery-route"][data-url="${r.url}"]`),
      ).toHaveAttribute('data-route', 'dns')
    }
    await expect(l.locator(`[data-testid="discovery-route"][data-url="${a.url}"]`)).toHaveAttribute(
      'data-route',
      'self',
    )
    await shot(l, testInfo, 'dns-network-view')

    // The page may resolve through another relay's DoH endpoint (the app's DoH client does
    // when its relay knows too few): GET, and POST after a CORS preflight, both readable.
    const query = Buffer.from(
      '0000010000010000000000000b5f73757065726e6f646573076d6f6e736f6f6e04746573740000100001',
      'hex',
    )
    const answers = await l.evaluate(
      async ({ endpoint, bytes }) => {
        const body = new Uint8Array(bytes)
        const b64 = btoa(String.fromCharCode(...body))
          .replace(/\+/g, '-')
          .replace(/\//g, '_')
          .replace(/=+$/, '')
        const get = await fetch(`${endpoint}?dns=${b64}`)
        const post = await fetch(endpoint, {
          method: 'POST',
          headers: { 'Content-Type': 'application/dns-message' },
          body,
        })
        const text = async (r: Response) => new TextDecoder().decode(await r.arrayBuffer())
        return [
          [get.status, get.headers.get('content-type'), await text(get)],
          [post.status, post.headers.get('content-type'), await text(post)],
        ]
      },
      { endpoint: `${b.url}/dns-query`, bytes: [...query] },
    )
    for (const [status, type, body] of answers) {
      expect(status).toBe(200)
      expect(type).toBe('application/dns-message')
      for (const r of [b, c, d]) expect(body).toContain(r.url)
    }

    // And it downloads the file from the browser seeding through C.
    await l.goto(`/${new URL(shareUrl).hash}`)
    const save = l.getByRole('button', { name: `Save ${name}` })
    await expect(save).toBeEnabled({ timeout: 180_000 })
    const [download] = await Promise.all([l.waitForEvent('download'), save.click()])
    const saved = await readFile(await download.path())
    expect(sha256(saved)).toBe(sha256(data))
  } finally {
    await Promise.all(contexts.map((x) => x.close()))
    await Promise.all(relays.map((r) => r.stop()))
  }
})
