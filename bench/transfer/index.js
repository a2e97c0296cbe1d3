// transfer: browser → browser MiB/s over WebRTC in Chromium, ours (createClient) beside stock WebTorrent and a raw RTCDataChannel ceiling
//
//   npm run bench -- transfer
//   MONSOON_BENCH_TRANSFER_MIB=N          bytes moved (default 256)
//   MONSOON_BENCH_TRANSFER_ROUNDS=N       rounds of the three, interleaved; medians (default 5)
//   MONSOON_BENCH_CEILING_MESSAGE_KIB=N   the ceiling's message size (default 256)
//   MONSOON_BENCH_CEILING_BUFFER_KIB=N    the most the ceiling's sender buffers (default 4096)
//   MONSOON_BENCH_BROWSERS=profile|private  on-disk profile (default) or off-the-record contexts
//   CHROMIUM_PATH=/path/to/chromium       another browser (default /usr/bin/chromium)
//
// timeout: 1800 (run.js's default --timeout for this one, in seconds: five rounds of three
// 256 MiB transfers, pages seeded and downloads hashed, take ~7 minutes on a busy 2-core
// machine)
//
// Why five rounds: a data channel here often stalls for 1.3-2.3 s early on: a few MiB
// arrive, then one message every few hundred milliseconds (retransmission timeouts), then
// full speed. Chromium drops packets when its network process falls behind while SCTP's slow
// start is still bursting (bench/README.md, "Seeing a transfer's start-up stall"). The
// ceiling's raw channel and stock WebTorrent stall so in most rounds; ours bounds its
// connections' start against it (app/lib/engine/fast/start.ts) and rarely does. It sets most of the
// spread between runs, so the medians need more rounds.
//
// Two parts (seeder and leecher, or the channel's two ends) in one headless Chromium, each a
// page of its own origin on an on-disk profile (or an off-the-record context:
// lib/browser-pages.js, BROWSERS), a fresh Chromium for each transfer (benchSession's
// freshBrowser: leftovers of one transfer slowed the next), on a page built
// here (bench/transfer/page), each round in turn (the order rotates each round):
//   ceiling: one RTCDataChannel, no WebTorrent, the bytes sent as fast as the channel takes
//            them (page/ceiling.js); from the first send to the last byte received;
//   stock:   a plain WebTorrent 3 client seeds in one context, another downloads the magnet;
//   ours:    the same with clients from createClient() (app/lib/engine/client.ts), the app's own.
// Torrents announce to our relay's WebSocket tracker (relay/bin.js on a free port) and are
// made from random bytes in the seeding page at the app's piece length (pieceLengthFor), all
// before timing. Torrent times run from the leecher's add(magnet) to its 'done' (every piece
// verified), so finding and connecting to the peer and fetching the metadata are inside;
// time to first byte is add → the first block of piece data received. Each torrent is also
// timed as the ceiling is, without its setup: from its first block received to 'done'
// (`*_from_first_byte_mib_s`, and `ratio_to_ceiling_from_first_byte` beside the headline
// `ratio_to_ceiling`, which keeps the setup in). Each round in `each` also has `to_tenth_ms`:
// how long the first tenth of the bytes took (the ceiling's from its first send, a torrent's
// from its first block), where the early stall shows: ~1 s without one, 2-3 s with. Each
// download is then read back and its SHA-256 compared with the seeded bytes' (WebCrypto, in
// the pages).
// Prints one JSON line: {"bench":"transfer","ours_mib_s","stock_mib_s","ceiling_mib_s",
// "ratio_to_ceiling","ratio_to_stock","ours_ttfb_ms","stock_ttfb_ms",
// "ratio_to_ceiling_from_first_byte","each",…}.

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

const BENCH = 'transfer'
const KINDS = ['ceiling', 'stock', 'ours']

