// Re-homing a torrent: moving its announces to the supernodes that own its hash, without the
// user noticing (issue 4: "follows it without the user noticing"; "clients retry there").
// Three things start it:
//   - a referral: a relay answered "not tracked here" or "moved" (referral.ts);
//   - a dead owner: a tracker's socket stayed down (discovery-trackers.ts downTrackers);
//   - news: the page read the supernodes for the first time, or again.
// Each time the page reads the supernodes again (from the origin, else a supernode it knows),
// works out the owners (trackers.ts, with the nodes it saw die left out), and swaps
// the torrent's trackers if they differ. Attempts on one torrent are spaced by a delay that
// doubles up to REHOME_MAX_DELAY_MS and goes back to the start once a tracker answers, so a
// relay that keeps referring, or a network that is down, costs a request every few minutes
// and never a loop.

import { Backoff } from '../../shared/backoff.ts'
import { parseReferral, type Referral } from './referral.ts'
import { announceList, ownerTrackers, preferOrigin, sameTrackers, trackerKey } from './trackers.ts'
import { trackerRelay, type SupernodeView } from './supernode-view.ts'

/** First delay between two re-homes of one torrent. */
export const REHOME_MIN_DELAY_MS = 2_000
/** Longest delay: a referral or a failure every interval costs one read in this long. */
export const REHOME_MAX_DELAY_MS = 5 * 60_000
/** How long a tracker's socket must stay down before its supernode counts as dead: the
 * stock client closes and reopens sockets on its own, and one blip is no death. */
export const DOWN_AFTER_MS = 3_000

export type RehomeReason =
  { kind: 'referral'; referral: Referral } | { kind: 'down'; trackers: string[] } | { kind: 'news' }

/** What the page tells a torrent's home about itself. */
export interface HomeContext {
  /** The relay that served the page (http origin) and its WebSocket tracker. */
  origin: string
  originTracker: string
  secure: boolean
  /** Catalog relays besides the origin. */
  relays(): readonly string[]
  view: SupernodeView
  now?: () => number
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (timer: unknown) => void
}

/** The torrent side: its hash, the trackers its link brought, the trackers it announces to,
 * and how to change them. */
export interface HomedTorrent {
  readonly infoHash: string
  readonly fromLink: readonly string[]
  readonly trackers: readonly string[]
  /** Announces to `trackers` from now on; false when that is not possible yet. */
  retarget(trackers: string[], reason: RehomeReason): boolean
}

/** The announce list for a hash from what the page knows now. A referral's trackers are
 * used only while no supernode record is known: records are verified, referral text is not. */
export function planTrackers(
  ctx: HomeContext,
  torrent: Pick<HomedTorrent, 'infoHash' | 'fromLink'>,
  options: { referral?: Referral } = {},
): string[] {
  const known = ctx.view.records
  const records = known && preferOrigin(known, ctx.view.idOf(ctx.origin), ctx.origin)
  let owners =
    records && torrent.infoHash
      ? ownerTrackers(torrent.infoHash, records, ctx.secure, ctx.view.dead())
      : []
  if (owners.length === 0 && options.referral) owners = options.referral.trackers
  const list = announceList({
    origin: ctx.originTracker,
    owners,
    records: records ?? [],
    relays: ctx.relays(),
    fromLink: torrent.fromLink,
    secure: ctx.secure,
  })
  // A tracker seen dead lately (a link may still name it) is left out while any other remains.
  const up = list.filter((t) => !ctx.view.isDown(t))
  return up.length ? up : list
}

/**
 * Where to read the supernodes for a re-home, best first. The origin always comes first: it
 * is the relay this page trusts (it served the code), and a list read elsewhere replaces
 * the page's whole view, so a tracker a link or a referral named must not get to write it.
 * Only when the origin does not answer are other known supernodes asked: for a referral,
 * the torrent's trackers it did not name (one of them sent it), then the owners it named;
 * otherwise the torrent's trackers still up.
 */
export function readSources(
  ctx: Pick<HomeContext, 'origin'>,
  current: readonly string[],
  reason: RehomeReason,
  known: (tracker: string) => boolean,
): string[] {
  const relayOf = (ts: readonly string[]) => ts.filter(known).flatMap((t) => trackerRelay(t) ?? [])
  let fallback: string[]
  if (reason.kind === 'referral') {
    const named = new Set(reason.referral.trackers.map(trackerKey))
    const referrers = current.filter((t) => !named.has(trackerKey(t)))
    fallback = [...relayOf(referrers), ...relayOf(reason.referral.trackers)]
  } else {
    const down = new Set(reason.kind === 'down' ? reason.trackers.map(trackerKey) : [])
    fallback = relayOf(current.filter((t) => !down.has(trackerKey(t))))
  }
  return [...new Set([ctx.origin, ...fallback])]
}

