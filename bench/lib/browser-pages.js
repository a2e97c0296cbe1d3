// Browser parts for the WebRTC transfer benchmarks (transfer, swarm): the page in
// bench/transfer/page built with Vite and served on 127.0.0.1 (a secure context, for
// WebCrypto), one headless Debian Chromium, each part (seeder, leecher, channel end) apart
// from the others (its own origin, or its own context: BROWSERS) so no state is shared but
// the browser, and the raw data-channel ceiling.

import { execFileSync } from 'node:child_process'
import { createServer } from 'node:http'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { build } from 'vite'
import { note, sleep, withDeadline } from './processes.js'
import { startRelay } from './servers.js'
import { CHROMIUM } from '../../scripts/chromium.js'

export const MIB = 1024 * 1024
const PAGE = fileURLToPath(new URL('../transfer/page', import.meta.url))
/** Signalling and opening a channel on loopback takes well under a second. */
const CONNECT_DEADLINE_MS = 30_000
/** Making the bytes and the torrent (hashing on the page's thread runs at ~50 MiB/s). */
const seedDeadlineMs = (bytes) => 60_000 + (bytes / MIB) * 500
/** Hashing a download back with WebCrypto. */
const VERIFY_DEADLINE_MS = 120_000

/** Builds the page into `outDir`. */
export async function buildPage(outDir) {
  await build({
    configFile: false,
    root: PAGE,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
    worker: { format: 'es' },
  })
}