await runBenchmark(BENCH, async (procs) => {
  const mib = envInt('MONSOON_BENCH_TRANSFER_MIB', 256)
  const rounds = envInt('MONSOON_BENCH_TRANSFER_ROUNDS', 5)
  // 256 KiB is the most an SCTP message may carry in Chromium (its SDP's max-message-size).
  // With 4 MiB buffered it had the best mean of 64, 128 and 256 KiB (and 256 KiB with 1 or
  // 8 MiB) over 10 interleaved tries of 64-96 MiB here, though within a busy machine's noise.
  const messageBytes = envInt('MONSOON_BENCH_CEILING_MESSAGE_KIB', 256) * 1024
  const highWater = envInt('MONSOON_BENCH_CEILING_BUFFER_KIB', 4096) * 1024
  const size = mib * MIB
  const session = await benchSession(procs, BENCH)
  const { tracker, url } = session
  try {
    /** One torrent from a seeder context to a leecher context. */
    async function torrentTransfer(kind, n) {
      const browser = await session.freshBrowser()
      const seeder = await openPart(browser, url, `${kind} seeder`)
      const leecher = await openPart(browser, url, `${kind} leecher`)
      try {
        const name = `transfer-${kind}-${n}.bin`
        const seeded = await seedIn(seeder, { kind, size, tracker, name })
        const what = `${kind}: transfer of ${mib} MiB`
        const t = await leechIn(leecher, { kind, magnetURI: seeded.magnetURI, tracker, size, what })
        await verifyIn(leecher, seeded.sha256, what)
        return {
          seconds: (t.doneAt - t.addAt) / 1000,
          from_first_byte_mib_s:
            t.firstByteAt === null ? null : round(mib / ((t.doneAt - t.firstByteAt) / 1000)),
          ttfb_ms: since(t.addAt, t.firstByteAt),
          // From the first block: what the ceiling's to_tenth_ms measures from its first send.
          to_tenth_ms: t.firstByteAt === null ? null : since(t.firstByteAt, t.tenthAt),
          connect_ms: since(t.addAt, t.connectAt),
          first_piece_ms: since(t.addAt, t.firstPieceAt),
        }
      } finally {
        await closePart(leecher)
        await closePart(seeder)
      }
    }

    const each = []
    for (let n = 1; n <= rounds; n++) {
      const order = KINDS.map((_, i) => KINDS[(i + n - 1) % KINDS.length])
      for (const kind of order) {
        note(`${BENCH}: round ${n}/${rounds}: ${kind}, ${mib} MiB`)
        const r =
          kind === 'ceiling'
            ? await measureCeiling(await session.freshBrowser(), url, {
                bytes: size,
                messageBytes,
                highWater,
              })
            : await torrentTransfer(kind, n)
        const entry = { round: n, kind, mib_s: round(mib / r.seconds), s: round(r.seconds) }
        delete r.seconds
        each.push({ ...entry, ...r })
        note(`${BENCH}: ${JSON.stringify(each.at(-1))}`)
      }
    }

    /** The median of `field` over the rounds of `kind` (null when a round lacks it). */
    const of = (kind, field) => {
      const xs = each.filter((e) => e.kind === kind).map((e) => e[field])
      return xs.includes(null) ? null : median(xs)
    }
    const ours = of('ours', 'mib_s')
    const stock = of('stock', 'mib_s')
    const ceiling = of('ceiling', 'mib_s')
    const oursFromFirstByte = of('ours', 'from_first_byte_mib_s')
    return {
      bench: BENCH,
      ours_mib_s: round(ours),
      stock_mib_s: round(stock),
      ceiling_mib_s: round(ceiling),
      ratio_to_ceiling: round(ours / ceiling),
      ratio_to_stock: round(ours / stock),
      ours_ttfb_ms: round(of('ours', 'ttfb_ms'), 0),
      stock_ttfb_ms: round(of('stock', 'ttfb_ms'), 0),
      // The same transfers timed as the ceiling is (from the first bytes on, connection and
      // metadata left out): from the first block received to 'done'.
      ours_from_first_byte_mib_s: round(oursFromFirstByte),
      stock_from_first_byte_mib_s: round(of('stock', 'from_first_byte_mib_s')),
      ratio_to_ceiling_from_first_byte:
        oursFromFirstByte === null ? null : round(oursFromFirstByte / ceiling),
      goal_ratio_to_ceiling: 0.9,
      size_mib: mib,
      rounds,
      ceiling_message_kib: messageBytes / 1024,
      ceiling_buffer_kib: highWater / 1024,
      browsers: browsersNote(),
      verified: 'sha256 of each download against the seeded bytes',
      each,
    }
  } finally {
    await session.close()
  }
})
