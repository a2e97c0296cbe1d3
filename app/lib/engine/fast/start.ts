// A bounded start for each WebRTC connection we upload on: the peer may keep only
// START_REQQ blocks asked for (BEP 10's `reqq`) until Chromium first drops one of our packets,
// then the bound goes (a second extended handshake without it).
//
// Why: Chromium's renderer hands each UDP packet of a peer connection to the network process
// and drops it while 640 KiB are already on their way there (IpcPacketSocket,
// "MaxPendingBytesWouldBlock" in the `p2p` trace category); on a busy machine the network
// process falls that far behind for some tens of milliseconds now and then. SCTP's slow start
// grows its window for as long as the sender has data and nothing is lost, so with a second
// of requests to answer (WebTorrent's pipeline, ~20 MiB here) the window is megabytes wide by
// the first such hiccup: hundreds of packets go at once, and SCTP then sent next to nothing
// for 1.3-2.3 s of retransmission timeouts (bench/README.md, "Seeing a transfer's start-up
// stall"). Once SCTP has lost packets its window grows by a packet per round trip, not
// doubling, and the raw channel of bench/transfer dropped nothing more for the rest of a
// 256 MiB transfer. So the bound holds only until that first loss, and keeps the window
// small for it: a megabyte asked for at a time. A drop is what tells: Chromium counts them
// in the candidate pair's `packetsDiscardedOnSend`.
//
// Measured (bench/transfer's pair, 256 MiB, 2 cores; a stall shows as more than ~2.1 s to the
// first tenth): without the bound, 5 of 10 alternating transfers stalled; with it, none of
// 10, and 2 of the 20 rounds of four `transfer` runs (the raw channel's: 19 of 20). The first
// drop came 0.17-0.46 s in; one transfer in ten dropped nothing, had the bound lifted at
// START_MAX_MS, and did not stall either. Held for a whole transfer, a 1 MiB bound costs ~20 %
// of the speed (the request loop's round trip), which is why it does not stay.
//
// The bound is BEP 10's own (`reqq`: "the number of outstanding request messages this client
// supports without dropping any"), which WebTorrent honours (getBlockPipelineLength), and BEP
// 10 lets a peer send its handshake again to change what it said. Stock peers get the same.

import type { SimplePeerInternals, WireInternals } from '../internals.ts'

/** The requests (of 16 KiB blocks) a peer may keep out to us while the connection starts:
 * 1 MiB. */
export const START_REQQ = 64
/** How often the connection's stats are read for drops while the bound holds. */
export const START_POLL_MS = 25
/** The bound goes this long after the first block we upload even if nothing was dropped. */
export const START_MAX_MS = 2000

/** A wire whose handshake can be sent again (checked in boundStart). */
type HandshakingWire = WireInternals &
  Required<Pick<WireInternals, 'extendedHandshake' | '_sendExtendedHandshake'>>

/** Packets our side of `pc` dropped on send, over its candidate pairs. */
export async function discardedOnSend(
  pc: NonNullable<SimplePeerInternals['_pc']>,
): Promise<number> {
  let dropped = 0
  for (const s of (await pc.getStats()).values()) {
    if (s.type !== 'candidate-pair') continue
    const n = s.packetsDiscardedOnSend
    if (typeof n === 'number' && Number.isFinite(n)) dropped += n
  }
  return dropped
}

/** How a bounded start ended: a drop, START_MAX_MS without one, stats that could not be
 * read (the bound goes: stock behaviour), or the connection closed first. */
export type StartEnd = 'dropped' | 'timeout' | 'no-stats' | 'closed'

export interface StartOptions {
  maxMs?: number
  pollMs?: number
  /** Hears how the start ended. */
  done?: (end: StartEnd) => void
}

/**
 * Bounds the peer's requests on `wire` (a WebRTC wire, `conn` its simple-peer) from its
 * extended handshake on, until a drop or `maxMs` after the first upload. Call on the
 * torrent's 'wire' event, before our extended handshake goes.
 */
export function boundStart(
  w: WireInternals,
  conn: SimplePeerInternals,
  { maxMs = START_MAX_MS, pollMs = START_POLL_MS, done }: StartOptions = {},
): boolean {
  const wire = w as HandshakingWire
  const pc = conn._pc
  if (!pc || typeof pc.getStats !== 'function') return false
  if (typeof wire.extendedHandshake !== 'object' || wire.extendedHandshake === null) return false
  if (typeof wire._sendExtendedHandshake !== 'function') return false
  const handshake = wire.extendedHandshake
  const had = Object.hasOwn(handshake, 'reqq')
  const own = handshake.reqq
  handshake.reqq = typeof own === 'number' && own > 0 ? Math.min(own, START_REQQ) : START_REQQ
  let over = false
  const end = (why: StartEnd) => {
    if (over) return
    over = true
    if (had) handshake.reqq = own
    else delete handshake.reqq
    const open = !wire.destroyed && !wire._finished && !conn.destroyed
    if (why !== 'closed' && open && wire._extendedHandshakeSent) wire._sendExtendedHandshake()
    done?.(why)
  }
  wire.once('close', () => end('closed'))
  wire.once('upload', () => {
    const since = performance.now()
    const poll = async () => {
      if (over) return
      if (wire.destroyed || conn.destroyed) return end('closed')
      let dropped = 0
      try {
        dropped = await discardedOnSend(pc)
      } catch {
        return end('no-stats')
      }
      if (dropped > 0) return end('dropped')
      if (performance.now() - since >= maxMs) return end('timeout')
      setTimeout(() => void poll(), pollMs)
    }
    void poll()
  })
  return true
}
