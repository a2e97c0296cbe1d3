// sealing: sealed-message overhead (seal + open, MiB/s) beside raw XChaCha20-Poly1305, and sealed vs unsealed GET /v1/listings/s.
//
// Crypto, in process (shared/sealed/envelope.ts): one "round trip" is what a sealed request
// costs both ends — sealRequest (header, random nonce, AEAD) then parseRequest + openRequest
// with the session key cached, as a relay runs it; with noble's AEAD (as the app runs it:
// `ours_*`) and with the relay's OpenSSL one (relay/sealed/native-crypto.ts, same bytes:
// `relay_openssl_*`). The reference is @noble/ciphers'
// xchacha20poly1305 encrypt + decrypt of the same bytes with a fixed key, measured in the
// same run, in alternating rounds so drift hits both alike. Payloads: typical API bodies
// (a lookup, a supernode record, a 100-listing page) and 1 MiB. Also: new sessions/s (a
// browser's X25519 key pair and the relay's OpenSSL X25519 + HKDF, once per new sender).
//
// HTTP: a relay holding 500 listings; GET /v1/listings?after=0&limit=100 as it is and
// through POST /v1/sealed (a relay-to-relay session), 16 requests in flight, alternating
// rounds; with the relay's CPU time per request, since the load generator (which does its
// half of the sealing) shares the two cores and often limits the rate. Environment: MONSOON_BENCH_DURATION (s per measurement, default 10),
// MONSOON_BENCH_ROUNDS (default 4).

import { randomBytes } from 'node:crypto'
import { register } from 'tsx/esm/api'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { processCpuSeconds } from '../lib/cpu.js'
import { note, runBenchmark } from '../lib/processes.js'
import { startRelay } from '../lib/servers.js'

register()
const envelope = await import('../../shared/sealed/envelope.ts')
const { sealedFetch } = await import('../../shared/sealed/client.ts')
const { createIdentity } = await import('../../shared/identity.ts')
const { FastSigner, sampleDraft } = await import('../../relay/catalog/test-support.ts')
const { relayAead, relayX25519 } = await import('../../relay/sealed/native-crypto.ts')

const BENCH = 'sealing'
const DURATION_S = Number(process.env.MONSOON_BENCH_DURATION ?? 10)
const ROUNDS = Number(process.env.MONSOON_BENCH_ROUNDS ?? 4)
const IN_FLIGHT = 16
const MIB = 1024 * 1024
const random = (n) => new Uint8Array(randomBytes(n))

/** Runs `fn(bytes)` over `payloads` for about `seconds`; MiB/s of plaintext. */
function throughput(payloads, seconds, fn) {
  let bytes = 0
  const end = performance.now() + seconds * 1000
  const start = performance.now()
  while (performance.now() < end) {
    for (const p of payloads) {
      fn(p)
      bytes += p.length
    }
  }
  return bytes / MIB / ((performance.now() - start) / 1000)
}

function cryptoFigures(payloads, seconds) {
  const alice = createIdentity()
  const bob = createIdentity()
  const session = envelope.nodeSession(alice.secretKey, alice.id, bob.id)
  const keys = new Map()
  const envelopeWith = (aead) => (p) => {
    const now = Math.floor(Date.now() / 1000)
    const sealed = envelope.sealRequest(session, p, now, random, aead)
    const req = envelope.parseRequest(sealed, 8 * MIB)
    let key = keys.get(req.senderHex)
    if (!key) keys.set(req.senderHex, (key = envelope.receiverKey(bob.secretKey, bob.id, req)))
    if (envelope.openRequest(req, key, aead).length !== p.length) throw new Error('round trip')
  }
  const ours = envelopeWith(xchacha20poly1305)
  const relay = envelopeWith(relayAead)
  const rawKey = random(32)
  const rawNonce = random(24)
  const raw = (p) => {
    const sealed = xchacha20poly1305(rawKey, rawNonce).encrypt(p)
    if (xchacha20poly1305(rawKey, rawNonce).decrypt(sealed).length !== p.length) {
      throw new Error('raw round trip failed')
    }
  }
  const oursPerRound = []
  const relayPerRound = []
  const rawPerRound = []
  for (let i = 0; i < ROUNDS; i++) {
    oursPerRound.push(throughput(payloads, seconds / ROUNDS, ours))
    relayPerRound.push(throughput(payloads, seconds / ROUNDS, relay))
    rawPerRound.push(throughput(payloads, seconds / ROUNDS, raw))
  }
  return {
    ours: median(oursPerRound),
    relay: median(relayPerRound),
    raw: median(rawPerRound),
    oursPerRound,
    relayPerRound,
    rawPerRound,
  }
}

function sessionsPerSecond(seconds) {
  const relay = createIdentity()
  const start = performance.now()
  let n = 0
  while (performance.now() - start < seconds * 1000) {
    const s = envelope.ephemeralSession(relay.id, random)
    const req = envelope.parseRequest(envelope.sealRequest(s, new Uint8Array(1), 0, random), 1024)
    envelope.receiverKey(relay.secretKey, relay.id, req, relayX25519)
    n++
  }
  return n / ((performance.now() - start) / 1000)
}

/** Requests/s of `once()` with IN_FLIGHT at a time for `seconds`. */
async function load(seconds, once) {
  let done = 0
  const end = performance.now() + seconds * 1000
  const start = performance.now()
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < end) {
        await once()
        done++
      }
    }),
  )
  return done / ((performance.now() - start) / 1000)
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const round2 = (x) => Math.round(x * 100) / 100

