// mesh: eight browsers complete one torrent through the app with its relay alive, and with the relay SIGKILLed once each has its first connection (the browser mesh carries the rest); introductions a browser sustains; one mesh hop's signalling beside the relay's
//
//   npm run bench -- mesh
//   MONSOON_BENCH_MESH_BROWSERS=N   browsers, the seeder included (default 8)
//   MONSOON_BENCH_MESH_MIB=N        the torrent's size (default 64)
//   MONSOON_BENCH_MESH_ROUNDS=N     rounds of each case, interleaved; medians (default 1)
//   MONSOON_BENCH_MESH_SIGNALS=N    offer → answer round trips timed on each path (default 10)
//   MONSOON_BENCH_MESH_KILL_AT=X    each: kill the relay once every leecher has its first
//                                   connection (default); first: at the first leecher's first
//   MONSOON_BENCH_MESH_KILLED_NUMWANT=N  peers each leecher asks the relay for in the killed
//                                   case (default 1: the mesh makes every other connection)
//   CHROMIUM_PATH=/path/to/chromium another browser (default /usr/bin/chromium)
//
// timeout: 2400 (run.js's default --timeout for this one, in seconds: two swarms of eight app
// pages on a busy 2-core machine, each set up from a fresh relay and browser)
//
// Issue 22's benchmark. The app is built here into a temporary directory and served by a relay
// (relay/bin.js, free port); each case gets a fresh relay and a fresh headless Chromium with one
// off-the-record context per browser, each page the app as users run it, driven through its
// console hooks (swarm.js). The seeder shares random bytes made in its page; once its torrent
// is ready and announced, every leecher opens it at once (the app's TorrentClient.open, as a
// share link does). Timed from the first open to the last leecher's 'done' (each download's
// SHA-256 is checked against the seeded bytes after timing):
//  - `relay_alive_s`: the relay stays up throughout;
//  - `relay_killed_s`: the relay is SIGKILLed as soon as every leecher has its first wire
//    (KILL_AT), so every later connection is made through the mesh (PEX, lookups, signals
//    relayed by neighbours). A leecher left with no connection at that moment (`first`)
//    cannot be reached by anyone: the case ends when every leecher is done, none has
//    verified a piece for STALL_MS, or transferDeadlineMs is up; `completed` counts the
//    browsers holding the whole torrent then (the seeder included, so it equals `browsers`
//    when all made it), and `relay_killed_s` is over those that did.
// `ratio` is killed over alive (issue 22's goal: at most 1.2). After the alive case's swarm is
// complete, with the relay still up, signalling.js times offer → answer through one mesh hop
// and through the relay's tracker (`signal_hop_ms`, `signal_relay_ms`: medians), and drives
// offers through the best-connected browser from all its neighbours (`introductions_per_s`: the
// signals it carried a second, sustained past its burst).
// Prints one JSON line: {"bench":"mesh","browsers","completed","relay_alive_s",
// "relay_killed_s","ratio","introductions_per_s","signal_hop_ms","signal_relay_ms",…}.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { register } from 'tsx/esm/api'
import { chromium } from 'playwright-core'
import { buildApp } from '../lib/app-build.js'
import { CHROMIUM, MIB, envInt, median, round, transferDeadlineMs } from '../lib/browser-pages.js'
import { note, runBenchmark, sleep, withDeadline } from '../lib/processes.js'
import { startRelay } from '../lib/servers.js'
import { introductionRate, signalTimes } from './signalling.js'
import { leechIn, seedIn, sha256In, statusIn } from './swarm.js'

register()
const { hooksReady, meshBytes, meshStatsOf, peerIdOf } = await import('../../e2e/mesh.ts')
const { FORWARDS_PER_SECOND } = await import('../../shared/mesh/limits.ts')

const BENCH = 'mesh'
/** A case in which no leecher verified a piece for this long is over (mesh messages keep
 * arriving, so bytes received say nothing). */
const STALL_MS = 60_000
const POLL_MS = 1000
const PROGRESS_NOTE_MS = 15_000
/** A page that does not answer a status read in this long is stuck. */
const STATUS_DEADLINE_MS = 10_000
/** When the killed case kills the relay: once every leecher has its first connection (each
 * can then be reached through the mesh), or at the first connection of any (leechers with
 * none then can never be reached: `completed` says how many made it). */
const KILL_AT = {
  each: "every leecher's first connection",
  first: "the first leecher's first connection",
}
/** Peers a leecher asks the relay for in the killed case (MONSOON_BENCH_MESH_KILLED_NUMWANT). */
const KILLED_NUMWANT = envInt('MONSOON_BENCH_MESH_KILLED_NUMWANT', 1)
/** How often the killed case looks for first wires (it kills the relay at once then). */
const FIRST_WIRE_POLL_MS = 50
/** Hashing 64 MiB in the app's workers on a busy machine, and the first announce. */
const SEED_DEADLINE_MS = 180_000

