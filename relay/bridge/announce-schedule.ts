// When one bridged torrent announces again, besides its trackers' intervals. The bridge exists
// to join both sides, so while a side has no connected peer it announces on the backed-off
// schedule of shared/reannounce.ts (2 s doubling to a minute). And while it still downloads
// with no classic peer, a classic seed newly counted by the relay's own tracker makes it
// announce at once: that seed may never dial the bridge (Transmission dials no 127.0.0.0/8
// address; a client at its connection limit dials no one), so the bridge must dial it, and
// learns its address only from an announce. Issue 25: a seed that announced after the bridge
// left it at `classic: 0` for the whole 600 s interval.

import { Reannounce } from '../../shared/reannounce.ts'

/** Connected peers of a bridged torrent, by side. */
export interface SidePeers {
  classic: number
  webrtc: number
}

export interface AnnounceCheck {
  connected: SidePeers
  /** The torrent has every piece. */
  done: boolean
  /** Classic seeders the relay's own tracker counts for the hash now. */
  classicSeeders: number
}

export class BridgeAnnounceSchedule {
  readonly #reannounce: Reannounce
  #classicSeeders: number

  /** `classicSeeders`: the tracker's count when the torrent was added (its first announce
   * meets those). */
  constructor(classicSeeders: number, random: () => number = Math.random) {
    this.#reannounce = new Reannounce(random)
    this.#classicSeeders = classicSeeders
  }

  /** Called every second or so; true when the torrent should announce now. */
  check(now: number, { connected, done, classicSeeders }: AnnounceCheck): boolean {
    const seedArrived = classicSeeders > this.#classicSeeders
    this.#classicSeeders = classicSeeders
    if (seedArrived && connected.classic === 0 && !done && this.#reannounce.arrived(now)) {
      return true
    }
    return this.#reannounce.due(now, connected.classic === 0 || connected.webrtc === 0)
  }
}