await runBenchmark(BENCH, async (procs) => {
  const signer = new FastSigner()
  const ts = Math.floor(Date.now() / 1000)
  const listings = Array.from({ length: 500 }, (_, i) =>
    signer.listing(sampleDraft(i), { seq: 1, ts }),
  )
  const text = (s) => new TextEncoder().encode(s)
  const page = text(JSON.stringify({ listings: listings.slice(0, 100), next: 100, more: true }))
  const typical = [
    text(JSON.stringify({ owner: true, owners: [{ id: 'a'.repeat(64), urls: ['http://x:1'] }] })),
    text(JSON.stringify({ v: 1, id: 'b'.repeat(64), urls: ['http://relay.example:8080'], seq: 9 })),
    page,
  ]
  const big = [random(MIB)]
  note(`${BENCH}: crypto, typical payloads (${typical.map((p) => p.length).join(', ')} bytes)`)
  const small = cryptoFigures(typical, DURATION_S)
  note(`${BENCH}: crypto, 1 MiB`)
  const large = cryptoFigures(big, DURATION_S)
  const sessions = sessionsPerSecond(Math.min(3, DURATION_S))

  note(`${BENCH}: HTTP, a relay with 500 listings`)
  const relay = await startRelay(procs)
  const origin = `http://127.0.0.1:${relay.port}`
  const posted = await fetch(`${origin}/v1/listings`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ listings: listings.slice(0, 200) }),
  })
  for (const from of [200, 400]) {
    await fetch(`${origin}/v1/listings`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ listings: listings.slice(from, from + 200) }),
    })
  }
  if (!posted.ok) throw new Error(`could not publish: HTTP ${posted.status}`)
  const { id } = await (await fetch(`${origin}/health`)).json()
  const me = createIdentity()
  const session = envelope.nodeSession(me.secretKey, me.id, id)
  const path = '/v1/listings?after=0&limit=100'
  const clear = async () => {
    const res = await fetch(`${origin}${path}`)
    if (res.status !== 200) throw new Error(`GET: HTTP ${res.status}`)
    await res.arrayBuffer()
  }
  const sealed = async () => {
    const answer = await sealedFetch(
      origin,
      session,
      { method: 'GET', path, body: new Uint8Array(0) },
      { maxBytes: 8 * MIB, aead: relayAead },
    )
    if (answer.status !== 200) throw new Error(`sealed GET: HTTP ${answer.status}`)
  }
  await load(1, clear)
  await load(1, sealed)
  const clearPerRound = []
  const sealedPerRound = []
  // The relay's own CPU per request: the load generator shares the machine and does its
  // half of the sealing, so requests/s alone says little about the relay's cost.
  const cpu = { clear: 0, sealed: 0 }
  const counted = { clear: 0, sealed: 0 }
  const measure = async (kind, once) => {
    const before = processCpuSeconds(relay.child.pid)
    const rate = await load(DURATION_S / ROUNDS, once)
    const after = processCpuSeconds(relay.child.pid)
    if (before !== null && after !== null) {
      cpu[kind] += after - before
      counted[kind] += rate * (DURATION_S / ROUNDS)
    }
    return rate
  }
  for (let i = 0; i < ROUNDS; i++) {
    clearPerRound.push(await measure('clear', clear))
    sealedPerRound.push(await measure('sealed', sealed))
  }
  const rps = { clear: median(clearPerRound), sealed: median(sealedPerRound) }
  const cpuUs = (kind) => (counted[kind] ? Math.round((cpu[kind] / counted[kind]) * 1e6) : null)

  return {
    bench: BENCH,
    ours_typical_mib_s: round2(small.ours),
    raw_noble_typical_mib_s: round2(small.raw),
    ratio_typical: round2(small.ours / small.raw),
    relay_openssl_typical_mib_s: round2(small.relay),
    ratio_relay_typical: round2(small.relay / small.raw),
    ours_1mib_mib_s: round2(large.ours),
    raw_noble_1mib_mib_s: round2(large.raw),
    ratio_1mib: round2(large.ours / large.raw),
    relay_openssl_1mib_mib_s: round2(large.relay),
    ratio_relay_1mib: round2(large.relay / large.raw),
    new_sessions_per_s: Math.round(sessions),
    typical_payload_bytes: typical.map((p) => p.length),
    listings_page_rps_unsealed: Math.round(rps.clear),
    listings_page_rps_sealed: Math.round(rps.sealed),
    ratio_rps: round2(rps.sealed / rps.clear),
    relay_cpu_us_per_page_unsealed: cpuUs('clear'),
    relay_cpu_us_per_page_sealed: cpuUs('sealed'),
    page_bytes: page.length,
    per_round: {
      ours_typical: small.oursPerRound.map(round2),
      relay_typical: small.relayPerRound.map(round2),
      raw_typical: small.rawPerRound.map(round2),
      ours_1mib: large.oursPerRound.map(round2),
      relay_1mib: large.relayPerRound.map(round2),
      raw_1mib: large.rawPerRound.map(round2),
      rps_unsealed: clearPerRound.map(Math.round),
      rps_sealed: sealedPerRound.map(Math.round),
    },
    in_flight: IN_FLIGHT,
    duration_s: DURATION_S,
    rounds: ROUNDS,
  }
})
