// nat: time from opening a share link to the first byte and to the whole file across NATs (cone, symmetric, UDP blocked, TLS, coturn), beside the same transfer on one network.
// timeout: 1200
//
// Runs the NAT lab of the end-to-end tests (e2e/nat/lab.ts, e2e/nat/cases.ts; root only:
// Linux network namespaces and iptables): a relay at 203.0.113.1, home routers with cone
// (MASQUERADE) or symmetric (MASQUERADE --random) NAT that drop unsolicited input from their
// WAN, one Chromium per home. In each round every case gets a fresh lab; the seeder shares
// MONSOON_BENCH_NAT_MIB (default 16) MiB of random bytes through the Share page and the
// fetcher opens its share link: `ttfb_ms` is from that page.goto to the first received
// byte the torrent view shows, `total_ms` to its Save button being enabled (the whole file
// in), and the SHA-256 of the saved file is checked against the seeded bytes. The reference
// is the same transfer between two browsers on one LAN (host candidates), measured in the
// same rounds (cases interleaved, MONSOON_BENCH_NAT_ROUNDS, default 3); figures are medians
// (the mean of the middle two for an even count), each round in `each`, and the ratios are
// case / one network. A case that cannot run (no coturn, a relay without --stun/--turn)
// reports why in `skipped`; one that fails reports its error, is not tried in later rounds,
// and the others go on.
// MONSOON_BENCH_NAT_CASES=substring,substring picks cases by name.

import { register } from 'tsx/esm/api'
import { note, runBenchmark } from '../lib/processes.js'

register()
const { CASES, caseUnavailable, runCase } = await import('../../e2e/nat/cases.ts')
const { labUnavailable } = await import('../../e2e/nat/lab.ts')

const BENCH = 'nat'
const SIZE_MIB = Number(process.env.MONSOON_BENCH_NAT_MIB ?? 16)
const ROUNDS = Number(process.env.MONSOON_BENCH_NAT_ROUNDS ?? 3)
const PICK = (process.env.MONSOON_BENCH_NAT_CASES ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
const REFERENCE = 'one network'

function median(values) {
  const v = [...values].sort((a, b) => a - b)
  if (v.length === 0) return null
  const mid = Math.floor(v.length / 2)
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

const round1 = (x) => (x === null ? null : Math.round(x * 10) / 10)
const ratio = (a, b) =>
  a === null || b === null || b === 0 ? null : Math.round((a / b) * 100) / 100

/** The path of the connection that carried the most bytes on one side. */
function mainPath(report) {
  const pairs = [...(report?.stats ?? [])].sort(
    (a, b) => b.bytesSent + b.bytesReceived - (a.bytesSent + a.bytesReceived),
  )
  return pairs[0]?.path ?? null
}

await runBenchmark(BENCH, async () => {
  const why = labUnavailable()
  if (why) return { bench: BENCH, error: why }

  const wanted = CASES.filter(
    (c) => c.name === REFERENCE || PICK.length === 0 || PICK.some((p) => c.name.includes(p)),
  )
  const skipped = {}
  const runnable = []
  for (const c of wanted) {
    const missing = caseUnavailable(c)
    if (missing) skipped[c.name] = missing
    else runnable.push(c)
  }
  note(`${BENCH}: ${runnable.length} cases × ${ROUNDS} rounds, ${SIZE_MIB} MiB each`)

  const each = Object.fromEntries(runnable.map((c) => [c.name, []]))
  const errors = {}
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of runnable) {
      // A case that failed (a relay without the feature yet) is not tried again: each failure
      // costs the full timeouts.
      if (errors[c.name]) continue
      try {
        const r = await runCase(c, { sizeMiB: SIZE_MIB, timeoutMs: 60_000 })
        if (r.fetched.sha256 !== r.seeded.sha256 || r.fetched.bytes !== r.seeded.bytes) {
          throw new Error(`saved bytes differ (sha256 ${r.fetched.sha256} ≠ ${r.seeded.sha256})`)
        }
        const entry = {
          ttfb_ms: r.fetched.ttfbMs,
          total_ms: r.fetched.totalMs,
          mib_s: round1(SIZE_MIB / (r.fetched.totalMs / 1000)),
          seeder_path: mainPath(r.seedPaths),
          fetcher_path: mainPath(r.fetched),
          view_paths: [r.seedPaths.ui, r.fetched.ui],
        }
        each[c.name].push(entry)
        note(`${BENCH}: round ${round + 1} ${c.name}: ${JSON.stringify(entry)}`)
      } catch (err) {
        const message = String(err?.message ?? err).split('\n')[0]
        note(`${BENCH}: round ${round + 1} ${c.name}: ${message}`)
        ;(errors[c.name] ??= []).push(message)
      }
    }
  }

  const summary = (name) => {
    const runs = each[name] ?? []
    return {
      ttfb_ms: median(runs.map((r) => r.ttfb_ms)),
      total_ms: median(runs.map((r) => r.total_ms)),
      mib_s: round1(median(runs.map((r) => r.mib_s))),
      ok_rounds: runs.length,
      failed_rounds: errors[name]?.length ?? 0,
    }
  }
  const reference = summary(REFERENCE)
  const cases = {}
  for (const c of runnable) {
    if (c.name === REFERENCE) continue
    const s = summary(c.name)
    cases[c.name] = {
      ...s,
      ratio_ttfb: ratio(s.ttfb_ms, reference.ttfb_ms),
      ratio_total: ratio(s.total_ms, reference.total_ms),
      paths: [...new Set(each[c.name].map((r) => `${r.seeder_path}/${r.fetcher_path}`))],
      each: each[c.name],
      ...(errors[c.name] ? { errors: errors[c.name] } : {}),
    }
  }
  const failedAll = runnable.some((c) => (each[c.name] ?? []).length === 0)
  return {
    bench: BENCH,
    size_mib: SIZE_MIB,
    rounds: ROUNDS,
    reference: {
      case: REFERENCE,
      ...reference,
      each: each[REFERENCE] ?? [],
      ...(errors[REFERENCE] ? { errors: errors[REFERENCE] } : {}),
    },
    cases,
    ...(Object.keys(skipped).length ? { skipped } : {}),
    ...(failedAll ? { error: 'a case failed in every round (see its errors)' } : {}),
  }
})
