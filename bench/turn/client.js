// The turn benchmark's client, run in a process of its own (so a TURN server's CPU is its
// own): two node-datachannel peers in this process open one reliable
// data channel; one sends MIB MiB over it with backpressure (bufferedAmountLow), the other
// counts. With a TURN server both peers gather relay candidates only (iceTransportPolicy
// 'relay'), so every byte goes client → server → relay port → relay port → server → client;
// without one, host candidates on 127.0.0.1 (the raw ceiling).
//
// Signalling is in memory, or through a WebTorrent WebSocket tracker (`signal`, our relay's:
// see signalViaTracker).
//
// Input: one JSON argument { turn: { host, port, username, password } | null, signal:
// ws-url | null, mib, messageKiB, bufferKiB, timeoutMs }. Output: one JSON line on stdout;
// progress on stderr.

import { randomBytes } from 'node:crypto'
import nodeDataChannel from 'node-datachannel'
import { WebSocket } from 'ws'

const { PeerConnection } = nodeDataChannel
const cfg = JSON.parse(process.argv[2])
const MESSAGE = cfg.messageKiB * 1024
const HIGH = cfg.bufferKiB * 1024
const LOW = Math.floor(HIGH / 2)
const TOTAL = cfg.mib * 1024 * 1024
const MESSAGES = Math.ceil(TOTAL / MESSAGE)

const note = (msg) => process.stderr.write(`${msg}\n`)

function peer(name, bindAddress) {
  const config = { iceServers: [], bindAddress, enableIceUdpMux: false }
  if (cfg.turn) {
    config.iceServers.push({
      hostname: cfg.turn.host,
      port: cfg.turn.port,
      username: cfg.turn.username,
      password: cfg.turn.password,
      relayType: 'TurnUdp',
    })
    config.iceTransportPolicy = 'relay'
  }
  return new PeerConnection(name, config)
}

const kept = []

/** Offer, answer and candidates handed straight from one peer to the other. */
function signalInMemory(a, b) {
  for (const [from, to] of [
    [a, b],
    [b, a],
  ]) {
    from.onLocalDescription((sdp, type) => to.setRemoteDescription(sdp, type))
    from.onLocalCandidate((candidate, mid) => to.addRemoteCandidate(candidate, mid))
  }
}

/** Resolves with the peer's description once it has gathered all its candidates. */
function gathered(pc) {
  return new Promise((resolve) => {
    const done = () => resolve(pc.localDescription().sdp)
    if (pc.gatheringState() === 'complete') done()
    else pc.onGatheringStateChange((state) => state === 'complete' && done())
  })
}

/** A 20-char binary string (one char per byte), as WebTorrent trackers take ids. */
const binaryId = () => randomBytes(20).toString('latin1')

/**
 * Offer and answer through a WebTorrent WebSocket tracker (our relay's), as browsers signal:
 * a relay only lets a TURN client relay towards addresses it was signalled. Each peer's
 * WebSocket leaves from its ICE bind address, so the tracker pairs the right addresses.
 * Candidates go inside the SDP (gathering completes first), as WebTorrent sends them.
 */
async function signalViaTracker(a, b, url, [addressA, addressB]) {
  const infoHash = binaryId()
  const [idA, idB] = [binaryId(), binaryId()]
  const open = (localAddress) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { localAddress })
      kept.push(ws)
      ws.once('open', () => resolve(ws))
      ws.once('error', reject)
    })
  const [wsA, wsB] = await Promise.all([open(addressA), open(addressB)])
  const replies = (ws, match) =>
    new Promise((resolve, reject) => {
      const onMessage = (data) => {
        const msg = JSON.parse(data.toString())
        if (msg['failure reason']) reject(new Error(`tracker: ${msg['failure reason']}`))
        else if (match(msg)) {
          ws.off('message', onMessage)
          resolve(msg)
        }
      }
      ws.on('message', onMessage)
    })
  const announce = (ws, fields) =>
    ws.send(
      JSON.stringify({
        action: 'announce',
        info_hash: infoHash,
        uploaded: 0,
        downloaded: 0,
        ...fields,
      }),
    )

  // The receiver joins the swarm first, with no offers, so the sender's offer goes to it.
  const joined = replies(wsB, (m) => m.interval !== undefined)
  announce(wsB, { peer_id: idB, numwant: 0, left: 0, event: 'started', offers: [] })
  await joined

  const offered = replies(wsB, (m) => m.offer !== undefined)
  const answered = replies(wsA, (m) => m.answer !== undefined)
  const offerId = binaryId()
  const offerSdp = await gathered(a)
  announce(wsA, {
    peer_id: idA,
    numwant: 1,
    left: 1,
    event: 'started',
    offers: [{ offer: { type: 'offer', sdp: offerSdp }, offer_id: offerId }],
  })
  const offer = await offered
  b.setRemoteDescription(offer.offer.sdp, 'offer')
  const answerSdp = await gathered(b)
  announce(wsB, {
    peer_id: idB,
    to_peer_id: offer.peer_id,
    offer_id: offer.offer_id,
    answer: { type: 'answer', sdp: answerSdp },
  })
  const answer = await answered
  a.setRemoteDescription(answer.answer.sdp, 'answer')
}

