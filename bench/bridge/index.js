// bridge: bridged throughput, classic client (aria2) → relay's bridge → browser, beside direct
// browser → browser over WebRTC, in the same run, same size, same relay (issue 6).
//
//   npm run bench -- bridge
//   MONSOON_BENCH_BRIDGE_MIB=N         another size (default 64)
//   MONSOON_BENCH_BRIDGE_ROUNDS=N      rounds of each, interleaved; medians reported (default 2)
//   CHROMIUM_PATH=/path/to/chromium    another browser (default /usr/bin/chromium)
//   MONSOON_BENCH_PROFILE=DIR          run the relay under node --cpu-prof, profile into DIR
//
// One relay started with --bridge on 127.0.0.1. Pages are two contexts of one headless
// Chromium on the relay's origin (its /health document) running the stock WebTorrent bundle
// (webtorrent/dist/webtorrent.min.js, as the app does), announcing to the relay's WebSocket
// tracker; the data is random bytes made in the seeding page or on disk for aria2.
// Throughput is MiB/s from a page's first peer connection to its `done`; the seconds from
// `add` to that connection (finding and reaching a peer) are reported apart (`*ConnectS`).
//  - direct: page A seeds, page B downloads.
//  - bridged (cold): aria2 seeds with the relay's /announce as its only tracker; POST
//    /v1/bridge/:infohash, and page C adds the hash at once, so the bridge's own download
//    from aria2 is inside the figure.
//    `bridgeFromClassicS`: when the bridge itself held every piece (from GET /v1/bridge);
//    `bridgedWallS`: from the request to the page's done. Both sides' traces go to stderr.
//  - bridged (warm): page D downloads the same hash again, from the bridge alone.
// Each download's sha256 is checked against the source. Prints one JSON line on stdout.

import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import bencode from 'bencode'
import createTorrent from 'create-torrent'
import { chromium } from 'playwright-core'
import { ProcessGroup, freePort, note, withDeadline } from '../lib/processes.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const MIB = Number(process.env.MONSOON_BENCH_BRIDGE_MIB ?? 64)
const BYTES = MIB * 1024 * 1024
const TRANSFER_TIMEOUT_MS = 10 * 60_000
/** Rounds of each transfer, interleaved; the median is reported (the machine is shared). */
const ROUNDS = Number(process.env.MONSOON_BENCH_BRIDGE_ROUNDS ?? 2)

const procs = new ProcessGroup()
const dirs = []
let browser = null
const cleanup = async () => {
  await browser?.close().catch(() => undefined)
  await procs.stopAll()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => void cleanup().then(() => process.exit(130)))
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex')
const round = (x) => Number(x.toFixed(2))

async function startRelay(dataDir) {
  const profile = process.env.MONSOON_BENCH_PROFILE
  const child = procs.spawn('relay', process.execPath, [
    ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []),
    join(ROOT, 'relay', 'bin.js'),
    ...['--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'info'],
    '--bridge',
  ])
  const port = await withDeadline(
    new Promise((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        try {
          const entry = JSON.parse(line)
          if (entry.msg === 'listening') resolve(entry.port)
        } catch {
          // Not a log line.
        }
      })
    }),
    60_000,
    'relay "listening"',
  )
  relayPid = child.pid
  return `http://127.0.0.1:${port}`
}

let relayPid = 0

