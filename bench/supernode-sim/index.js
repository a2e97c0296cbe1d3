// supernode-sim: 1,000 supernodes, 1,000,000 info hashes, in process: lookup hops, load, gossip rounds, hashes moved per promotion
//
//   npm run bench -- supernode-sim     (or: node bench/supernode-sim/index.js)
//   MONSOON_BENCH_NODES=N MONSOON_BENCH_HASHES=H MONSOON_BENCH_SEED=S   other sizes / seed
//
// Every owner below is computed by shared/rendezvous.ts (RendezvousSet.ownerIndices), the
// code browsers and relays run; no sockets. Figures (issue 4, "Benchmark"):
//  owners_*   time to compute the R = 2 owners of every hash, beside the textbook reference
//             (SHA-256 of infoHash ‖ nodeId for every pair, @noble/hashes, timed on a sample
//             and extrapolated) measured in the same run;
//  hops       lookups (model in sim.js `lookupHops`), fresh and with the client's view of
//             the set stale by one join or one leave; target p99 ≤ 2;
//  load       hashes per node, max / mean over the nodes (owners r = 2); target ≤ 1.25;
//             beside it, peers per node when swarm sizes follow Zipf(1);
//  gossip     rounds for a new supernode record to reach all N by push gossip, fan-out 3;
//  moved      per promotion (one node added to N): fraction of hashes whose owner set
//             changes, beside the ideal r/(N+1), and whose first owner changes, beside 1/(N+1).
// Prints one JSON line on stdout; progress on stderr.

import { register } from 'tsx/esm/api'
import { sha256 } from '@noble/hashes/sha2.js'
import { note, runBenchmark } from '../lib/processes.js'
import {
  gossip,
  hopStats,
  loadPerNode,
  lookupHops,
  maxOverMean,
  moved,
  ownerTable,
  prng,
  randomHex,
  round,
} from './sim.js'

register()
const { RendezvousSet, rendezvousDigest, OWNERS_PER_HASH } =
  await import('../../shared/rendezvous.ts')

const N = Number(process.env.MONSOON_BENCH_NODES ?? 1000)
const H = Number(process.env.MONSOON_BENCH_HASHES ?? 1_000_000)
const SEED = Number(process.env.MONSOON_BENCH_SEED ?? 1)
const R = OWNERS_PER_HASH
const PROMOTIONS = 3
const GOSSIP_TRIALS = 200
const FANOUT = 3
const NAIVE_SAMPLE = 500

const ms = (t0) => Math.round(performance.now() - t0)