function run() {
  return new Promise((resolve, reject) => {
    // Under TURN the peers bind addresses of their own (index.js says why).
    const addresses = cfg.turn ? ['127.0.0.2', '127.0.0.3'] : ['127.0.0.1', '127.0.0.1']
    const a = peer('sender', addresses[0])
    const b = peer('receiver', addresses[1])
    const pcs = [a, b]
    kept.push(a, b)
    const fail = (why) => reject(new Error(why))
    for (const pc of pcs) {
      pc.onStateChange((state) => {
        if (state === 'failed') fail(`peer connection failed (${cfg.turn ? 'TURN' : 'host'})`)
      })
    }
    if (cfg.signal) signalViaTracker(a, b, cfg.signal, addresses).catch((err) => fail(err.message))
    else signalInMemory(a, b)

    const payload = randomBytes(MESSAGE)
    let sent = 0
    let received = 0
    let receivedMessages = 0
    let t0 = 0
    let firstByteAt = 0
    let connectedAt = 0
    const started = performance.now()

    b.onDataChannel((dc) => {
      // Held here: a channel only its own callbacks refer to is collected, and its
      // messages are then dropped ("DataChannel is destroyed").
      kept.push(dc)
      dc.onMessage((msg) => {
        if (received === 0) firstByteAt = performance.now()
        const seq = msg.readUInt32BE(0)
        if (seq !== receivedMessages) fail(`message ${seq} arrived as number ${receivedMessages}`)
        receivedMessages++
        received += msg.length
        if (received >= TOTAL) {
          const t1 = performance.now()
          const pair = b.getSelectedCandidatePair()
          const result = {
            bytes: received,
            messages: receivedMessages,
            seconds: (t1 - t0) / 1000,
            from_first_byte_s: (t1 - firstByteAt) / 1000,
            connect_ms: Math.round(connectedAt - started),
            local: pair?.local?.type ?? null,
            remote: pair?.remote?.type ?? null,
            local_address: pair ? `${pair.local.address}:${pair.local.port}` : null,
            remote_address: pair ? `${pair.remote.address}:${pair.remote.port}` : null,
            sender_bytes_sent: a.bytesSent(),
            rtt_ms: a.rtt(),
            // Both peers' CPU (this whole process) since it started.
            client_cpu_s: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
          }
          for (const pc of pcs) pc.close()
          resolve(result)
        }
      })
    })

    const dc = a.createDataChannel('bench')
    kept.push(dc)
    dc.setBufferedAmountLowThreshold(LOW)
    const pump = () => {
      while (sent < MESSAGES && dc.bufferedAmount() < HIGH) {
        const size = Math.min(MESSAGE, TOTAL - sent * MESSAGE)
        const msg = size === MESSAGE ? payload : payload.subarray(0, size)
        msg.writeUInt32BE(sent, 0)
        // The channel copies the message, so the one buffer is reused.
        dc.sendMessageBinary(msg)
        sent++
      }
    }
    dc.onOpen(() => {
      connectedAt = performance.now()
      const pair = a.getSelectedCandidatePair()
      note(`open via ${pair?.local?.type} ${pair?.local?.address}:${pair?.local?.port}`)
      if (cfg.turn && pair && pair.local.type !== 'relay') {
        fail(`the selected pair is not relayed: ${pair.local.type}/${pair.remote.type}`)
        return
      }
      t0 = performance.now()
      pump()
    })
    dc.onBufferedAmountLow(pump)
    dc.onError((err) => fail(`data channel: ${err}`))
  })
}

const timer = setTimeout(() => {
  process.stdout.write(JSON.stringify({ error: `no result after ${cfg.timeoutMs} ms` }) + '\n')
  process.exit(1)
}, cfg.timeoutMs)

try {
  const result = await run()
  clearTimeout(timer)
  process.stdout.write(JSON.stringify(result) + '\n')
  // node-datachannel keeps threads; end the process rather than wait on them.
  setTimeout(() => process.exit(0), 100)
} catch (err) {
  clearTimeout(timer)
  process.stdout.write(JSON.stringify({ error: err.message }) + '\n')
  process.exit(1)
}