/** CPU seconds (user + system, all threads) the relay has used so far (Linux /proc). */
function relayCpuSeconds() {
  try {
    const fields = readFileSync(`/proc/${relayPid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return NaN
  }
}

/** aria2 seeding `file` (its torrent announcing only to the relay), on loopback only. */
async function aria2Seed(dir, torrentPath) {
  if (spawnSync('aria2c', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('aria2c is not installed (apt-get install aria2)')
  }
  return procs.spawn(
    'aria2',
    'aria2c',
    [
      '--no-conf=true',
      '--enable-dht=false',
      '--enable-dht6=false',
      '--bt-enable-lpd=false',
      '--enable-peer-exchange=false',
      '--interface=127.0.0.1',
      '--disable-ipv6=true',
      '--summary-interval=0',
      '--console-log-level=warn',
      '--file-allocation=none',
      '--bt-tracker-interval=3',
      '--check-integrity=true',
      '--seed-ratio=0.0',
      `--dir=${dir}`,
      `--listen-port=${await freePort()}`,
      torrentPath,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
}

/** A page on the relay's origin with the stock WebTorrent bundle as `window.WebTorrent`. */
async function webtorrentPage(relay) {
  const page = await (await browser.newContext()).newPage()
  await page.goto(`${relay}/health`)
  const bundle = readFileSync(join(ROOT, 'node_modules/webtorrent/dist/webtorrent.min.js'), 'utf8')
  await page.addScriptTag({
    type: 'module',
    content: bundle.replace(/export\{(\w+) as default\};?/, 'window.WebTorrent=$1;'),
  })
  await page.waitForFunction(() => typeof window.WebTorrent === 'function')
  return page
}

/** Downloads `infoHash` in `page`; resolves with seconds from the first peer connection to
 * done (the transfer), seconds from add to that connection (finding and reaching a peer),
 * the sha256, and a trace sampled every 500 ms (ms since add, MiB, peers, metadata ready,
 * HAVE messages received, requests in flight) that shows where a slow transfer waited. */
function download(page, infoHash, tracker) {
  return withDeadline(
    page.evaluate(
      ({ infoHash, tracker }) =>
        new Promise((resolve, reject) => {
          const client = new window.WebTorrent({ tracker: { rtcConfig: { iceServers: [] } } })
          client.on('error', (err) => reject(new Error(String(err))))
          const t0 = performance.now()
          let connected = 0
          const torrent = client.add(infoHash, { announce: [tracker] })
          let ready = 0
          torrent.once('wire', () => (connected = performance.now()))
          torrent.once('ready', () => (ready = performance.now()))
          const trace = []
          let haves = 0
          torrent.on('wire', (w) => w.on('have', () => haves++))
          const sampler = setInterval(
            () =>
              trace.push([
                Math.round(performance.now() - t0),
                Math.round(torrent.downloaded / 1048576),
                torrent.numPeers,
                torrent.ready ? 1 : 0,
                haves,
                torrent.wires.reduce((n, w) => n + w.requests.length, 0),
              ]),
            500,
          )
          torrent.on('done', async () => {
            const now = performance.now()
            clearInterval(sampler)
            const seconds = (now - connected) / 1000
            const connectSeconds = (connected - t0) / 1000
            const metadataSeconds = (ready - connected) / 1000
            const bytes = new Uint8Array(await torrent.files[0].arrayBuffer())
            const digest = await crypto.subtle.digest('SHA-256', bytes)
            const hex = [...new Uint8Array(digest)]
              .map((b) => b.toString(16).padStart(2, '0'))
              .join('')
            resolve({ seconds, connectSeconds, metadataSeconds, sha256: hex, trace })
          })
        }),
      { infoHash, tracker },
    ),
    TRANSFER_TIMEOUT_MS,
    'download',
  )
}

try {
  const dataDir = mkdtempSync(join(tmpdir(), 'monsoon-bench-bridge-'))
  dirs.push(dataDir)
  const relay = await startRelay(dataDir)
  const tracker = relay.replace(/^http/, 'ws') + '/'
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
    ],
  })

  const mibps = (r) => MIB / r.seconds
  const rounds = {
    direct: [],
    bridged: [],
    warm: [],
    relayCpuPerWarm: [],
    directConnectS: [],
    bridgedConnectS: [],
    warmConnectS: [],
    // From the first connection to the metadata (ut_metadata from the peer): part of each
    // transfer's seconds.
    directMetadataS: [],
    bridgedMetadataS: [],
    warmMetadataS: [],
    // Cold: seconds from the bridge request until the bridge held every piece from aria2, and
    // until the browser was done (its transfer plus finding the bridge).
    bridgeFromClassicS: [],
    bridgedWallS: [],
  }
  for (let round = 1; round <= ROUNDS; round++) {
    note(`bridge: round ${round}/${ROUNDS}: direct browser → browser, ${MIB} MiB`)
    const direct = await directRound(relay, tracker)
    rounds.direct.push(mibps(direct))
    note(`bridge: round ${round}/${ROUNDS}: aria2 → bridge → browser, then bridge → browser`)
    const { cold, warm } = await bridgedRound(relay, tracker, round)
    rounds.bridged.push(mibps(cold))
    rounds.warm.push(mibps(warm))
    rounds.directConnectS.push(direct.connectSeconds)
    rounds.bridgedConnectS.push(cold.connectSeconds)
    rounds.warmConnectS.push(warm.connectSeconds)
    rounds.directMetadataS.push(direct.metadataSeconds)
    rounds.bridgedMetadataS.push(cold.metadataSeconds)
    rounds.warmMetadataS.push(warm.metadataSeconds)
    rounds.bridgeFromClassicS.push(cold.classicSeconds)
    rounds.bridgedWallS.push(cold.wallSeconds)
    rounds.relayCpuPerWarm.push(warm.relayCpu / warm.seconds)
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const direct = median(rounds.direct)
  const bridged = median(rounds.bridged)
  const warm = median(rounds.warm)
  const out = {
    bench: 'bridge',
    mib: MIB,
    rounds: ROUNDS,
    bridged_mib_per_s: round(bridged),
    bridged_warm_mib_per_s: round(warm),
    direct_mib_per_s: round(direct),
    ratio: round(bridged / direct),
    // Cores the relay kept busy while it alone served a browser (warm): 1.0 is one full core.
    relay_cores_warm: round(median(rounds.relayCpuPerWarm)),
    warm_ratio: round(warm / direct),
    target_ratio: 0.8,
    each: Object.fromEntries(Object.entries(rounds).map(([k, xs]) => [k, xs.map(round)])),
  }
  process.stdout.write(JSON.stringify(out) + '\n')
} catch (err) {
  note(`bridge: ${err.stack ?? err}`)
  process.exitCode = 1
} finally {
  await cleanup()
}

/** BEP 3: the info hash is the SHA-1 of the bencoded info dictionary. */
function sha1Info(torrent) {
  const { info } = bencode.decode(torrent)
  return createHash('sha1').update(bencode.encode(info)).digest('hex')
}

/** Waits until the relay's scrape counts a complete peer (aria2 checked its data). */
async function waitForClassicSeed(relay, infoHash) {
  const escaped = infoHash.replace(/../g, '%$&')
  await withDeadline(
    (async () => {
      for (;;) {
        const body = Buffer.from(
          await (await fetch(`${relay}/scrape?info_hash=${escaped}`)).arrayBuffer(),
        )
        const files = bencode.decode(body).files ?? {}
        const entry = Object.values(files)[0]
        if (entry?.complete > 0) return
        await new Promise((r) => setTimeout(r, 200))
      }
    })(),
    120_000,
    'aria2 seeding',
  )
}

/** Page A seeds random bytes it makes itself; page B downloads them. */
async function directRound(relay, tracker) {
  const seeder = await webtorrentPage(relay)
  try {
    const seeded = await seeder.evaluate(
      ({ size, tracker }) =>
        new Promise((resolve) => {
          const data = new Uint8Array(size)
          for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536))
          const client = new window.WebTorrent({ tracker: { rtcConfig: { iceServers: [] } } })
          client.seed(new File([data], 'direct.bin'), { announce: [tracker] }, async (torrent) => {
            const digest = await crypto.subtle.digest('SHA-256', data)
            const hex = [...new Uint8Array(digest)]
              .map((b) => b.toString(16).padStart(2, '0'))
              .join('')
            resolve({ infoHash: torrent.infoHash, sha256: hex })
          })
        }),
      { size: BYTES, tracker },
    )
    const leecher = await webtorrentPage(relay)
    const result = await download(leecher, seeded.infoHash, tracker)
    await leecher.context().close()
    if (result.sha256 !== seeded.sha256) throw new Error('direct download: sha256 differs')
    return result
  } finally {
    await seeder.context().close()
  }
}

/** Polls the relay's bridge list while a cold download runs: the seconds from `t0` until the
 * bridge itself held the whole torrent (its download from aria2), NaN if never seen. */
function watchBridge(relay, infoHash, t0) {
  let doneAt = NaN
  let stopped = false
  const trace = []
  const poll = (async () => {
    while (!stopped && Number.isNaN(doneAt)) {
      try {
        const body = await (await fetch(`${relay}/v1/bridge`)).json()
        const held = body.torrents.find((t) => t.infoHash === infoHash)
        if (held)
          trace.push([
            Math.round(performance.now() - t0),
            Math.round(held.progress * 100),
            held.peers.classic,
            held.peers.webrtc,
            held.state,
          ])
        if (held?.progress === 1) doneAt = performance.now()
      } catch {
        // The relay is busy or restarting: try again.
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  return {
    async stop() {
      stopped = true
      await poll
      note(`bridge: bridge, cold [ms, %, classic, webrtc, state]: ${JSON.stringify(trace)}`)
      return (doneAt - t0) / 1000
    },
  }
}

/** aria2 seeds new random bytes; the bridge is asked for the hash as a page adds it (cold);
 * then another page downloads it from the bridge alone (warm). */
async function bridgedRound(relay, tracker, n) {
  const dir = mkdtempSync(join(tmpdir(), 'monsoon-bench-aria2-'))
  dirs.push(dir)
  const data = randomBytes(BYTES)
  const file = join(dir, `bridged-${n}.bin`)
  writeFileSync(file, data)
  const torrent = await new Promise((resolve, reject) =>
    createTorrent(
      file,
      { announceList: [[`${relay}/announce`]], urlList: [], createdBy: 'monsoon-bench' },
      (err, t) => (err ? reject(err) : resolve(t)),
    ),
  )
  writeFileSync(join(dir, 'bridged.torrent'), torrent)
  const infoHash = sha1Info(torrent)
  const aria2 = await aria2Seed(dir, join(dir, 'bridged.torrent'))
  try {
    await waitForClassicSeed(relay, infoHash)
    const page = await webtorrentPage(relay)
    const res = await fetch(`${relay}/v1/bridge/${infoHash}`, { method: 'POST', body: torrent })
    if (!res.ok) throw new Error(`POST /v1/bridge: ${res.status} ${await res.text()}`)
    const t0 = performance.now()
    const classic = watchBridge(relay, infoHash, t0)
    const cold = await download(page, infoHash, tracker)
    cold.classicSeconds = await classic.stop()
    cold.wallSeconds = (performance.now() - t0) / 1000
    note(
      `bridge: browser, cold [ms, MiB, peers, ready, haves, requests]: ${JSON.stringify(cold.trace)}`,
    )
    await page.context().close()
    if (cold.sha256 !== sha256(data)) throw new Error('bridged download: sha256 differs')
    const again = await webtorrentPage(relay)
    const cpu0 = relayCpuSeconds()
    const warm = await download(again, infoHash, tracker)
    warm.relayCpu = relayCpuSeconds() - cpu0
    await again.context().close()
    if (warm.sha256 !== sha256(data)) throw new Error('warm bridged download: sha256 differs')
    return { cold, warm }
  } finally {
    await procs.stop(aria2)
  }
}