await runBenchmark('supernode-sim', async () => {
  const rand = prng(SEED)
  // Node numbers 0 … N-1 are the starting set; N … N+PROMOTIONS-1 join later.
  const ids = Array.from({ length: N + PROMOTIONS }, () => randomHex(rand, 64))
  const number = new Map(ids.map((id, i) => [id, i]))
  const globalOf = (id) => number.get(id)
  const hashes = []
  const keyHi = new Uint32Array(H)
  const keyLo = new Uint32Array(H)

  note(`supernode-sim: ${N} nodes, ${H} hashes, seed ${SEED}`)
  let t0 = performance.now()
  const base = new RendezvousSet(ids.slice(0, N))
  const setMs = ms(t0)
  // Hashes are made in chunks so that only the digests are timed.
  let digestTime = 0
  const CHUNK = 10_000
  for (let start = 0; start < H; start += CHUNK) {
    const chunk = []
    for (let k = start; k < Math.min(H, start + CHUNK); k++) chunk.push(randomHex(rand, 40))
    if (start === 0) hashes.push(...chunk.slice(0, NAIVE_SAMPLE))
    t0 = performance.now()
    for (let i = 0; i < chunk.length; i++) {
      const d = rendezvousDigest(chunk[i])
      keyHi[start + i] = d.hi
      keyLo[start + i] = d.lo
    }
    digestTime += performance.now() - t0
  }
  const digestMs = Math.round(digestTime)
  t0 = performance.now()
  const owners = ownerTable(base, keyHi, keyLo, R, globalOf)
  const scoreMs = ms(t0)
  note(`supernode-sim: owners of ${H} hashes: digests ${digestMs} ms, scoring ${scoreMs} ms`)

  // The textbook reference on a sample: SHA-256(infoHash ‖ nodeId) for every pair.
  t0 = performance.now()
  const enc = new TextEncoder()
  for (const hex of hashes) {
    let best = -1
    let second = -1
    for (let i = 0; i < N; i++) {
      const d = sha256(enc.encode(hex + ids[i]))
      const score = ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0
      if (score > best) [best, second] = [score, best]
      else if (score > second) second = score
    }
  }
  const naiveMs = ((performance.now() - t0) / hashes.length) * H
  note(`supernode-sim: naive reference, extrapolated: ${Math.round(naiveMs / 1000)} s`)

  // (b) load.
  const member = new Uint8Array(N + PROMOTIONS).fill(1, 0, N)
  const load = maxOverMean(loadPerNode(owners, N + PROMOTIONS, R), member)
  const loadFirst = maxOverMean(loadPerNode(owners, N + PROMOTIONS, R, true), member)
  // Peers rather than hashes, with Zipf(1) popularity (the k-th hash has 1/k of the first
  // one's peers) and every owner tracking the whole swarm: what hot swarms do to load.
  const peers = new Float64Array(N + PROMOTIONS)
  for (let k = 0; k < H; k++) for (let j = 0; j < R; j++) peers[owners[R * k + j]] += 1 / (k + 1)
  const peerLoad = maxOverMean(peers, member)

  // (d) promotions: add one node, recompute every owner, compare.
  const promotions = []
  let joinOwners
  for (let p = 0; p < PROMOTIONS; p++) {
    const joiner = N + p
    t0 = performance.now()
    const after = ownerTable(
      new RendezvousSet([...base.ids, ids[joiner]]),
      keyHi,
      keyLo,
      R,
      globalOf,
    )
    const m = moved(owners, after, R)
    // Minimal disruption: a hash whose owners change must now have the joiner among them.
    let elsewhere = 0
    for (let k = 0; k < H; k++) {
      let changed = false
      let hasJoiner = false
      for (let j = 0; j < R; j++) {
        changed ||= owners[R * k + j] !== after[R * k + j]
        hasJoiner ||= after[R * k + j] === joiner
      }
      if (changed && !hasJoiner) elsewhere++
    }
    promotions.push({ ...m, elsewhere })
    if (p === 0) joinOwners = after
    note(`supernode-sim: promotion ${p + 1}: ${m.set} hashes moved (${ms(t0)} ms)`)
  }
  const meanOf = (key) => promotions.reduce((s, x) => s + x[key], 0) / promotions.length

  // A leave (or a death): node 0 goes.
  const leaver = 0
  const leaveOwners = ownerTable(
    new RendezvousSet(base.ids.filter((id) => globalOf(id) !== leaver)),
    keyHi,
    keyLo,
    R,
    globalOf,
  )
  const leaveMoved = moved(owners, leaveOwners, R)

  // (a) hops.
  note('supernode-sim: lookups')
  const startNodes = Int32Array.from({ length: N }, (_, i) => i)
  const allAlive = new Uint8Array(N + PROMOTIONS).fill(1)
  const leaveAlive = allAlive.slice()
  leaveAlive[leaver] = 0
  const stale = {
    fresh: { trueOwners: owners, alive: allAlive },
    stale_join: { trueOwners: joinOwners, alive: allAlive },
    stale_leave: { trueOwners: leaveOwners, alive: leaveAlive },
  }
  const lookup = (view, mode) => {
    const opts = { ...stale[view], mode, viewOwners: owners, viewNodes: startNodes, r: R, rand }
    return (k) => lookupHops(k, opts)
  }
  const hops = {}
  for (const view of Object.keys(stale)) {
    hops[`${view}_random_entry`] = hopStats(H, lookup(view, 'random'))
    hops[`${view}_client_computed`] = hopStats(H, lookup(view, 'computed'))
  }
  // The stale lookups again, only for the hashes the join or leave moved: the worst case.
  const differs = (a, b, k) => a[R * k] !== b[R * k] || a[R * k + 1] !== b[R * k + 1]
  hops.stale_join_client_computed_moved_hashes = hopStats(
    H,
    lookup('stale_join', 'computed'),
    (k) => differs(owners, joinOwners, k),
  )
  hops.stale_leave_client_computed_moved_hashes = hopStats(
    H,
    lookup('stale_leave', 'computed'),
    (k) => differs(owners, leaveOwners, k),
  )
  const worst = Object.values(hops)

  // (c) gossip.
  note('supernode-sim: gossip')
  const gossipStats = (mode) => {
    const runs = Array.from({ length: GOSSIP_TRIALS }, () => gossip(N, FANOUT, rand, mode))
    return {
      rounds_mean: round(runs.reduce((s, r) => s + r.rounds, 0) / runs.length, 2),
      rounds_max: Math.max(...runs.map((r) => r.rounds)),
      reached_all_pct: round((100 * runs.filter((r) => r.reached === N).length) / runs.length, 1),
      reached_mean_pct: round((100 * runs.reduce((s, r) => s + r.reached, 0)) / runs.length / N, 2),
    }
  }
  const pushEveryRound = gossipStats('every-round')
  const pushOnce = gossipStats('once')

  const oursMs = digestMs + scoreMs
  return {
    bench: 'supernode-sim',
    nodes: N,
    hashes: H,
    r: R,
    seed: SEED,
    owners_1m_ms: Math.round((oursMs * 1e6) / H),
    owners_naive_1m_ms_extrapolated: Math.round((naiveMs * 1e6) / H),
    owners_speedup: round(naiveMs / oursMs, 1),
    owners_detail: {
      digest_ms: digestMs,
      score_ms: scoreMs,
      node_set_ms: setMs,
      naive_sample_hashes: NAIVE_SAMPLE,
    },
    hops_p50: Math.max(...worst.map((h) => h.p50)),
    hops_p99: Math.max(...worst.map((h) => h.p99)),
    hops_target: 2,
    hops,
    load_max_mean: round(load.ratio),
    load_target: 1.25,
    load_detail: {
      max: load.max,
      mean: load.mean,
      first_owner_max_mean: round(loadFirst.ratio),
      peers_zipf1_max_mean: round(peerLoad.ratio, 1),
    },
    gossip_rounds_mean: pushEveryRound.rounds_mean,
    gossip_rounds_max: pushEveryRound.rounds_max,
    log2_n: round(Math.log2(N), 2),
    gossip_fanout: FANOUT,
    gossip_detail: { trials: GOSSIP_TRIALS, push_every_round: pushEveryRound, push_once: pushOnce },
    moved_fraction: round(meanOf('set') / H, 6),
    moved_ideal: round(R / (N + 1), 6),
    moved_ratio: round(meanOf('set') / H / (R / (N + 1)), 3),
    moved_first_owner_fraction: round(meanOf('first') / H, 6),
    moved_first_owner_ideal: round(1 / (N + 1), 6),
    moved_detail: {
      promotions: PROMOTIONS,
      per_promotion: promotions.map((p) => p.set),
      moved_to_other_nodes: promotions.reduce((s, p) => s + p.elsewhere, 0),
      leave_fraction: round(leaveMoved.set / H, 6),
      leave_ideal: round(R / N, 6),
    },
  }
})
