// One Chromium inside a NAT lab namespace (e2e/nat/lab.ts starts it with `ip netns exec NS
// node --import tsx e2e/nat/driver.ts …`), driving the app as a user does, and printing JSON
// lines on stdout for the test that started it:
//
//   --role seed   shares a generated file through the Share page, prints
//                 {event:'shared', shareUrl, sha256, bytes}, opens the torrent's page and
//                 stays there, printing {event:'path', …} whenever its peers' paths change;
//   --role fetch  opens --share-url, waits for the first byte and for the whole file, saves
//                 it and prints {event:'done', sha256, bytes, ttfbMs, totalMs, …}, then
//                 keeps printing paths like the seeder.
//
// A path line carries what the torrent view shows (`ui`: data-path of each
// [data-testid=peer-row] [data-testid=peer-path]; null when the view has no peer rows
// at all) and what Chromium itself reports for each connected RTCPeerConnection (`stats`:
// the selected candidate pair, read through getStats() from a hook installed before the
// app's scripts run), classified the same way: host, srflx, relay-udp, relay-tcp,
// relay-tls, remote-relay, tcp or unknown.
//
// It quits when its stdin closes (or on SIGTERM), removing its profile.

import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { CHROMIUM } from '../../scripts/chromium.js'

const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    origin: { type: 'string' },
    'share-url': { type: 'string' },
    dir: { type: 'string' },
    'size-mib': { type: 'string', default: '4' },
    name: { type: 'string', default: 'nat sample.bin' },
    tls: { type: 'boolean', default: false },
    'timeout-ms': { type: 'string', default: '60000' },
  },
})

const role = values.role
const origin = values.origin!
const dir = values.dir!
const timeoutMs = Number(values['timeout-ms'])

function emit(event: string, fields: Record<string, unknown> = {}) {
  process.stdout.write(JSON.stringify({ event, role, t: Date.now(), ...fields }) + '\n')
}

// The page-side code is kept as source text: tsx (esbuild's keepNames) would wrap functions
// passed to page.evaluate in a __name() helper the page does not have.

/** Installed before the app's scripts: keeps every RTCPeerConnection the page makes. */
const HOOK = `(() => {
  const Native = window.RTCPeerConnection
  if (!Native || window.__natPcs) return
  const pcs = []
  window.__natPcs = pcs
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args)
      pcs.push(this)
    }
  }
})()`

/** The selected candidate pair of every connected peer connection in the page. */
const READ_PAIRS = `(async () => {
  const out = []
  for (const pc of window.__natPcs ?? []) {
    if (pc.connectionState !== 'connected') continue
    const stats = await pc.getStats()
    let pair
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId)
    })
    if (!pair) {
      stats.forEach((s) => {
        if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s
      })
    }
    if (!pair) continue
    const pick = (c) => ({
      type: c?.candidateType,
      protocol: c?.protocol,
      relayProtocol: c?.relayProtocol,
      address: c?.address,
      port: c?.port,
      url: c?.url,
    })
    out.push({
      local: pick(stats.get(pair.localCandidateId)),
      remote: pick(stats.get(pair.remoteCandidateId)),
      bytesSent: Number(pair.bytesSent ?? 0),
      bytesReceived: Number(pair.bytesReceived ?? 0),
    })
  }
  return out
})()`

interface Pair {
  local: Record<string, unknown>
  remote: Record<string, unknown>
  bytesSent: number
  bytesReceived: number
}

/** Why no peer connected, as far as the page can tell: the ICE servers the relay handed
 * out, each peer connection's state and the kinds of local candidates it gathered. */
const DIAGNOSE = `(async () => {
  const pcs = window.__natPcs ?? []
  const config = await fetch('/v1/config')
    .then((r) => r.json())
    .then((c) => (c.iceServers ?? []).map((s) => s.urls))
    .catch((e) => String(e))
  const kinds = new Set()
  for (const pc of pcs) {
    const stats = await pc.getStats().catch(() => new Map())
    stats.forEach((s) => {
      if (s.type === 'local-candidate') {
        kinds.add([s.candidateType, s.protocol, s.relayProtocol].filter(Boolean).join('/'))
      }
    })
  }
  return {
    relayIceServers: config,
    pcIceServers: [...new Set(pcs.flatMap((pc) => (pc.getConfiguration().iceServers ?? []).map((s) => String(s.urls))))],
    peerConnections: pcs.map((pc) => pc.connectionState + '/' + pc.iceConnectionState),
    localCandidates: [...kinds],
  }
})()`

const readPairs = (page: Page) => page.evaluate(READ_PAIRS) as Promise<Pair[]>

/** The path names the torrent view uses, from a selected pair's two candidates. */
function classify(local: Record<string, unknown>, remote: Record<string, unknown>): string {
  if (local.type === 'relay') {
    const p = String(local.relayProtocol ?? 'udp')
    return ['udp', 'tcp', 'tls'].includes(p) ? `relay-${p}` : 'unknown'
  }
  if (remote.type === 'relay') return 'remote-relay'
  if (local.protocol === 'tcp') return 'tcp'
  if (
    ['srflx', 'prflx'].includes(String(local.type)) ||
    ['srflx', 'prflx'].includes(String(remote.type))
  ) {
    return 'srflx'
  }
  if (local.type === 'host' && remote.type === 'host') return 'host'
  return 'unknown'
}

