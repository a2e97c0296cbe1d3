// swarm: one seeder to four leechers in Chromium, all done: ours (createClient) beside stock WebTorrent, aggregate MiB/s against a raw RTCDataChannel ceiling
//
//   npm run bench -- swarm
//   MONSOON_BENCH_SWARM_MIB=N             bytes moved to each leecher (default 128)
//   MONSOON_BENCH_SWARM_ROUNDS=N          rounds of each kind, interleaved; medians (default 3)
//   MONSOON_BENCH_CEILING_MESSAGE_KIB=N   the ceiling's message size (default 256)
//   MONSOON_BENCH_CEILING_BUFFER_KIB=N    the most the ceiling's sender buffers (default 4096)
//   MONSOON_BENCH_BROWSERS=profile|private  on-disk profile (default) or off-the-record contexts
//   CHROMIUM_PATH=/path/to/chromium       another browser (default /usr/bin/chromium)
//
// timeout: 2400 (run.js's default --timeout for this one, in seconds: six 128 MiB swarms of
// five clients each take minutes on a busy 2-core machine)
//
// Five parts (seeder, four leechers) in one headless Chromium, each a page of its own origin on
// an on-disk profile (or an off-the-record context: lib/browser-pages.js, BROWSERS), a fresh
// Chromium for each swarm and for the ceiling (benchSession's freshBrowser), on the transfer
// bench's page (bench/transfer/page), all five clients of one kind: `stock` (a plain WebTorrent
// 3 client) or `ours` (createClient() from app/lib/engine/client.ts). The seeder makes random bytes
// and seeds them at the app's piece length, announcing to our relay's WebSocket tracker
// (relay/bin.js on a free port); once it is ready and announced, the four leechers add its
// magnet at once (they trade pieces among themselves too, as a swarm does). Timed from the
// first add to the last 'done'; each download's SHA-256 is then checked against the seeded
// bytes. The raw ceiling, one RTCDataChannel between two parts (the transfer bench's), is
// measured once at the start at the same size: the aggregate 4 × size / time is compared with
// it.
// Prints one JSON line: {"bench":"swarm","ours_s","stock_s","ratio_to_stock",
// "ours_aggregate_mib_s","ceiling_mib_s","ratio_to_ceiling","each",…}.

import {
  MIB,
  benchSession,
  closePart,
  envInt,
  leechIn,
  measureCeiling,
  median,
  openPart,
  round,
  seedIn,
  since,
  verifyIn,
  browsersNote,
} from '../lib/browser-pages.js'
import { note, runBenchmark } from '../lib/processes.js'

const BENCH = 'swarm'
const LEECHERS = 4
const KINDS = ['stock', 'ours']

await runBenchmark(BENCH, async (procs) => {
  const mib = envInt('MONSOON_BENCH_SWARM_MIB', 128)
  const rounds = envInt('MONSOON_BENCH_SWARM_ROUNDS', 3)
  const messageBytes = envInt('MONSOON_BENCH_CEILING_MESSAGE_KIB', 256) * 1024
  const highWater = envInt('MONSOON_BENCH_CEILING_BUFFER_KIB', 4096) * 1024
  const size = mib * MIB
  const session = await benchSession(procs, BENCH)
  const { tracker, url } = session
  try {
    /** One seeder, four leechers, all clients of `kind`; resolves with seconds until all
     * four are done and each leecher's own seconds. */
    async function swarm(kind, n) {
      const browser = await session.freshBrowser()
      const seeder = await openPart(browser, url, `${kind} seeder`)
      const leechers = []
      try {
        for (let i = 1; i <= LEECHERS; i++) {
          leechers.push(await openPart(browser, url, `${kind} leecher ${i}`))
        }
        const name = `swarm-${kind}-${n}.bin`
        const seeded = await seedIn(seeder, { kind, size, tracker, name })
        const times = await Promise.all(
          leechers.map((page, i) =>
            leechIn(page, {
              kind,
              magnetURI: seeded.magnetURI,
              tracker,
              size,
              what: `${kind}: leecher ${i + 1} of ${LEECHERS}, ${mib} MiB`,
            }),
          ),
        )
        // Hashed only once all are done, so no leecher's check slows another's download.
        for (const [i, page] of leechers.entries()) {
          await verifyIn(page, seeded.sha256, `${kind}: leecher ${i + 1}`)
        }
        const start = Math.min(...times.map((t) => t.addAt))
        const end = Math.max(...times.map((t) => t.doneAt))
        return {
          seconds: (end - start) / 1000,
          leechers_s: times.map((t) => round((t.doneAt - t.addAt) / 1000)),
          ttfb_ms: times.every((t) => t.firstByteAt !== null)
            ? since(0, median(times.map((t) => t.firstByteAt - t.addAt)))
            : null,
        }
      } finally {
        for (const page of leechers) await closePart(page)
        await closePart(seeder)
      }
    }

    note(`${BENCH}: raw data-channel ceiling, ${mib} MiB`)
    const ceiling = await measureCeiling(await session.freshBrowser(), url, {
      bytes: size,
      messageBytes,
      highWater,
    })
    const ceilingMibS = mib / ceiling.seconds
    const each = [
      { round: 0, kind: 'ceiling', mib_s: round(ceilingMibS), s: round(ceiling.seconds) },
    ]
    for (let n = 1; n <= rounds; n++) {
      const order = n % 2 ? KINDS : [...KINDS].reverse()
      for (const kind of order) {
        note(`${BENCH}: round ${n}/${rounds}: ${kind}, 1 seeder → ${LEECHERS} leechers, ${mib} MiB`)
        const r = await swarm(kind, n)
        const aggregate = (LEECHERS * mib) / r.seconds
        each.push({
          round: n,
          kind,
          s: round(r.seconds),
          aggregate_mib_s: round(aggregate),
          leechers_s: r.leechers_s,
          ttfb_ms: r.ttfb_ms,
        })
        note(`${BENCH}: ${JSON.stringify(each.at(-1))}`)
      }
    }

    const of = (kind, field) => median(each.filter((e) => e.kind === kind).map((e) => e[field]))
    const ours = of('ours', 's')
    const stock = of('stock', 's')
    const oursAggregate = (LEECHERS * mib) / ours
    return {
      bench: BENCH,
      ours_s: round(ours),
      stock_s: round(stock),
      ratio_to_stock: round(stock / ours),
      ours_aggregate_mib_s: round(oursAggregate),
      stock_aggregate_mib_s: round((LEECHERS * mib) / stock),
      ceiling_mib_s: round(ceilingMibS),
      ratio_to_ceiling: round(oursAggregate / ceilingMibS),
      goal_ratio_to_stock: 1.5,
      goal_ratio_to_ceiling: 0.75,
      size_mib: mib,
      leechers: LEECHERS,
      rounds,
      browsers: browsersNote(),
      verified: 'sha256 of each download against the seeded bytes',
      each,
    }
  } finally {
    await session.close()
  }
})
