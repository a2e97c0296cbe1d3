// The raw ceiling: one RTCDataChannel between two pages, no WebTorrent. The sender pushes
// the bytes as fast as the channel takes them, holding at most `highWater` bytes in its send
// buffer (Chromium closes the channel when a send() overflows its buffer, so a sender must
// wait for 'bufferedamountlow' instead). Signalling is done by the bench process, whole SDPs
// once ICE gathering is complete (no trickle), before anything is timed.
import { now, randomBytes } from './clock.js'

let pc = null
let channel = null
let data = null
let received = null

async function gathered(conn) {
  if (conn.iceGatheringState === 'complete') return
  await new Promise((resolve) => {
    conn.addEventListener('icegatheringstatechange', () => {
      if (conn.iceGatheringState === 'complete') resolve()
    })
  })
}

/** Sender: makes the bytes (before timing) and the offer. */
export async function ceilingOffer(size) {
  data = randomBytes(size)
  pc = new RTCPeerConnection({ iceServers: [] })
  channel = pc.createDataChannel('ceiling', { ordered: true })
  channel.binaryType = 'arraybuffer'
  await pc.setLocalDescription(await pc.createOffer())
  await gathered(pc)
  return { type: 'offer', sdp: pc.localDescription.sdp }
}

/** Receiver: answers, and counts bytes from the first message on; resolves `received`
 * with the times the first tenth and the last of `size` bytes arrived. */
export async function ceilingAnswer(offer, size) {
  pc = new RTCPeerConnection({ iceServers: [] })
  received = new Promise((resolve) => {
    pc.addEventListener('datachannel', ({ channel: ch }) => {
      ch.binaryType = 'arraybuffer'
      let count = 0
      let tenthAt = null
      ch.addEventListener('message', ({ data: msg }) => {
        count += msg.byteLength
        if (tenthAt === null && count >= size / 10) tenthAt = now()
        if (count >= size) resolve({ tenthAt, endAt: now(), bytes: count })
      })
    })
  })
  await pc.setRemoteDescription(offer)
  await pc.setLocalDescription(await pc.createAnswer())
  await gathered(pc)
  return { type: 'answer', sdp: pc.localDescription.sdp }
}

/** Sender: takes the answer and waits for the channel to open. */
export async function ceilingConnect(answer) {
  await pc.setRemoteDescription(answer)
  if (channel.readyState !== 'open') {
    await new Promise((resolve, reject) => {
      channel.addEventListener('open', resolve, { once: true })
      channel.addEventListener('error', (e) => reject(new Error(String(e.error ?? e))))
    })
  }
}

/** Receiver: the time the last byte arrived. */
export const ceilingReceived = () => received

/** Sender: sends every byte in `messageBytes` messages; resolves with the start time. */
export async function ceilingSend(messageBytes, highWater) {
  channel.bufferedAmountLowThreshold = Math.floor(highWater / 2)
  const startAt = now()
  for (let off = 0; off < data.length; off += messageBytes) {
    if (channel.bufferedAmount > highWater) {
      await new Promise((resolve) =>
        channel.addEventListener('bufferedamountlow', resolve, { once: true }),
      )
    }
    channel.send(data.subarray(off, off + messageBytes))
  }
  return { startAt }
}

export function ceilingClose() {
  pc?.close()
  pc = channel = data = received = null
}