/** Serves `dir` on 127.0.0.1; resolves with the server and the page's URL. */
export function servePage(dir) {
  const types = { '.html': 'text/html', '.js': 'text/javascript' }
  const server = createServer((req, res) => {
    if (req.url === '/favicon.ico') return res.writeHead(204).end()
    const path = normalize(join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname)))
    if (!path.startsWith(dir)) return res.writeHead(403).end()
    try {
      const body = readFileSync(path.endsWith('/') ? join(path, 'index.html') : path)
      res.writeHead(200, { 'Content-Type': types[extname(path) || '.html'] ?? 'text/plain' })
      res.end(body)
    } catch {
      res.writeHead(404).end()
    }
  })
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${server.address().port}/` }),
    ),
  )
}

/** Debian's Chromium, headless, as every browser benchmark launches it (scripts/chromium.js,
 * shared with the end-to-end tests). */
export { CHROMIUM }

export function launchChromium() {
  return chromium.launch(CHROMIUM)
}

/**
 * What the transfer and swarm benchmarks run their parts in (seeder, leechers, the ceiling's
 * channel ends; ceiling and both clients alike), from MONSOON_BENCH_BROWSERS:
 * - `profile` (the default): one Chromium with an ordinary on-disk profile, as a user runs
 *   one; each part a page of an origin of its own (`partN.localhost`: Chromium resolves
 *   *.localhost to loopback and treats it as a secure context), so parts share nothing but
 *   the browser, as separate contexts would.
 * - `private`: an off-the-record context per part in one Chromium (Playwright's
 *   newContext), what the benchmarks ran in before. There Chromium keeps OPFS in the browser
 *   process's memory and sends it every write: a 256 MiB download into OPFS costs ~3 CPU-s
 *   more than in a normal profile on this 2-core machine, which no user's normal window pays.
 */
export const BROWSERS = process.env.MONSOON_BENCH_BROWSERS || 'profile'
if (!['profile', 'private'].includes(BROWSERS)) {
  throw new RangeError(`MONSOON_BENCH_BROWSERS must be profile or private, not ${BROWSERS}`)
}

export const browsersNote = () =>
  BROWSERS === 'profile'
    ? 'one Chromium, on-disk profile, an origin per part (MONSOON_BENCH_BROWSERS=profile)'
    : 'off-the-record contexts of one Chromium (MONSOON_BENCH_BROWSERS=private)'

/** A browser of the kind BROWSERS names: newContext() gives a part, whose `partUrl` (when
 * it has one) is where its page must go. */
export const launchBrowser = () =>
  BROWSERS === 'profile' ? launchProfileBrowser() : launchChromium()

/** Pages of a profile browser: each part's page is closed on its own (closing its context
 * would close the whole browser). */
const profilePages = new WeakSet()

/** One Chromium on a fresh on-disk profile, standing in for a Browser where the benchmarks
 * use one: newContext() gives a part (its own origin) and close() ends it all. */
export async function launchProfileBrowser() {
  const dir = mkdtempSync(join(tmpdir(), 'monsoon-bench-profile-'))
  const context = await chromium.launchPersistentContext(dir, CHROMIUM).catch((err) => {
    rmSync(dir, { recursive: true, force: true })
    throw err
  })
  let parts = 0
  return {
    async newContext() {
      const part = ++parts
      return {
        partUrl: (url) => url.replace('//127.0.0.1:', `//part${part}.localhost:`),
        async newPage() {
          const page = await context.newPage()
          profilePages.add(page)
          return page
        },
      }
    },
    async close() {
      await context.close().catch(() => undefined)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * What the transfer and swarm benchmarks run in: the page built and served, a relay whose
 * WebSocket tracker the torrents announce to (in `procs`, stopped with it), and one Chromium.
 * `freshBrowser()` replaces that Chromium with a new one (after the kernel has written back
 * what the last one left dirty): each measurement starts in a fresh
 * browser, because one browser carries a measurement's leftovers into the next: ours ran at
 * 20.6 MiB/s as a browser's first transfer and 16.4 after a stock transfer in it (likely
 * cause: Playwright's contexts are off the record, and their OPFS files live in the browser
 * process's memory). `close()` takes down the browser and the page's server and deletes the
 * build.
 */
export async function benchSession(procs, bench) {
  const dir = mkdtempSync(join(tmpdir(), `monsoon-bench-${bench}-`))
  let server = null
  const session = {
    url: '',
    tracker: '',
    browser: null,
    async freshBrowser() {
      await session.browser?.close().catch(() => undefined)
      session.browser = null
      // What the last measurement wrote to disk (its profile's OPFS files: hundreds of MiB)
      // is written back now, not during the next one.
      execFileSync('sync')
      session.browser = await launchBrowser()
      return session.browser
    },
    async close() {
      await session.browser?.close().catch(() => undefined)
      server?.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  try {
    note(`${bench}: building the bench page`)
    await buildPage(join(dir, 'page'))
    const relay = await startRelay(procs)
    session.tracker = `ws://127.0.0.1:${relay.port}/`
    const served = await servePage(join(dir, 'page'))
    server = served.server
    session.url = served.url
    await session.freshBrowser()
    return session
  } catch (err) {
    await session.close()
    throw err
  }
}

/** The page as a part of its own (its own context, or its own origin in a profile
 * browser), ready (`window.bench`); its errors go to stderr. */
export async function openPart(browser, url, label) {
  const context = await browser.newContext()
  const page = await context.newPage()
  page.on('pageerror', (err) => note(`${label}: page error: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error') note(`${label}: console: ${msg.text()}`)
  })
  await page.goto(context.partUrl?.(url) ?? url)
  await page.waitForFunction(() => window.bench !== undefined)
  return page
}

export const closePart = (page) =>
  profilePages.has(page)
    ? page.close().catch(() => undefined)
    : page
        ?.context()
        .close()
        .catch(() => undefined)

/**
 * The raw ceiling: `bytes` over one RTCDataChannel between two fresh parts, in
 * `messageBytes` messages with at most `highWater` bytes waiting in the sender's buffer.
 * Timed from the first send() to the last byte received. Resolves with seconds, and the
 * milliseconds until the first tenth of the bytes arrived (`to_tenth_ms`: an early stall of
 * the channel shows there).
 */
export async function measureCeiling(browser, url, { bytes, messageBytes, highWater }) {
  const sender = await openPart(browser, url, 'ceiling sender')
  const receiver = await openPart(browser, url, 'ceiling receiver')
  try {
    const offer = await sender.evaluate((size) => window.bench.ceilingOffer(size), bytes)
    const answer = await receiver.evaluate(
      ([o, size]) => window.bench.ceilingAnswer(o, size),
      [offer, bytes],
    )
    await withDeadline(
      sender.evaluate((a) => window.bench.ceilingConnect(a), answer),
      CONNECT_DEADLINE_MS,
      'ceiling: opening the data channel',
    )
    const received = receiver.evaluate(() => window.bench.ceilingReceived())
    received.catch(() => undefined)
    const deadline = transferDeadlineMs(bytes)
    const { startAt } = await withDeadline(
      sender.evaluate(([m, h]) => window.bench.ceilingSend(m, h), [messageBytes, highWater]),
      deadline,
      'ceiling: sending',
    )
    const { tenthAt, endAt } = await withDeadline(received, deadline, 'ceiling: receiving')
    return { seconds: (endAt - startAt) / 1000, to_tenth_ms: since(startAt, tenthAt) }
  } finally {
    await closePart(sender)
    await closePart(receiver)
  }
}

/** The longest one transfer of `bytes` may take: two minutes to connect, then at least
 * 0.25 MiB/s (5 MiB/s is typical on a busy 2-core machine). A download that stops moving is
 * caught much sooner (STALL_MS). */
export const transferDeadlineMs = (bytes) => 120_000 + (bytes / MIB) * 4000
/** A download that has received nothing for this long is stuck. */
const STALL_MS = 60_000
const STALL_POLL_MS = 2000

const describe = (at) =>
  at
    ? ` (at ${(at.progress * 100).toFixed(1)}%, ${(at.received / MIB).toFixed(1)} MiB` +
      ` received, ${at.peers} peers)`
    : ''

/** Seeds `size` random bytes in `page` with a client of `kind` (page/torrent.js seed()). */
export async function seedIn(page, { kind, size, tracker, name }) {
  const seeded = await withDeadline(
    page.evaluate((o) => window.bench.seed(o), { kind, size, tracker, name }),
    seedDeadlineMs(size),
    `${kind} seeding ${size / MIB} MiB`,
  )
  if (!seeded.announced) note(`${kind} seeder: no tracker answer yet, leechers let in anyway`)
  return seeded
}

const statusOf = (page) =>
  withDeadline(
    page.evaluate(() => window.bench.status()),
    5000,
    'status',
  ).catch(() => null)

/** Downloads in `page` until done (page/torrent.js leech()). A download that receives nothing
 * for STALL_MS, or outlives its deadline, is an error that says how far it got. */
export async function leechIn(page, { kind, magnetURI, tracker, size, what }) {
  const done = page.evaluate((o) => window.bench.leech(o), { kind, magnetURI, tracker })
  done.catch(() => undefined)
  let watching = true
  const stalled = (async () => {
    let last = -1
    let since = Date.now()
    while (watching) {
      await sleep(STALL_POLL_MS)
      const at = await statusOf(page)
      if (!watching) return
      // Bytes off the wire or verified: either moving is progress.
      const moved = (at?.received ?? 0) + (at?.downloaded ?? 0)
      if (moved !== last) {
        last = moved
        since = Date.now()
      } else if (Date.now() - since > STALL_MS) {
        throw new Error(`${what}: nothing received for ${STALL_MS / 1000} s${describe(at)}`)
      }
    }
  })()
  try {
    return await withDeadline(Promise.race([done, stalled]), transferDeadlineMs(size), what)
  } catch (err) {
    if (!err.message.includes('nothing received')) err.message += describe(await statusOf(page))
    throw err
  } finally {
    watching = false
  }
}

/** Checks the download in `page` against the seeder's SHA-256. */
export async function verifyIn(page, sha256, what) {
  const got = await withDeadline(
    page.evaluate(() => window.bench.verify()),
    VERIFY_DEADLINE_MS,
    `${what}: hashing the download`,
  )
  if (got !== sha256) throw new Error(`${what}: downloaded SHA-256 ${got}, seeded ${sha256}`)
}

/** The median (the mean of the middle two for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

export const round = (x, d = 2) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null)

/** Milliseconds from `from` to `to`, or null when `to` never happened. */
export const since = (from, to) => (to === null || to === undefined ? null : round(to - from, 0))

/** A positive integer from the environment, or `fallback`; anything else is refused. */
export function envInt(name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`${name} must be a positive integer`)
  return n
}
