// The bytes between the relay's socket workers and its primary (socket-workers.ts): a worker
// asks for the answers to the tracker requests it read, the primary answers them, many to a
// frame. Frames go over a pipe of their own beside the IPC channel (a frame there costs half
// what an IPC message does: no serializer, no message events). Both ends are this relay's own
// processes, so a frame that does not decode is a bug: WorkerWireError, never a guess.
//
// Frame:   u32 length of what follows, then a batch
// Asks:    u32 count, then per ask:   u32 id, u8 address length, address (latin1),
//                                     u32 length, the request's bytes
// Replies: u32 count, then per reply: u32 id, u8 flags, u32 length, the response's bytes

/** A tracker request a worker read whole off a connection. */
export interface TrackerAsk {
  /** The worker's number for it; its reply carries it back. */
  id: number
  /** The connection's remote address (the primary's request rate and peer address). */
  remoteAddress: string
  /** The request head as read, the same bytes the primary's fast path reads. */
  bytes: Uint8Array
}

export type ReplyOutcome = 'answered' | 'declined' | 'failed'

/** The primary's answer to an ask. */
export interface TrackerReply {
  id: number
  /** answered: write `response`; declined: the primary's fast path does not take the
   * request (the worker hands the connection over); failed: the answer could not be made. */
  outcome: ReplyOutcome
  /** Whether the connection stays open after the response (false after a 429). */
  keepAlive: boolean
  response: Uint8Array
}

export class WorkerWireError extends Error {
  override name = 'WorkerWireError'
}

const FLAG_KEEP_ALIVE = 1
const OUTCOMES: ReplyOutcome[] = ['answered', 'declined', 'failed']
/** An address as node writes one (IPv6 with a zone is at most ~60 characters). */
const MAX_ADDRESS_LENGTH = 255
/** The largest frame read: a batch of asks holds at most 128 heads of 4 KiB, a batch of
 * replies 128 answers of a few KiB (a full scrape, 50 peers in dictionaries). */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024
const FRAME_HEAD = 4

/** The asks as one frame. */
export function encodeAsks(asks: readonly TrackerAsk[]): Buffer {
  let size = FRAME_HEAD + 4
  for (const ask of asks) {
    if (ask.remoteAddress.length > MAX_ADDRESS_LENGTH) {
      throw new RangeError(`address longer than ${MAX_ADDRESS_LENGTH}: ${ask.remoteAddress}`)
    }
    size += 4 + 1 + ask.remoteAddress.length + 4 + ask.bytes.length
  }
  const out = Buffer.allocUnsafe(size)
  out.writeUInt32BE(size - FRAME_HEAD, 0)
  let pos = out.writeUInt32BE(asks.length, FRAME_HEAD)
  for (const ask of asks) {
    pos = out.writeUInt32BE(ask.id, pos)
    pos = out.writeUInt8(ask.remoteAddress.length, pos)
    pos += out.write(ask.remoteAddress, pos, 'latin1')
    pos = out.writeUInt32BE(ask.bytes.length, pos)
    out.set(ask.bytes, pos)
    pos += ask.bytes.length
  }
  return out
}

/** The asks in a frame's batch (FrameReader gives it without the length). */
export function decodeAsks(batch: Uint8Array): TrackerAsk[] {
  const reader = new BatchReader(batch)
  const count = reader.u32()
  const asks: TrackerAsk[] = []
  for (let i = 0; i < count; i++) {
    const id = reader.u32()
    const remoteAddress = reader.bytes(reader.u8()).toString('latin1')
    asks.push({ id, remoteAddress, bytes: reader.bytes(reader.u32()) })
  }
  reader.end()
  return asks
}

/** The replies as one frame. */
export function encodeReplies(replies: readonly TrackerReply[]): Buffer {
  let size = FRAME_HEAD + 4
  for (const reply of replies) size += 4 + 1 + 4 + reply.response.length
  const out = Buffer.allocUnsafe(size)
  out.writeUInt32BE(size - FRAME_HEAD, 0)
  let pos = out.writeUInt32BE(replies.length, FRAME_HEAD)
  for (const reply of replies) {
    pos = out.writeUInt32BE(reply.id, pos)
    const outcome = OUTCOMES.indexOf(reply.outcome)
    pos = out.writeUInt8((outcome << 1) | (reply.keepAlive ? FLAG_KEEP_ALIVE : 0), pos)
    pos = out.writeUInt32BE(reply.response.length, pos)
    out.set(reply.response, pos)
    pos += reply.response.length
  }
  return out
}

