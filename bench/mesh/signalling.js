// The mesh benchmark's signalling figures, between pages of the app already in one swarm:
//  - one mesh hop: page A sends an offer (a real SDP, ICE gathered, as the app's connections
//    send theirs: no trickle) for page C as a `sig` to its neighbour B, which forwards it to C;
//    C's mesh answers back through B. Timed in A from the send to the answer's arrival.
//  - the relay path: A announces the same kind of offer to the relay's WebSocket tracker for a
//    torrent only C is in (through the page's WebSocket, sealed as the app's tracker sockets
//    are); the relay forwards it to C, whose WebTorrent answers through the relay. Timed in A
//    from the announce to the answer.
//  Each round uses a torrent of its own that C opened (a fresh info hash), so neither C's mesh
//  nor its tracker client takes the offer for one it already holds.
//  - introductions a browser sustains: every neighbour of B sends it offers for every other
//    neighbour of B, each at SENDER_MESSAGES_PER_S (under the mesh's per-neighbour message cap,
//    shared/mesh/limits.ts), for INTRO_WINDOW_S; B's count of signals it carried, read after
//    its burst allowance is spent, over the time between the readings.

import { randomBytes } from 'node:crypto'
import { sleep } from '../lib/processes.js'

/** What one sender sends B a second: well under MESSAGES_PER_SECOND_PER_NEIGHBOUR (50), so
 * B's forwarding budget, not its flood rule, is what is measured. */
const SENDER_MESSAGES_PER_S = 30
const INTRO_WARMUP_S = 3
const INTRO_WINDOW_S = 10
const ANSWER_TIMEOUT_MS = 15_000

/** A page's offer SDP, its ICE gathering complete. */
function offerIn(page) {
  return page.evaluate(async () => {
    const pc = new RTCPeerConnection({ iceServers: [] })
    pc.createDataChannel('bench')
    await pc.setLocalDescription(await pc.createOffer())
    if (pc.iceGatheringState !== 'complete') {
      await new Promise((resolve) =>
        pc.addEventListener('icegatheringstatechange', () => {
          if (pc.iceGatheringState === 'complete') resolve()
        }),
      )
    }
    ;(globalThis.meshBenchOffers ??= []).push(pc)
    return pc.localDescription.sdp
  })
}

/** Opens a torrent in the page (as a share link does) and waits for its first tracker answer:
 * until then the relay has no one to forward an offer for it to. */
function openAnnounced(page, ref) {
  return page.evaluate(
    ({ ref, timeoutMs }) =>
      new Promise((resolve, reject) => {
        const { torrent } = globalThis.monsoon.torrents.open(ref)
        torrent.once('trackerAnnounce', resolve)
        setTimeout(() => reject(new Error('no tracker answer for the signal torrent')), timeoutMs)
      }),
    { ref, timeoutMs: ANSWER_TIMEOUT_MS },
  )
}

/** Sends `bytes` on A's wire to `via` and waits for a mesh `sig` answer on any of A's wires;
 * resolves with the milliseconds between, and the answer's bytes (null on timeout). */
function hopIn(page, { via, bytes }) {
  return page.evaluate(
    ({ via, bytes, timeoutMs }) => {
      const now = () => performance.timeOrigin + performance.now()
      const client = globalThis.monsoon.webtorrent()
      const wires = client.torrents.flatMap((t) => t.wires).filter((w) => !w.destroyed)
      const out = wires.find((w) => w.peerId === via)
      if (!out) throw new Error('no wire to the middle browser')
      return new Promise((resolve) => {
        let sentAt = 0
        const timer = setTimeout(() => resolve({ ms: null, answer: null }), timeoutMs)
        const listen = (ext, buf) => {
          if (ext !== 'monsoon_mesh') return
          const text = String.fromCharCode(...buf)
          if (!text.includes('1:k1:a') || !text.includes('1:t3:sig')) return
          clearTimeout(timer)
          for (const w of wires) w.removeListener('extended', listen)
          resolve({ ms: now() - sentAt, answer: [...buf] })
        }
        for (const w of wires) w.on('extended', listen)
        sentAt = now()
        out.extended('monsoon_mesh', new Uint8Array(bytes))
      })
    },
    { via, bytes: [...bytes], timeoutMs: ANSWER_TIMEOUT_MS },
  )
}

/** Announces one offer for `infoHash` to the tracker from A's page with a fresh peer id;
 * resolves with the milliseconds until an answer came back (null on timeout). */
