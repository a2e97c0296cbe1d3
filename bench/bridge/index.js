// bridge: bridged throughput, classic client (aria2) → relay's bridge → browser, beside direct
// browser → browser over WebRTC, in the same run, same size, same relay (issue 6).
//
//   npm run bench -- bridge
//   MONSOON_BENCH_BRIDGE_MIB=N         another size (default 64)
//   MONSOON_BENCH_BRIDGE_ROUNDS=N      rounds of each, interleaved; medians reported (default 2)
//   MONSOON_BENCH_BRIDGE_CLIENT=stock  browsers run stock WebTorrent instead of the app's client
//   CHROMIUM_PATH=/path/to/chromium    another browser (default /usr/bin/chromium)
//   MONSOON_BENCH_PROFILE=DIR          run the relay under node --cpu-prof, profile into DIR
//
// One relay started with --bridge on 127.0.0.1. Pages are contexts of one headless Chromium
// running the transfer benchmarks' page (bench/transfer/page, bench/lib/browser-pages.js)
// with the app's own client (createClient, app/lib/engine/client.ts: what users run), announcing to
// the relay's WebSocket tracker; the data is random bytes made in the seeding page or on disk
// for aria2. Throughput is MiB/s from a page's first peer connection to its `done`; the
// seconds from `add` to that connection (finding and reaching a peer) are reported apart
// (`*ConnectS`), and from that connection to the first block of data (`*FirstByteS`: the
// metadata comes first).
//  - direct: page A seeds, page B downloads.
//  - bridged (cold): aria2 seeds with the relay's /announce as its only tracker; POST
//    /v1/bridge/:infohash, and page C adds the hash at once, so the bridge's own download
//    from aria2 is inside the figure.
//    `bridgeFromClassicS`: when the bridge itself held every piece (from GET /v1/bridge);
//    `bridgedWallS`: from the request to the page's done. The bridge's progress goes to stderr.
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
import {
  buildPage,
  closePart,
  launchChromium,
  leechIn,
  openPart,
  seedIn,
  servePage,
  verifyIn,
} from '../lib/browser-pages.js'
import { ProcessGroup, freePort, note, withDeadline } from '../lib/processes.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const MIB = Number(process.env.MONSOON_BENCH_BRIDGE_MIB ?? 64)
const BYTES = MIB * 1024 * 1024
/** Rounds of each transfer, interleaved; the median is reported (the machine is shared). */
const ROUNDS = Number(process.env.MONSOON_BENCH_BRIDGE_ROUNDS ?? 2)

const procs = new ProcessGroup()
const dirs = []
let browser = null
let pageServer = null
const cleanup = async () => {
  await browser?.close().catch(() => undefined)
  pageServer?.close()
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

/** Which client the pages run: the app's (default) or stock WebTorrent. */
const KIND = process.env.MONSOON_BENCH_BRIDGE_CLIENT ?? 'ours'
if (KIND !== 'ours' && KIND !== 'stock') {
  throw new Error('MONSOON_BENCH_BRIDGE_CLIENT must be ours or stock')
}
let pageUrl = ''

/** Downloads `infoHash` in `page`; resolves with seconds from the first peer
 * connection to done (the transfer), from add to that connection (finding and reaching a
 * peer), and from that connection to the first block of data (the metadata first). The bytes
 * are checked against `sha256`. */
async function download(page, infoHash, tracker, sha256, what) {
  const t = await leechIn(page, {
    kind: KIND,
    magnetURI: `magnet:?xt=urn:btih:${infoHash}`,
    tracker,
    size: BYTES,
    what,
  })
  await verifyIn(page, sha256, what)
  return {
    seconds: (t.doneAt - t.connectAt) / 1000,
    connectSeconds: (t.connectAt - t.addAt) / 1000,
    firstByteSeconds: (t.firstByteAt - t.connectAt) / 1000,
  }
}

try {
  const dataDir = mkdtempSync(join(tmpdir(), 'monsoon-bench-bridge-'))
  const relay = await startRelay(dataDir)
  const tracker = relay.replace(/^http/, 'ws') + '/'
  const pageDir = mkdtempSync(join(tmpdir(), 'monsoon-bench-bridge-page-'))
  dirs.push(dataDir)
  dirs.push(pageDir)
  note('bridge: building the page')
  await buildPage(pageDir)
  const served = await servePage(pageDir)
  pageServer = served.server
  pageUrl = served.url
  browser = await launchChromium()

  const mibps = (r) => MIB / r.seconds
  const rounds = {
    direct: [],
    bridged: [],
    warm: [],
    relayCpuPerWarm: [],
    directConnectS: [],
    bridgedConnectS: [],
    warmConnectS: [],
    // From the first connection to the first block of data (the metadata comes first): part
    // of each transfer's seconds.
    directFirstByteS: [],
    bridgedFirstByteS: [],
    warmFirstByteS: [],
    // Cold: seconds from the bridge request until the bridge held every piece from aria2, and
    // until the browser was done (its transfer plus finding the bridge).
    bridgeFromClassicS: [],
    bridgedWallS: [],
  }
  for (let round = 1; round <= ROUNDS; round++) {
    note(`bridge: round ${round}/${ROUNDS}: direct browser → browser, ${MIB} MiB`)
    const direct = await directRound(tracker)
    rounds.direct.push(mibps(direct))
    note(`bridge: round ${round}/${ROUNDS}: aria2 → bridge → browser, then bridge → browser`)
    const { cold, warm } = await bridgedRound(relay, tracker, round)
    rounds.bridged.push(mibps(cold))
    rounds.warm.push(mibps(warm))
    rounds.directConnectS.push(direct.connectSeconds)
    rounds.bridgedConnectS.push(cold.connectSeconds)
    rounds.warmConnectS.push(warm.connectSeconds)
    rounds.directFirstByteS.push(direct.firstByteSeconds)
    rounds.bridgedFirstByteS.push(cold.firstByteSeconds)
    rounds.warmFirstByteS.push(warm.firstByteSeconds)
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
    client: KIND,
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
async function directRound(tracker) {
  const seeder = await openPart(browser, pageUrl, 'direct seeder')
  const leecher = await openPart(browser, pageUrl, 'direct leecher')
  try {
    const seeded = await seedIn(seeder, { kind: KIND, size: BYTES, tracker, name: 'direct.bin' })
    return await download(leecher, seeded.infoHash, tracker, seeded.sha256, 'direct download')
  } finally {
    await closePart(leecher)
    await closePart(seeder)
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
    const page = await openPart(browser, pageUrl, 'bridged download')
    const res = await fetch(`${relay}/v1/bridge/${infoHash}`, { method: 'POST', body: torrent })
    if (!res.ok) throw new Error(`POST /v1/bridge: ${res.status} ${await res.text()}`)
    const t0 = performance.now()
    const classic = watchBridge(relay, infoHash, t0)
    let cold
    try {
      cold = await download(page, infoHash, tracker, sha256(data), 'bridged download')
    } finally {
      cold = { ...cold, classicSeconds: await classic.stop() }
      await closePart(page)
    }
    cold.wallSeconds = (performance.now() - t0) / 1000
    const again = await openPart(browser, pageUrl, 'warm bridged download')
    let warm
    try {
      const cpu0 = relayCpuSeconds()
      warm = await download(again, infoHash, tracker, sha256(data), 'warm bridged download')
      warm.relayCpu = relayCpuSeconds() - cpu0
    } finally {
      await closePart(again)
    }
    return { cold, warm }
  } finally {
    await procs.stop(aria2)
  }
}
