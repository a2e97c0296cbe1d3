// When a torrent short of peers announces again: trackers answer every 120 s (WebSocket) or
// 600 s (a classic tracker's interval), far too late for a download that found nobody, a
// bridge whose classic seed announced a moment after it did, or a pair of browsers whose
// connection attempts all died. While a torrent lacks peers it announces again after
// REANNOUNCE_MIN_MS, then twice as long each time up to REANNOUNCE_MAX_MS (so a swarm that is
// simply empty costs a tracker one announce a minute per torrent, not a flood); once it has
// them the spacing starts short again. When the caller sees the peer it lacks arrive at a
// tracker (a relay's bridge reads its own tracker's swarm), it may announce at once to meet
// it: a peer that never dials out is found in a second, not at the next backed-off announce.
// Pure: the caller passes the clock and does the announcing (app/lib/torrent-entry.svelte.ts,
// relay/bridge/announce-schedule.ts).

import { Backoff } from './backoff.ts'

/** First re-announce after a torrent is seen lacking peers: a tracker round trip and a
 * WebRTC connection take well under this on any link that works at all. */
export const REANNOUNCE_MIN_MS = 2_000
/** Longest spacing: an empty swarm asks about once a minute. */
export const REANNOUNCE_MAX_MS = 60_000

export class Reannounce {
  readonly #backoff: Backoff
  #lacking = false
  /** When it last said to announce. */
  #announcedAt = -Infinity

  /** `random` spreads the announces of many torrents that lost their peers together. */
  constructor(random: () => number = Math.random) {
    this.#backoff = new Backoff({
      minMs: REANNOUNCE_MIN_MS,
      maxMs: REANNOUNCE_MAX_MS,
      jitter: 0.25,
      random,
    })
  }

  /** Called on a timer with whether the torrent lacks peers now; true when it should
   * announce now. The first call that sees it lacking only starts the wait: it has just
   * announced, or just lost its peers. */
  due(now: number, lacking: boolean): boolean {
    if (!lacking) {
      this.#lacking = false
      this.#backoff.reset()
      return false
    }
    if (!this.#lacking) {
      this.#lacking = true
      this.#backoff.defer(now)
      return false
    }
    if (this.#backoff.wait(now) > 0) return false
    this.#backoff.defer(now)
    this.#announcedAt = now
    return true
  }

  /** Called when a peer of the kind the torrent lacks has just been seen at a tracker; true
   * when it should announce now to meet it. At most once per REANNOUNCE_MIN_MS, however often
   * peers come and go (a tracker's counts are only a hint, and a hostile client can move
   * them); the backed-off spacing then starts short again. */
  arrived(now: number): boolean {
    if (now - this.#announcedAt < REANNOUNCE_MIN_MS) return false
    this.#announcedAt = now
    this.#lacking = true
    this.#backoff.reset()
    this.#backoff.defer(now)
    return true
  }
}