await runBenchmark(BENCH, async (procs) => {
  const browsers = envInt('MONSOON_BENCH_MESH_BROWSERS', 8)
  const mib = envInt('MONSOON_BENCH_MESH_MIB', 64)
  const rounds = envInt('MONSOON_BENCH_MESH_ROUNDS', 1)
  const signals = envInt('MONSOON_BENCH_MESH_SIGNALS', 10)
  const killAt = process.env.MONSOON_BENCH_MESH_KILL_AT || 'each'
  if (!(killAt in KILL_AT)) throw new RangeError('MONSOON_BENCH_MESH_KILL_AT must be each or first')
  const killAtFirst = killAt === 'first'
  if (browsers < 3) throw new RangeError('MONSOON_BENCH_MESH_BROWSERS must be at least 3')
  const dir = mkdtempSync(join(tmpdir(), 'monsoon-bench-mesh-'))
  try {
    note(`${BENCH}: building the app`)
    const appDir = join(dir, 'app')
    buildApp(appDir)

    /** One swarm of `browsers` app pages on a fresh relay; `kill`: SIGKILL the relay at the
     * first leecher's first wire. With `measure`, signalling figures once all are done. */
    async function swarm(kill, n, measure) {
      const relay = await startRelay(procs, { relayArgs: ['--app-dir', appDir] })
      const url = `http://127.0.0.1:${relay.port}`
      const tracker = `ws://127.0.0.1:${relay.port}/`
      const browser = await chromium.launch(CHROMIUM)
      try {
        const pages = []
        for (let i = 0; i < browsers; i++) {
          const page = await (await browser.newContext({ baseURL: url })).newPage()
          page.on('pageerror', (err) => note(`browser ${i + 1}: page error: ${err.message}`))
          await page.goto('/')
          await hooksReady(page)
          pages.push(page)
        }
        const [seeder, ...leechers] = pages
        const name = `mesh-${kill ? 'killed' : 'alive'}-${n}.bin`
        const seeded = await withDeadline(
          seedIn(seeder, { size: mib * MIB, name }),
          SEED_DEADLINE_MS,
          'seeding',
        )
        const ref = { infoHash: seeded.infoHash, name, trackers: [tracker] }
        // Killed: each leecher asks the relay for one peer, so the relay introduces it to one
        // browser before it dies and the mesh makes every other connection (as e2e/mesh.spec.ts
        // does); alive: WebTorrent's usual 50, the relay introducing everyone to everyone.
        const numwant = kill ? KILLED_NUMWANT : undefined
        await Promise.all(leechers.map((page) => leechIn(page, ref, numwant)))
        if (kill) {
          const statuses = () => Promise.all(leechers.map((p) => statusIn(p, seeded.infoHash)))
          const connected = (s) => s.firstWireAt !== null
          while (
            !(killAtFirst
              ? (await statuses()).some(connected)
              : (await statuses()).every(connected))
          ) {
            await sleep(FIRST_WIRE_POLL_MS)
          }
          relay.child.kill('SIGKILL')
          note(`${BENCH}: relay killed at ${KILL_AT[killAt]}`)
        }
        const done = await untilDoneOrStalled(
          leechers,
          seeded.infoHash,
          transferDeadlineMs(mib * MIB),
        )
        for (const [i, page] of leechers.entries()) {
          if (!done[i].done) continue
          const got = await sha256In(page, seeded.infoHash)
          if (got !== seeded.sha256) throw new Error(`leecher ${i + 1}: SHA-256 ${got}`)
        }
        const finished = done.filter((s) => s.done)
        const start = Math.min(...done.map((s) => s.addAt))
        const seconds = finished.length
          ? (Math.max(...finished.map((s) => s.doneAt)) - start) / 1000
          : null
        const result = { seconds, completed: finished.length + 1 }
        if (kill) {
          // How the swarm grew once the relay was gone: connections the mesh introduced.
          const stats = await Promise.all(pages.map((p) => meshStatsOf(p)))
          result.mesh_introductions = stats.reduce((n, s) => n + s.introductionsReceived, 0)
        }
        if (measure) {
          Object.assign(result, await measureSignalling(pages, seeded.infoHash, tracker, signals))
        }
        return result
      } finally {
        await browser.close().catch(() => undefined)
        await procs.stop(relay.child)
      }
    }

    const each = []
    for (let n = 1; n <= rounds; n++) {
      const order = n % 2 ? [false, true] : [true, false]
      for (const kill of order) {
        note(
          `${BENCH}: round ${n}/${rounds}, relay ${kill ? 'killed' : 'alive'}, ${browsers} browsers, ${mib} MiB`,
        )
        const r = await swarm(kill, n, !kill && n === 1)
        each.push({ round: n, relay: kill ? 'killed' : 'alive', ...r })
        note(`${BENCH}: ${JSON.stringify(each.at(-1))}`)
      }
    }

    const of = (relay) => each.filter((e) => e.relay === relay)
    const alive = median(of('alive').map((e) => e.seconds))
    const killed = median(of('killed').map((e) => e.seconds ?? Infinity))
    const signalling = each.find((e) => e.hop_ms)
    return {
      bench: BENCH,
      browsers,
      completed: Math.min(...of('killed').map((e) => e.completed)),
      relay_alive_s: round(alive),
      relay_killed_s: round(killed),
      ratio: round(killed / alive),
      goal_ratio: 1.2,
      relay_killed_at: KILL_AT[killAt],
      killed_numwant: KILLED_NUMWANT,
      killed_mesh_introductions: median(of('killed').map((e) => e.mesh_introductions)),
      introductions_per_s: round(signalling.introductions.per_s),
      introductions_budget_per_s: FORWARDS_PER_SECOND,
      signal_hop_ms: round(median(signalling.hop_ms.filter((x) => x !== null)), 1),
      signal_relay_ms: round(median(signalling.relay_ms.filter((x) => x !== null)), 1),
      size_mib: mib,
      rounds,
      measured: {
        introductions:
          'signals the best-connected browser carried a second while each of its neighbours sent it offers for the others at 30 messages/s, read after its burst was spent',
        signal_hop_ms:
          'offer sent by A as a mesh sig to its neighbour B for C → C’s answer back in A',
        signal_relay_ms:
          'the same offer announced by A to the relay tracker for a torrent only C is in → C’s answer back in A',
      },
      each,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

/** Polls the leechers until all are done, none has verified a new piece for STALL_MS, or
 * the case outlives `deadlineMs`; their statuses. */
async function untilDoneOrStalled(leechers, infoHash, deadlineMs) {
  const until = Date.now() + deadlineMs
  let verified = -1
  let since = Date.now()
  let noted = Date.now()
  for (;;) {
    const statuses = await Promise.all(
      leechers.map((p) => withDeadline(statusIn(p, infoHash), STATUS_DEADLINE_MS, 'status')),
    )
    if (statuses.every((s) => s.done)) return statuses
    const total = statuses.reduce((n, s) => n + s.downloaded, 0)
    if (total !== verified) {
      verified = total
      since = Date.now()
    }
    const stalled = Date.now() - since > STALL_MS
    if (stalled || Date.now() > until) {
      const left = statuses.filter((s) => !s.done)
      note(
        `${BENCH}: ${left.length} leecher(s) ${stalled ? 'stalled' : 'out of time'}, peers ${left.map((s) => s.peers)}`,
      )
      return statuses
    }
    if (Date.now() - noted > PROGRESS_NOTE_MS) {
      noted = Date.now()
      note(
        `${BENCH}: done ${statuses.filter((s) => s.done).length}/${statuses.length}, verified ${Math.round(total / MIB)} MiB`,
      )
    }
    await sleep(POLL_MS)
  }
}

/** Signalling figures among the swarm's pages: the browser with the most mesh neighbours is
 * the middle one (B) for both. */
async function measureSignalling(pages, swarmHash, tracker, rounds) {
  const ids = await Promise.all(pages.map((p) => peerIdOf(p)))
  const stats = await Promise.all(pages.map((p) => meshStatsOf(p)))
  const counts = stats.map((s) => s.neighbours.length)
  const middle = counts.indexOf(Math.max(...counts))
  const around = stats[middle].neighbours.map((nb) => ids.indexOf(nb.peerId)).filter((i) => i >= 0)
  if (around.length < 2) throw new Error('no browser has two mesh neighbours')
  const [a, c] = around
  note(`${BENCH}: signalling through browser ${middle + 1}, ${around.length} neighbours`)
  const times = await signalTimes({
    pages: { a: pages[a], b: pages[middle], c: pages[c] },
    ids: { a: ids[a], b: ids[middle], c: ids[c] },
    tracker,
    rounds,
    meshBytes,
  })
  const introductions = await introductionRate({
    b: { page: pages[middle], id: ids[middle] },
    senders: around.map((i) => ({ page: pages[i], id: ids[i] })),
    swarmHash,
    meshBytes,
    statsOf: meshStatsOf,
  })
  return { ...times, introductions }
}