function relayIn(page, { tracker, infoHash, sdp }) {
  const bin = (hex) => String.fromCharCode(...Buffer.from(hex, 'hex'))
  const ids = {
    info_hash: bin(infoHash),
    peer_id: bin(randomBytes(20).toString('hex')),
    offer_id: bin(randomBytes(20).toString('hex')),
  }
  return page.evaluate(
    async ({ tracker, ids, sdp, timeoutMs }) => {
      const now = () => performance.timeOrigin + performance.now()
      const ws = new WebSocket(tracker)
      await new Promise((resolve, reject) => {
        ws.addEventListener('open', resolve, { once: true })
        ws.addEventListener('error', () => reject(new Error('tracker socket failed')))
      })
      try {
        return await new Promise((resolve) => {
          const timer = setTimeout(() => resolve(null), timeoutMs)
          let sentAt = 0
          ws.addEventListener('message', (e) => {
            const m = JSON.parse(e.data)
            if (!m.answer || m.offer_id !== ids.offer_id) return
            clearTimeout(timer)
            resolve(now() - sentAt)
          })
          sentAt = now()
          ws.send(
            JSON.stringify({
              action: 'announce',
              info_hash: ids.info_hash,
              peer_id: ids.peer_id,
              numwant: 1,
              uploaded: 0,
              downloaded: 0,
              left: 0,
              event: 'started',
              offers: [{ offer: { type: 'offer', sdp }, offer_id: ids.offer_id }],
            }),
          )
        })
      } finally {
        ws.close()
      }
    },
    { tracker, ids, sdp, timeoutMs: ANSWER_TIMEOUT_MS },
  )
}

/**
 * `rounds` offer → answer times on each path, alternating which goes first, from A to C (B in
 * the middle for the mesh), after one warm-up round. `pages`: { a, b, c } with their peer ids
 * `ids`; `meshBytes` encodes a mesh message.
 * Resolves with { hop_ms: [...], relay_ms: [...] } (null for an answer that never came).
 */
export async function signalTimes({ pages, ids, tracker, rounds, meshBytes }) {
  const hop = []
  const relay = []
  for (let r = 0; r <= rounds; r++) {
    const infoHash = randomBytes(20).toString('hex')
    await openAnnounced(pages.c, { infoHash, name: `signal ${r}`, trackers: [tracker] })
    const timeHop = async () => {
      const sdp = await offerIn(pages.a)
      const bytes = meshBytes({
        t: 'sig',
        to: ids.c,
        from: ids.a,
        infoHash,
        hops: 0,
        kind: 'offer',
        sdp,
      })
      return (await hopIn(pages.a, { via: ids.b, bytes })).ms
    }
    const timeRelay = async () =>
      relayIn(pages.a, { tracker, infoHash, sdp: await offerIn(pages.a) })
    const [first, second] = r % 2 ? [timeRelay, timeHop] : [timeHop, timeRelay]
    const a = await first()
    const b = await second()
    if (r === 0) continue // warm-up: first sockets, first connections of the page
    hop.push(r % 2 ? b : a)
    relay.push(r % 2 ? a : b)
  }
  return { hop_ms: hop, relay_ms: relay }
}

/** Signals B carries a second while each of its neighbours (`senders`, pages with their ids)
 * sends it offers for each of B's other neighbours as fast as SENDER_MESSAGES_PER_S allows. */
export async function introductionRate({ b, senders, swarmHash, meshBytes, statsOf }) {
  const prepared = await Promise.all(
    senders.map(async ({ page, id }) => {
      const sdp = await offerIn(page)
      const messages = senders
        .filter((s) => s.id !== id)
        .map((s) => [
          ...meshBytes({
            t: 'sig',
            to: s.id,
            from: id,
            infoHash: swarmHash,
            hops: 0,
            kind: 'offer',
            sdp,
          }),
        ])
      return { page, messages }
    }),
  )
  const totalS = INTRO_WARMUP_S + INTRO_WINDOW_S + 1
  const sending = prepared.map(({ page, messages }) =>
    page.evaluate(
      ({ via, messages, perSecond, seconds }) =>
        new Promise((resolve) => {
          const wire = globalThis.monsoon
            .webtorrent()
            .torrents.flatMap((t) => t.wires)
            .find((w) => w.peerId === via && !w.destroyed)
          const tickMs = 100
          const perTick = Math.max(1, Math.round((perSecond * tickMs) / 1000))
          let i = 0
          const timer = setInterval(() => {
            for (let k = 0; k < perTick; k++) {
              wire?.extended('monsoon_mesh', new Uint8Array(messages[i++ % messages.length]))
            }
          }, tickMs)
          setTimeout(() => {
            clearInterval(timer)
            resolve(i)
          }, seconds * 1000)
        }),
      { via: b.id, messages, perSecond: SENDER_MESSAGES_PER_S, seconds: totalS },
    ),
  )
  await sleep(INTRO_WARMUP_S * 1000)
  const before = await statsOf(b.page)
  const from = performance.now()
  await sleep(INTRO_WINDOW_S * 1000)
  const after = await statsOf(b.page)
  const seconds = (performance.now() - from) / 1000
  const sent = (await Promise.all(sending)).reduce((n, x) => n + x, 0)
  return {
    per_s: (after.signalsForwarded - before.signalsForwarded) / seconds,
    offered_per_s: sent / totalS,
    senders: senders.length,
    banned_senders: after.banned.filter((x) => senders.some((s) => s.id === x.peerId)).length,
  }
}