export function decodeReplies(batch: Uint8Array): TrackerReply[] {
  const reader = new BatchReader(batch)
  const count = reader.u32()
  const replies: TrackerReply[] = []
  for (let i = 0; i < count; i++) {
    const id = reader.u32()
    const flags = reader.u8()
    const outcome = OUTCOMES[flags >> 1]
    if (outcome === undefined) throw new WorkerWireError(`reply ${id}: flags ${flags}`)
    const keepAlive = (flags & FLAG_KEEP_ALIVE) !== 0
    replies.push({ id, outcome, keepAlive, response: reader.bytes(reader.u32()) })
  }
  reader.end()
  return replies
}

class BatchReader {
  readonly #buf: Buffer
  #pos = 0

  constructor(batch: Uint8Array) {
    this.#buf = Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength)
  }

  u8(): number {
    this.#need(1)
    return this.#buf[this.#pos++]
  }

  u32(): number {
    this.#need(4)
    const v = this.#buf.readUInt32BE(this.#pos)
    this.#pos += 4
    return v
  }

  /** `n` bytes, as a view of the batch (no copy). */
  bytes(n: number): Buffer {
    this.#need(n)
    const out = this.#buf.subarray(this.#pos, this.#pos + n)
    this.#pos += n
    return out
  }

  end(): void {
    if (this.#pos !== this.#buf.length) {
      throw new WorkerWireError(`${this.#buf.length - this.#pos} bytes after the batch`)
    }
  }

  #need(n: number): void {
    if (this.#pos + n > this.#buf.length) {
      throw new WorkerWireError(`batch ends at ${this.#buf.length}, ${n} more bytes needed`)
    }
  }
}

/** Cuts a stream into the batches of its frames, whatever the reads it arrives in. */
export class FrameReader {
  #held: Buffer = Buffer.alloc(0)

  /** The batches `chunk` completes, in order; throws WorkerWireError past MAX_FRAME_BYTES. */
  push(chunk: Buffer): Buffer[] {
    let buf = this.#held.length ? Buffer.concat([this.#held, chunk]) : chunk
    const batches: Buffer[] = []
    while (buf.length >= FRAME_HEAD) {
      const length = buf.readUInt32BE(0)
      if (length > MAX_FRAME_BYTES) throw new WorkerWireError(`frame of ${length} bytes`)
      if (buf.length < FRAME_HEAD + length) break
      batches.push(buf.subarray(FRAME_HEAD, FRAME_HEAD + length))
      buf = buf.subarray(FRAME_HEAD + length)
    }
    this.#held = buf
    return batches
  }

  /** Bytes of a frame not yet whole. */
  get held(): number {
    return this.#held.length
  }
}

/**
 * Gathers items and hands them on together: once per turn of the event loop (every read
 * answered in one poll shares a message), or at once when `maxItems` are waiting.
 */
export class Batcher<T> {
  readonly #flush: (items: T[]) => void
  readonly #maxItems: number
  readonly #schedule: (run: () => void) => void
  #items: T[] = []
  #scheduled = false

  constructor(
    flush: (items: T[]) => void,
    maxItems: number,
    schedule: (run: () => void) => void = setImmediate,
  ) {
    if (!Number.isInteger(maxItems) || maxItems < 1) {
      throw new RangeError('maxItems must be a positive integer')
    }
    this.#flush = flush
    this.#maxItems = maxItems
    this.#schedule = schedule
  }

  add(item: T): void {
    this.#items.push(item)
    if (this.#items.length >= this.#maxItems) {
      this.flush()
      return
    }
    if (this.#scheduled) return
    this.#scheduled = true
    this.#schedule(this.#onSchedule)
  }

  /** Hands on whatever is waiting now. */
  flush(): void {
    if (this.#items.length === 0) return
    const items = this.#items
    this.#items = []
    this.#flush(items)
  }

  readonly #onSchedule = (): void => {
    this.#scheduled = false
    this.flush()
  }
}