/** Peer paths as the torrent view shows them: null when it shows no peer rows. */
async function readUiPaths(page: Page): Promise<string[] | null> {
  const rows = page.locator('[data-testid="peer-row"]')
  if ((await rows.count()) === 0) return null
  return rows
    .locator('[data-testid="peer-path"]')
    .evaluateAll((cells) => cells.map((c) => c.getAttribute('data-path') ?? ''))
}

async function paths(page: Page) {
  const pairs = (await readPairs(page)).map((p) => ({ ...p, path: classify(p.local, p.remote) }))
  const ui = await readUiPaths(page).catch(() => null)
  return { stats: pairs, ui }
}

/** Prints a path line whenever the paths change, until the page goes. */
function watchPaths(page: Page) {
  let last = ''
  const tick = async () => {
    try {
      const now = await paths(page)
      const key = JSON.stringify({ s: now.stats.map((p) => p.path), ui: now.ui })
      if (key !== last) {
        last = key
        emit('path', now)
      }
    } catch {
      // The page is closing.
    }
    timer = setTimeout(tick, 500)
  }
  let timer = setTimeout(tick, 0)
  return () => clearTimeout(timer)
}

async function until(what: string, ms: number, check: () => Promise<boolean>) {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`no ${what} after ${ms} ms`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

async function seed(page: Page) {
  const bytes = Number(values['size-mib']) * 1024 * 1024
  const data = randomBytes(bytes)
  const file = join(dir, values.name!)
  writeFileSync(file, data)
  await page.goto(`${origin}/#/add`)
  await page.getByRole('heading', { name: 'Share files' }).waitFor({ timeout: 30_000 })
  await page.getByLabel('Choose files').setInputFiles(file)
  const listIt = page.getByLabel('List it in the index')
  if ((await listIt.count()) > 0) await listIt.uncheck()
  await page.getByRole('button', { name: 'Share', exact: true }).click()
  const field = page.getByTestId('share-url')
  await until('share link', timeoutMs, async () =>
    /#\/t\/[0-9a-f]{40}\?/.test(await field.inputValue().catch(() => '')),
  )
  const shareUrl = await field.inputValue()
  emit('shared', { shareUrl, sha256: createHash('sha256').update(data).digest('hex'), bytes })
  // The torrent's own page, where its peers are listed (a hash change: the tab keeps seeding).
  await page.evaluate((hash) => (location.hash = hash), new URL(shareUrl).hash)
  watchPaths(page)
}

async function fetchShared(page: Page) {
  const shareUrl = values['share-url']!
  const name = new URL(`http://x/?${new URL(shareUrl).hash.split('?')[1] ?? ''}`).searchParams.get(
    'dn',
  )
  const started = Date.now()
  await page.goto(shareUrl)
  const received = page.getByTestId('received')
  await until('first byte', timeoutMs, async () =>
    received
      .getAttribute('data-bytes', { timeout: 100 })
      .then((v) => Number(v) > 0)
      .catch(() => false),
  )
  const ttfbMs = Date.now() - started
  emit('first-byte', { ttfbMs })
  const save = page.getByRole('button', { name: `Save ${name ?? ''}`.trim() })
  await until('complete download', timeoutMs, async () =>
    save.isEnabled({ timeout: 100 }).catch(() => false),
  )
  const totalMs = Date.now() - started
  // Read while the peer is still connected.
  const now = await paths(page)
  const [download] = await Promise.all([page.waitForEvent('download'), save.click()])
  const saved = readFileSync((await download.path())!)
  emit('done', {
    sha256: createHash('sha256').update(saved).digest('hex'),
    bytes: saved.length,
    ttfbMs,
    totalMs,
    ...now,
  })
  watchPaths(page)
}

let context: BrowserContext | undefined
let quitting = false
async function quit(code: number) {
  if (quitting) return
  quitting = true
  await context?.close().catch(() => {})
  rmSync(dir, { recursive: true, force: true })
  process.exit(code)
}
process.stdin.on('end', () => void quit(0))
process.stdin.resume()
process.on('SIGTERM', () => void quit(0))
process.on('SIGINT', () => void quit(0))

try {
  mkdirSync(dir, { recursive: true })
  const args = [...CHROMIUM.args]
  // A page from a plain-HTTP address other than loopback is no secure context (no
  // crypto.subtle, no OPFS): this origin is treated as one, as HTTPS would make it.
  if (origin.startsWith('http:')) args.push(`--unsafely-treat-insecure-origin-as-secure=${origin}`)
  if (values.tls) args.push('--ignore-certificate-errors')
  context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM.executablePath,
    args,
    headless: true,
    acceptDownloads: true,
    ignoreHTTPSErrors: values.tls,
  })
  await context.addInitScript(HOOK)
  const page = context.pages()[0] ?? (await context.newPage())
  page.on('console', (msg) => {
    if (msg.type() === 'error') process.stderr.write(`console: ${msg.text()}\n`)
  })
  page.on('pageerror', (err) => process.stderr.write(`pageerror: ${err.message}\n`))
  emit('launched')
  if (role === 'seed') await seed(page)
  else if (role === 'fetch') await fetchShared(page)
  else throw new Error(`unknown --role ${role}`)
} catch (err) {
  const page = context?.pages()[0]
  const why = page ? await page.evaluate(DIAGNOSE).catch(() => null) : null
  const message = err instanceof Error ? err.message : String(err)
  emit('error', { message: why ? `${message}; page: ${JSON.stringify(why)}` : message })
  await quit(1)
}
