// One TURN client over TCP or TLS (RFC 8656 §3.1): the stream is cut into frames, each a STUN
// message (length in its header) or ChannelData padded to a multiple of 4 (§12.5). Frames
// larger than MAX_TURN_MESSAGE_BYTES, or bytes that are neither, close the connection, so a
// connection never holds more than one partial frame. Writes to a reader that does not keep
// up are dropped past MAX_TURN_STREAM_WRITE_BUFFER_BYTES, as UDP would drop them.

import type { Socket } from 'node:net'
import {
  MAX_TURN_MESSAGE_BYTES,
  MAX_TURN_STREAM_WRITE_BUFFER_BYTES,
  TURN_STREAM_IDLE_MS,
} from '../limits.ts'
import type { ClientLink } from './allocations.ts'
import { encodeChannelData, frameLength } from './stun-message.ts'

export interface TurnStreamHandlers {
  /** A STUN message; false if malformed (the connection is then closed). */
  onStun(frame: Buffer): boolean
  onChannelData(frame: Buffer): void
  onClose(): void
  hasAllocation(): boolean
}

export class TurnStream {
  readonly link: ClientLink
  readonly #socket: Socket
  readonly #handlers: TurnStreamHandlers
  /** The start of a frame not yet complete. */
  #pending: Buffer | null = null

  constructor(
    socket: Socket,
    id: string,
    transport: 'tcp' | 'tls',
    ip: string,
    port: number,
    handlers: TurnStreamHandlers,
  ) {
    this.#socket = socket
    this.#handlers = handlers
    const writable = () =>
      !socket.destroyed && socket.writableLength <= MAX_TURN_STREAM_WRITE_BUFFER_BYTES
    this.link = {
      id,
      transport,
      ip,
      port,
      send: (message) => {
        if (writable()) socket.write(message)
      },
      sendChannelData: (channel, data) => {
        if (writable()) socket.write(encodeChannelData(channel, data, true))
      },
      isOpen: () => !socket.destroyed,
      freed: () => socket.setTimeout(TURN_STREAM_IDLE_MS),
    }
    socket.setNoDelay?.(true)
    socket.setTimeout(TURN_STREAM_IDLE_MS, () => {
      if (!handlers.hasAllocation()) socket.destroy()
    })
    socket.on('data', (chunk: Buffer) => this.#read(chunk))
    socket.on('error', () => {})
    socket.on('close', () => handlers.onClose())
  }

  destroy(): void {
    this.#socket.destroy()
  }

  #read(chunk: Buffer): void {
    // A frame split across reads is joined with the next read (one copy of that read, small
    // beside the sends it causes).
    const buf = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk
    this.#pending = null
    let at = 0
    while (at < buf.length) {
      let length
      try {
        length = streamFrameLength(buf, at)
      } catch {
        this.destroy()
        return
      }
      if (length > MAX_TURN_MESSAGE_BYTES) {
        this.destroy()
        return
      }
      if (length === 0 || buf.length - at < length) {
        // Copied, so a small remainder does not keep a large read alive.
        this.#pending = Buffer.from(buf.subarray(at))
        return
      }
      if (!this.#frame(buf.subarray(at, at + length))) return
      at += length
    }
  }

  /** False when the frame closed the connection. */
  #frame(frame: Buffer): boolean {
    if (this.#socket.destroyed) return false
    if (frame[0] & 0x40) {
      this.#handlers.onChannelData(frame)
      return true
    }
    if (this.#handlers.onStun(frame)) return true
    this.destroy()
    return false
  }
}

/** `frameLength`, tolerant of unpadded ChannelData: RFC 8656 §12.5 pads it over TCP (browsers
 * do), but RFC 5766 clients that do not (coturn's uclient by default) are recognised by a
 * ChannelData header starting where the padding would be. Padding is zeros in practice, and a
 * zero byte never starts ChannelData. */
export function streamFrameLength(buf: Buffer, at: number): number {
  const length = frameLength(buf, at)
  if (length === 0 || (buf[at] & 0xc0) !== 0x40) return length
  const bare = 4 + buf.readUInt16BE(at + 2)
  if (bare < length && buf.length > at + bare && (buf[at + bare] & 0xc0) === 0x40) return bare
  return length
}
