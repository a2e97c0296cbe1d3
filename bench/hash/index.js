// hash: hashing a file for seeding in Chromium: our worker pool beside stock WebTorrent's seed(), with native SHA-1 × cores as the limit
//
// A file of MONSOON_BENCH_HASH_MIB MiB (default 1024) is written to a temporary directory and
// picked in a page of Debian's Chromium through a file input, as a user would, in an
// on-disk profile (MONSOON_BENCH_BROWSERS=private: an off-the-record context; see
// lib/browser-pages.js). The page
// (bench/hash/page, built here with Vite) times, on the same file:
//   ours:  what the app's Share page does: app/lib/hash/pieces.ts (piece hashes from workers
//          streaming the File into one reused buffer each, WebCrypto SHA-1), the .torrent built
//          (torrent-file.ts), and the torrent added over the picked file itself
//          (FileChunkStore, skipVerify) until it is ready to seed;
//   stock: a WebTorrent 3 page's client.seed(file) until its seed callback (create-torrent
//          hashing on the page's thread, then the pieces copied into its store: its
//          browser default, fsa-chunk-store in OPFS, on disk in a normal profile).
// Both with no trackers or peers; the two info hashes must be equal.
// Both at the piece length the app picks (pieceLengthFor: 512 KiB at 1 GiB). The longest main-
// thread task (PerformanceObserver 'longtask') is reported for each: the page must stay
// responsive (goal: none over 200 ms). Native: node:crypto SHA-1 over 64 MiB in this
// process, times the machine's cores: the ceiling no page can pass.
// Prints one JSON line: {"bench":"hash","ours_mib_s","stock_mib_s","native_mib_s","ratio_to_stock",…}.

import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'vite'
import { browsersNote, launchBrowser, servePage } from '../lib/browser-pages.js'
import { note, runBenchmark, withDeadline } from '../lib/processes.js'

const BENCH = 'hash'
const MIB = 1024 * 1024
const SIZE_MIB = Number(process.env.MONSOON_BENCH_HASH_MIB ?? 1024)
const OURS_RUNS = 3
const PAGE = fileURLToPath(new URL('./page', import.meta.url))
const round = (x, d = 1) => Number(x.toFixed(d))

/** A file of `mib` MiB: one random 16 MiB block over and over (hashing does not care). */
function writeFile(path, mib) {
  const block = randomBytes(16 * MIB)
  const fd = openSync(path, 'w')
  try {
    for (let left = mib * MIB; left > 0; left -= block.length) {
      writeSync(fd, block, 0, Math.min(left, block.length))
    }
  } finally {
    closeSync(fd)
  }
}

function nativeMibPerSecond() {
  const data = randomBytes(64 * MIB)
  createHash('sha1').update(data).digest()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < 4; i++) createHash('sha1').update(data).digest()
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  return (4 * 64) / s
}

await runBenchmark(BENCH, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'monsoon-bench-hash-'))
  let browser
  let server
  try {
    note(`${BENCH}: building the bench page`)
    const out = join(dir, 'page')
    await build({
      configFile: false,
      root: PAGE,
      logLevel: 'warn',
      build: { outDir: out, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
      worker: { format: 'es' },
    })
    const file = join(dir, 'input.bin')
    note(`${BENCH}: writing a ${SIZE_MIB} MiB file`)
    writeFile(file, SIZE_MIB)
    const native = nativeMibPerSecond()
    const cores = availableParallelism()
    // On 127.0.0.1: a secure context for WebCrypto, and module workers.
    const served = await servePage(out)
    server = served.server
    browser = await launchBrowser()
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(context.partUrl?.(served.url) ?? served.url)
    await page.setInputFiles('#file', file)
    const deadline = (SIZE_MIB / 5 + 60) * 1000

    note(`${BENCH}: stock WebTorrent seed()`)
    const stock = await withDeadline(
      page.evaluate(() => window.benchStock()),
      deadline,
      'stock',
    )
    // Stock's seed() copied the file into the page's OPFS: written back now, not during ours.
    execFileSync('sync')
    const ours = []
    for (let i = 0; i < OURS_RUNS; i++) {
      note(`${BENCH}: ours, run ${i + 1} of ${OURS_RUNS}`)
      ours.push(
        await withDeadline(
          page.evaluate(() => window.benchOurs()),
          deadline,
          'ours',
        ),
      )
    }
    ours.sort((a, b) => a.seconds - b.seconds)
    const median = ours[Math.floor(ours.length / 2)]
    if (median.infoHash !== stock.infoHash) {
      throw new Error(`ours made info hash ${median.infoHash}, stock ${stock.infoHash}`)
    }
    const oursRate = SIZE_MIB / median.seconds
    const stockRate = SIZE_MIB / stock.seconds
    return {
      bench: BENCH,
      ours_mib_s: round(oursRate),
      stock_mib_s: round(stockRate),
      native_mib_s: round(native * cores),
      ratio_to_stock: round(oursRate / stockRate, 2),
      goal_ratio_to_stock: 10,
      ratio_to_native: round(oursRate / (native * cores), 2),
      size_mib: SIZE_MIB,
      pieces: median.pieces,
      ours_long_task_max_ms: Math.max(...ours.map((r) => r.longTaskMaxMs)),
      stock_long_task_max_ms: stock.longTaskMaxMs,
      ours_runs_s: ours.map((r) => round(r.seconds, 2)),
      stock_s: round(stock.seconds, 2),
      native_mib_s_per_core: round(native),
      cores,
      browsers: browsersNote(),
    }
  } finally {
    await browser?.close().catch(() => undefined)
    server?.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
