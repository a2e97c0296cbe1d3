// Per-connection patches for our client's WebRTC peers (WebTorrent 3.0.21): bigger
// data-channel messages out of the wire, and a deeper send buffer under it. Both act on one
// live object each (a wire, a simple-peer), never on a prototype: the bundle is shared with
// any other WebTorrent client in the page (the benchmarks' stock client), which stays stock.
// Nothing here changes the bytes on the wire, only how they are cut and paced.

import { BATCH_MAX_BYTES, MessageBatcher } from './batch.ts'
import { BufferPool } from './buffer-pool.ts'
import type { SimplePeerInternals, WireInternals } from '../internals.ts'

/** A batch smaller than this holds only control messages (requests, haves, interest, 17
 * bytes each or so): it waits for the page's next task instead of the end of the current
 * one, so the control messages of the tasks in between go in the same data-channel message.
 * Requests are out about a second ahead of the data (WebTorrent's pipeline), so a task's
 * delay costs nothing; in bench/swarm each leecher sent ~4,500 messages under 1 KiB (haves
 * and requests) beside ~900 of piece data. */
export const CONTROL_BYTES = 1024

/** The page's batch buffers (buffer-pool.ts): a batch joined from a piece message's header and
 * block is written into one, and deepenChannel gives it back once the data channel has copied
 * it. Up to 32 MiB of them: a seeder answers a peer's requests as fast as it reads the
 * pieces, so ~1 s of transfer (WebTorrent's request pipeline) waits joined behind the
 * channel's own 4 MiB buffer, and each of those batches holds a buffer until it is sent. */
export const batchBuffers = new BufferPool(128 * BATCH_MAX_BYTES)

/**
 * Replaces the wire's `_push` and `_message` (bittorrent-protocol 5: every outgoing message
 * goes through them, a piece as header + block) with ones that gather whole messages into
 * batches (batch.ts), flushed when full, at the end of the current microtask checkpoint, or
 * (control messages alone) at the page's next task.
 * Returns false, leaving the wire as it is, where it cannot be done exactly: an encrypted
 * wire (BEP 8 MSE encrypts each push in order; not used over WebRTC) or another shape.
 */
export function batchWire(wire: WireInternals): boolean {
  if (wire._encryptor) return false
  if (typeof wire._push !== 'function' || typeof wire._message !== 'function') return false
  const batcher = new MessageBatcher(undefined, undefined, batchBuffers)
  let flushQueued = false
  let taskQueued = false
  const send = (batch: Uint8Array) => {
    if (!wire._finished) wire.push(batch)
  }
  const take = () => {
    const batch = batcher.take()
    if (batch) send(batch)
  }
  const flush = () => {
    flushQueued = false
    take()
  }
  const flushLater = () => {
    taskQueued = false
    take()
  }
  const enqueue = (...parts: Uint8Array[]) => {
    // As the original _push: nothing is sent once the wire has ended.
    if (wire._finished) return
    for (const batch of batcher.add(...parts)) send(batch)
    if (batcher.size >= CONTROL_BYTES) {
      if (!flushQueued) {
        flushQueued = true
        queueMicrotask(flush)
      }
    } else if (batcher.size > 0 && !taskQueued) {
      taskQueued = true
      setTimeout(flushLater, 0)
    }
  }
  wire._push = (data) => enqueue(data)
  // bittorrent-protocol's _message: <length prefix><id><uint32 numbers…> then the payload.
  wire._message = (id, numbers, data) => {
    const header = new Uint8Array(5 + 4 * numbers.length)
    const view = new DataView(header.buffer)
    view.setUint32(0, header.length + (data ? data.length : 0) - 4)
    header[4] = id
    for (let i = 0; i < numbers.length; i++) view.setUint32(5 + 4 * i, numbers[i])
    if (data) enqueue(header, data)
    else enqueue(header)
  }
  return true
}

/**
 * Leaves out BEP 3 `have` messages for pieces the peer has said it has (libtorrent's
 * `send_redundant_have` off): a seeder, or a leecher that has the piece too, has no use for
 * them. In bench/swarm haves were about half of each leecher's ~4,500 small data-channel
 * messages; with this and CONTROL_BYTES, ~1,500 (the swarm's time moved within its noise).
 */
export function skipRedundantHaves(wire: WireInternals): boolean {
  const have = wire.have
  if (typeof have !== 'function' || typeof wire.peerPieces?.get !== 'function') return false
  wire.have = (index) => {
    if (!wire.peerPieces.get(index)) have.call(wire, index)
  }
  return true
}

/** The most bytes left queued in a data channel before writes wait. simple-peer's is 64 KiB
 * (2 ms at 30 MiB/s): the channel ran dry while the page turned around its
 * 'bufferedamountlow' event. 4 MiB keeps SCTP fed through a busy main thread. */
export const CHANNEL_HIGH_WATER_BYTES = 4 * 1024 * 1024
/** Writes resume when the queue drops below this: a quarter of the high-water mark, so one
 * event lets through megabytes, not one message. */
export const CHANNEL_LOW_WATER_BYTES = 1024 * 1024

/**
 * Lifts simple-peer's 64 KiB send limit (its MAX_BUFFERED_AMOUNT) on one connection: its own
 * _write still sends and destroys on error, and still parks the stream's callback in `_cb`
 * when over its limit; this wrapper releases the callback at once unless the channel holds
 * more than CHANNEL_HIGH_WATER_BYTES, and the channel's low-water event (simple-peer releases
 * `_cb` on it) fires at CHANNEL_LOW_WATER_BYTES. A batch's buffer (batchBuffers) goes back
 * once written: RTCDataChannel.send() copies what it sends, and simple-peer keeps a chunk only
 * while it is not connected yet (`_chunk`). A chunk that is not the batch itself (a speed
 * limit's throttle slices copies) is not the pool's and is left alone.
 */
export function deepenChannel(conn: SimplePeerInternals): boolean {
  const channel = conn._channel
  const original = conn._write
  if (!channel || typeof channel.bufferedAmountLowThreshold !== 'number') return false
  if (typeof original !== 'function' || !('_cb' in conn) || !('_chunk' in conn)) return false
  channel.bufferedAmountLowThreshold = CHANNEL_LOW_WATER_BYTES
  conn._write = function (this: SimplePeerInternals, chunk, cb) {
    original.call(this, chunk, cb)
    if (this._chunk !== chunk) batchBuffers.give(chunk)
    // Not connected yet: simple-peer holds the one chunk until it is, and must keep `_cb`.
    const parked = this._cb === cb && this._connected && !this.destroyed
    if (parked && channel.bufferedAmount <= CHANNEL_HIGH_WATER_BYTES) {
      this._cb = null
      cb(null)
    }
  }
  return true
}
