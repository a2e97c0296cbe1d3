// The models behind bench/supernode-sim, kept free of I/O so they can be tested: a seeded
// PRNG, owner tables computed with shared/rendezvous.ts, the lookup-hop model, push gossip,
// and small statistics helpers. Node numbers are global (0 … N), so owner tables computed
// over different sets (before and after a join or a leave) can be compared directly.

/** mulberry32: a small seeded 32-bit PRNG, so every run simulates the same network. */
export function prng(seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return (t ^ (t >>> 14)) >>> 0
  }
  return {
    u32: next,
    float: () => next() / 4294967296,
    below: (n) => Math.floor((next() / 4294967296) * n),
  }
}

export function randomHex(rand, chars) {
  let s = ''
  while (s.length < chars) s += rand.u32().toString(16).padStart(8, '0')
  return s.slice(0, chars)
}

/**
 * Top-r owners of every key digest, as global node numbers: out[r*k + j] is the j-th owner
 * of key k. `set` is a RendezvousSet; `globalOf(id)` maps its ids to node numbers.
 */
export function ownerTable(set, keyHi, keyLo, r, globalOf) {
  const local = new Int32Array(keyHi.length * r)
  const digest = { hi: 0, lo: 0 }
  for (let k = 0; k < keyHi.length; k++) {
    digest.hi = keyHi[k]
    digest.lo = keyLo[k]
    set.ownerIndices(digest, r, local, r * k)
  }
  const map = Int32Array.from(set.ids, globalOf)
  for (let i = 0; i < local.length; i++) local[i] = map[local[i]]
  return local
}

/** Owned keys per node (all r owners count). */
export function loadPerNode(owners, nodes, r, firstOnly = false) {
  const counts = new Float64Array(nodes)
  for (let i = 0; i < owners.length; i += r) {
    if (firstOnly) counts[owners[i]]++
    else for (let j = 0; j < r; j++) counts[owners[i + j]]++
  }
  return counts
}

/** max / mean over the nodes that are in the set (`member[i]` true). */
export function maxOverMean(counts, member) {
  let max = 0
  let sum = 0
  let n = 0
  for (let i = 0; i < counts.length; i++) {
    if (!member[i]) continue
    max = Math.max(max, counts[i])
    sum += counts[i]
    n++
  }
  return { max, mean: sum / n, ratio: max / (sum / n) }
}

/** Keys whose owner set (or first owner) differs between two tables. */
export function moved(before, after, r) {
  let set = 0
  let first = 0
  for (let i = 0; i < before.length; i += r) {
    if (before[i] !== after[i]) first++
    for (let j = 0; j < r; j++) {
      let found = false
      for (let m = 0; m < r; m++) found ||= before[i + j] === after[i + m]
      if (!found) {
        set++
        break
      }
    }
  }
  return { set, first }
}

/**
 * Hops for one lookup of key k. The client (view: its list of node numbers, and `mode`)
 * either asks its computed owners (`view` owner table, the one it picks first at random,
 * as it would its last-known supernode) or a random node of its view. Supernodes answer
 * from the true set: peers if they own the key, else a referral to the true owners, which
 * the client follows (one more hop). A dead node costs a hop (a timeout) and the client
 * tries its next candidate.
 */
export function lookupHops(k, { mode, viewOwners, viewNodes, trueOwners, alive, r, rand }) {
  const owns = (node) => {
    for (let j = 0; j < r; j++) if (trueOwners[r * k + j] === node) return true
    return false
  }
  let hops = 0
  if (mode === 'computed') {
    const start = rand.below(r)
    for (let t = 0; t < r; t++) {
      const asked = viewOwners[r * k + ((start + t) % r)]
      hops++
      if (!alive[asked]) continue
      return owns(asked) ? hops : hops + 1
    }
  }
  // Random entry (or every computed owner was dead): any node of the view.
  for (;;) {
    const asked = viewNodes[rand.below(viewNodes.length)]
    hops++
    if (!alive[asked]) continue
    return owns(asked) ? hops : hops + 1
  }
}

/**
 * Hop histogram over keys (all, or those `only(k)` selects) → percentiles.
 * @param {number} keys
 * @param {(k: number) => number} hopsOf
 * @param {(k: number) => boolean} [only]
 */
export function hopStats(keys, hopsOf, only = () => true) {
  const hist = []
  let n = 0
  let sum = 0
  for (let k = 0; k < keys; k++) {
    if (!only(k)) continue
    const h = hopsOf(k)
    hist[h] = (hist[h] ?? 0) + 1
    n++
    sum += h
  }
  const at = (p) => {
    let seen = 0
    for (let h = 0; h < hist.length; h++) {
      seen += hist[h] ?? 0
      if (seen >= p * n) return h
    }
    return hist.length - 1
  }
  return { lookups: n, p50: at(0.5), p99: at(0.99), max: hist.length - 1, mean: round(sum / n, 4) }
}

/**
 * Rounds of push gossip until every one of `n` nodes has a new record, starting from one.
 * 'every-round': each node that has it pushes to `fanout` random others every round.
 * 'once': a node pushes only in the round after it first hears (how relay/catalog/push.ts
 * forwards listings); it can die out early, so `reached` may stay below n.
 */
export function gossip(n, fanout, rand, mode) {
  const has = new Uint8Array(n)
  let fresh = [rand.below(n)]
  has[fresh[0]] = 1
  let reached = 1
  let rounds = 0
  // Push-once stops when a round brings no one new; pushing every round goes on until all.
  while (reached < n && (mode !== 'once' || fresh.length > 0)) {
    rounds++
    const senders = mode === 'once' ? fresh : null
    const next = []
    const push = (from) => {
      for (let f = 0; f < fanout; f++) {
        let to = rand.below(n - 1)
        if (to >= from) to++
        if (!has[to]) {
          has[to] = 1
          reached++
          next.push(to)
        }
      }
    }
    if (senders) {
      for (const s of senders) push(s)
    } else {
      const had = has.slice() // nodes that hear this round push from the next one
      for (let i = 0; i < n; i++) if (had[i]) push(i)
    }
    fresh = next
  }
  return { rounds, reached }
}

export function round(x, digits = 3) {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
