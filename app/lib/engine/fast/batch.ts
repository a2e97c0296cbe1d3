// Outgoing BitTorrent messages (BEP 3: <length prefix><id><payload>) gathered into larger
// data-channel messages. Pure: bytes in, batches out; the wire glue is in wire.ts.
//
// Why: bittorrent-protocol sends a piece message as two writes (a 13-byte header, then the
// 16 KiB block) and every other message as one, and each write became one RTCDataChannel
// message after three stream hops. Each data-channel message costs a fixed amount of CPU on
// both ends, so ~3 messages per 16 KiB block kept WebTorrent far below what the channel
// carries. The byte stream is unchanged (BEP 3 framing does not depend on how it is cut),
// so stock peers read the batches as they read any TCP segmenting. Batches end only on
// message boundaries, so a receiving bittorrent-protocol wire never has to join a message
// split across two channel messages (its `concat` copy).

import type { BufferPool } from './buffer-pool.ts'

/** A batch is sent once it holds this much: large enough that per-message costs vanish,
 * small enough that the first block of a burst is not held back long. */
export const BATCH_TARGET_BYTES = 128 * 1024

/** Never more than this in one data-channel message: Chromium's SCTP max-message-size
 * (its SDP's `a=max-message-size:262144`). A single message larger than this (none that
 * WebTorrent sends over WebRTC is) goes alone. */
export const BATCH_MAX_BYTES = 256 * 1024

/** Batches at least this large are joined into a pooled buffer (when the batcher has a pool). */
export const POOLED_BATCH_BYTES = 64 * 1024

export class MessageBatcher {
  #parts: Uint8Array[] = []
  #bytes = 0
  readonly #target: number
  readonly #max: number
  readonly #pool: BufferPool | null

  /** `pool`: where joined batches come from, each the start of a `max`-byte buffer; whoever
   * sends a batch gives its buffer back once the bytes are copied out (wire.ts). */
  constructor(target = BATCH_TARGET_BYTES, max = BATCH_MAX_BYTES, pool: BufferPool | null = null) {
    if (!(target > 0 && max >= target)) {
      throw new RangeError(`batch target ${target} must be > 0 and ≤ max ${max}`)
    }
    this.#target = target
    this.#max = max
    this.#pool = pool
  }

  /** Bytes waiting. */
  get size(): number {
    return this.#bytes
  }

  /**
   * Adds one whole message (its parts: header, then payload). Returns the batches that are
   * ready, in order: the ones that the message did not fit beside, and the current one if
   * it has reached the target.
   */
  add(...parts: Uint8Array[]): Uint8Array[] {
    const out: Uint8Array[] = []
    let length = 0
    for (const p of parts) length += p.length
    if (this.#bytes > 0 && this.#bytes + length > this.#max) out.push(this.#join())
    for (const p of parts) if (p.length) this.#parts.push(p)
    this.#bytes += length
    if (this.#bytes >= this.#target) out.push(this.#join())
    return out
  }

  /** Whatever is waiting, as one batch (null if nothing). */
  take(): Uint8Array | null {
    return this.#bytes > 0 ? this.#join() : null
  }

  #join(): Uint8Array {
    const parts = this.#parts
    const bytes = this.#bytes
    this.#parts = []
    this.#bytes = 0
    if (parts.length === 1) return parts[0]
    // A single message over the maximum goes alone, in a buffer of its own; a batch of
    // control messages alone is small enough to come from the heap without page faults.
    const out =
      this.#pool && bytes <= this.#max && bytes >= POOLED_BATCH_BYTES
        ? this.#pool.take(this.#max).subarray(0, bytes)
        : new Uint8Array(bytes)
    let at = 0
    for (const p of parts) {
      out.set(p, at)
      at += p.length
    }
    return out
  }
}
