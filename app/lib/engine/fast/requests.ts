// Larger block requests between two Monsoon peers, agreed in the BEP 10 extended handshake;
// stock peers keep getting BEP 3's 16 KiB requests.
//
// Why: every 16 KiB block costs a request message, a store read, a piece message, a
// callback and a speed-meter tick on each side; at 30 MiB/s that is ~2,000 of each a
// second on a 2-core machine. WebTorrent's scheduler (Torrent#_request) keeps asking for
// 16 KiB blocks, one Request each in `wire.requests` (what its pipeline counts); only the
// messages change: consecutive blocks of a piece asked in the same tick go out as one
// request for up to REQUEST_MAX_BYTES, and the answer is cut back into the blocks asked
// for before the wire sees it. WebTorrent 3.0.21 serves requests up to 128 KiB
// (MAX_BLOCK_LENGTH in lib/torrent.js; larger ones close the connection), the figure we
// advertise; a peer that does not advertise it is never sent one.

import type { WireInternals } from '../internals.ts'

/** BEP 3's block: what WebTorrent asks for, and what a merged request is cut back into. */
export const BLOCK_BYTES = 16 * 1024
/** The largest request we send or advertise: what a WebTorrent 3.0.21 peer serves. */
export const REQUEST_MAX_BYTES = 128 * 1024
/** Our key in the BEP 10 extended handshake: the largest request this peer serves. */
export const HANDSHAKE_KEY = 'monsoon_request_max'

export interface BlockRequest {
  index: number
  offset: number
  length: number
}

/** Runs of consecutive requests (same piece, each starting where the last ended) joined
 * into requests of at most `max` bytes, in the order given. */
export function mergeRuns(requests: readonly BlockRequest[], max: number): BlockRequest[] {
  const out: BlockRequest[] = []
  let run: BlockRequest | null = null
  for (const r of requests) {
    if (
      run &&
      r.index === run.index &&
      r.offset === run.offset + run.length &&
      run.length + r.length <= max
    ) {
      run.length += r.length
    } else {
      if (run) out.push(run)
      run = { ...r }
    }
  }
  if (run) out.push(run)
  return out
}

/** The request size a peer's extended handshake allows us: its advertised maximum, capped
 * at ours, in whole blocks; 0 when it does not take more than one block. */
export function agreedRequestBytes(handshake: unknown): number {
  const theirs = (handshake as Record<string, unknown> | null)?.[HANDSHAKE_KEY]
  if (typeof theirs !== 'number' || !Number.isSafeInteger(theirs)) return 0
  const bytes = Math.min(theirs, REQUEST_MAX_BYTES)
  const whole = bytes - (bytes % BLOCK_BYTES)
  return whole > BLOCK_BYTES ? whole : 0
}

interface RequestingWire extends WireInternals {
  extendedHandshake: Record<string, unknown>
  peerExtendedHandshake: unknown
  request(index: number, offset: number, length: number, cb: (...a: never[]) => void): void
  _onPiece(index: number, offset: number, buffer: Uint8Array): void
  _onReject(index: number, offset: number, length: number): void
}

/**
 * Advertises our maximum in the wire's extended handshake (call before it is sent: on the
 * torrent's 'wire' event), and once the peer's handshake shows it takes larger requests,
 * merges ours. Call after batchWire (it sends through the wire's `_message`).
 */
export function mergeRequests(w: WireInternals): boolean {
  const wire = w as RequestingWire
  const { request, _onPiece: onPiece, _onReject: onReject, _message: message } = wire
  if (typeof request !== 'function' || typeof onPiece !== 'function') return false
  if (typeof onReject !== 'function' || typeof wire.extendedHandshake !== 'object') return false
  wire.extendedHandshake[HANDSHAKE_KEY] = REQUEST_MAX_BYTES

  let agreed = false
  wire.on('extended', (ext: string, info: unknown) => {
    // BEP 10 lets a peer send its handshake again (start.ts does, to lift its `reqq`): the
    // first one settles the request size for the connection.
    if (ext !== 'handshake' || agreed) return
    agreed = true
    const max = agreedRequestBytes(info)
    if (max === 0) return
    let pending: BlockRequest[] = []
    let registering = false
    const flush = () => {
      const runs = mergeRuns(pending, max)
      pending = []
      for (const r of runs) message.call(wire, 6, [r.index, r.offset, r.length], null)
    }
    // bittorrent-protocol's request(): checks, then one Request in `requests` (what WebTorrent
    // counts and what answers are matched to), then the message, held back here.
    wire._message = (id, numbers, data) => {
      if (!(registering && id === 6)) message.call(wire, id, numbers, data)
    }
    wire.request = (index, offset, length, cb) => {
      const before = wire.requests.length
      registering = true
      try {
        request.call(wire, index, offset, length, cb)
      } finally {
        registering = false
      }
      if (wire.requests.length === before) return // refused (choked, closed): cb has the error
      if (pending.length === 0) queueMicrotask(flush)
      pending.push({ index, offset, length })
    }
    // An answer to a merged request: the blocks that were asked for, each as its own answer.
    wire._onPiece = (index, offset, buffer) => {
      if (buffer.length <= BLOCK_BYTES) return onPiece.call(wire, index, offset, buffer)
      for (let at = 0; at < buffer.length; at += BLOCK_BYTES) {
        onPiece.call(wire, index, offset + at, buffer.subarray(at, at + BLOCK_BYTES))
      }
    }
    // BEP 6 reject of a merged request: every block in it.
    wire._onReject = (index, offset, length) => {
      if (length <= BLOCK_BYTES) return onReject.call(wire, index, offset, length)
      for (let at = 0; at < length; at += BLOCK_BYTES) {
        onReject.call(wire, index, offset + at, Math.min(BLOCK_BYTES, length - at))
      }
    }
  })
  return true
}