/** One torrent's re-homing: takes triggers, spaces them, and swaps its trackers. */
export class TorrentHome {
  /** Re-homes done (trackers actually changed), for the network view. */
  moves = 0
  /** Why the trackers last changed. */
  lastReason: RehomeReason | null = null

  readonly #ctx: HomeContext
  readonly #torrent: HomedTorrent
  readonly #backoff = new Backoff({ minMs: REHOME_MIN_DELAY_MS, maxMs: REHOME_MAX_DELAY_MS })
  readonly #now: () => number
  /** Since when each tracker (by trackerKey) has been down. */
  readonly #downSince = new Map<string, number>()
  #pending: RehomeReason | null = null
  #timer: unknown = null
  #running = false
  #disposed = false

  constructor(ctx: HomeContext, torrent: HomedTorrent) {
    this.#ctx = ctx
    this.#torrent = torrent
    this.#now = ctx.now ?? Date.now
  }

  /** Reads a torrent warning; true when it was a referral (and is handled here). */
  onWarning(message: string): boolean {
    const referral = parseReferral(message)
    if (!referral) return false
    this.request({ kind: 'referral', referral })
    return true
  }

  /** A tracker answered a normal announce: the next re-home starts from the shortest delay. */
  onAnswered(): void {
    this.#backoff.reset()
  }

  /** Told, now and then, which trackers are down; re-homes once one stayed down
   * DOWN_AFTER_MS. */
  onDown(down: readonly string[]): void {
    const now = this.#now()
    const keys = new Set(down.map(trackerKey))
    for (const key of this.#downSince.keys()) if (!keys.has(key)) this.#downSince.delete(key)
    for (const key of keys) if (!this.#downSince.has(key)) this.#downSince.set(key, now)
    const dead = this.#torrent.trackers.filter((t) => {
      const since = this.#downSince.get(trackerKey(t))
      return since !== undefined && now - since >= DOWN_AFTER_MS
    })
    if (dead.length) this.request({ kind: 'down', trackers: dead })
  }

  /** Asks for a re-home; several asks while one waits or runs become one (the referral or
   * failure kept over mere news). */
  request(reason: RehomeReason): void {
    if (this.#disposed) return
    if (!this.#pending || this.#pending.kind === 'news') this.#pending = reason
    this.#schedule()
  }

  dispose(): void {
    this.#disposed = true
    if (this.#timer !== null) (this.#ctx.clearTimer ?? clearTimeout)(this.#timer as number)
    this.#timer = null
  }

  /** Runs the pending re-home now or when the backoff allows; returns when it ran (for tests). */
  #schedule(): void {
    if (this.#running || this.#timer !== null || !this.#pending) return
    const wait = this.#backoff.wait(this.#now())
    if (wait === 0) {
      void this.#run()
      return
    }
    this.#timer = (this.#ctx.setTimer ?? setTimeout)(() => {
      this.#timer = null
      this.#schedule()
    }, wait)
  }

  async #run(): Promise<void> {
    const reason = this.#pending
    if (!reason) return
    this.#pending = null
    this.#running = true
    this.#backoff.defer(this.#now())
    try {
      await this.rehome(reason)
    } finally {
      this.#running = false
      this.#schedule()
    }
  }

  /** One re-home, now: read the supernodes, plan, swap. True when the trackers changed. */
  async rehome(reason: RehomeReason): Promise<boolean> {
    const ctx = this.#ctx
    const current = this.#torrent.trackers
    if (reason.kind !== 'news') {
      const known = (t: string) => ctx.view.idsOf([t]).length > 0
      await ctx.view.read(readSources(ctx, current, reason, known))
    }
    const down = reason.kind === 'down' ? reason.trackers : []
    if (down.length) ctx.view.markDown(down)
    const next = planTrackers(ctx, this.#torrent, {
      referral: reason.kind === 'referral' ? reason.referral : undefined,
    })
    if (this.#disposed || sameTrackers(next, current)) return false
    if (!this.#torrent.retarget(next, reason)) return false
    for (const t of down) this.#downSince.delete(trackerKey(t))
    this.moves++
    this.lastReason = reason
    return true
  }
}
