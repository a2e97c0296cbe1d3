// Changing the trackers of a running torrent. Why this exists: a torrent re-homes when a
// relay refers it to the owners of its hash or an owner dies (app/lib/rehome.ts), and stock
// WebTorrent has no public API for that; removing and re-adding the torrent would drop its
// peers and, for a download, its pieces. So this reaches into the one internal part
// involved, and nothing else: `torrent.discovery` (torrent-discovery) holds the announce
// list in `_announce` and its bittorrent-tracker Client in `tracker`, whose `_trackers` are
// one tracker object per URL. Trackers that stay are left alone (their socket, timers and
// the WebRTC offers they have out: an answer on its way still finds its offer); the ones
// that go are told the torrent stopped and destroyed (shared sockets stay open for other
// torrents); new ones are made as the Client makes them and sent 'started'. Where that
// cannot be done exactly (a new tracker of a kind the Client holds none of), the whole
// Client is replaced, as torrent-discovery's own `updatePort()` does. Peers already
// connected belong to the torrent's wires and are untouched either way.
//
// Checked against webtorrent 3.0.21's dist/webtorrent.min.js (torrent-discovery 11,
// bittorrent-tracker 11). discovery-trackers.test.ts runs that bundle and fails if this
// shape changes.

import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'

/** The part of bittorrent-tracker's WebSocketTracker read here. */
interface TrackerInternals {
  announceUrl: string
  destroyed: boolean
  announce(opts: object): void
  setInterval(ms?: number): void
  destroy(cb?: () => void): void
  /** True from the moment its socket closed or failed until it connects again. */
  reconnecting: boolean
  /** The pending reconnect while `reconnecting`. */
  reconnectTimer?: ReturnType<typeof setTimeout> | null
}

/** bittorrent-tracker's Client, as torrent-discovery holds it. */
interface TrackerClientInternals {
  _trackers: TrackerInternals[]
  /** Announces to every tracker now, with no event (the regular re-announce). */
  update(opts?: object): void
  _defaultAnnounceOpts(opts: object): object
  stop(): void
  destroy(cb?: () => void): void
  on(event: 'error', listener: () => void): void
  removeListener(event: string, listener: unknown): void
}

interface DiscoveryInternals {
  destroyed: boolean
  _announce: string[] | null
  tracker: TrackerClientInternals | null
  _createTracker(): TrackerClientInternals
  _onWarning: unknown
  _onError: unknown
  _onTrackerPeer: unknown
  _onTrackerAnnounce: unknown
}

function discoveryOf(torrent: Torrent): DiscoveryInternals | null {
  const d = (torrent as unknown as { discovery?: DiscoveryInternals | null }).discovery
  if (!d || d.destroyed || typeof d._createTracker !== 'function') return null
  return d
}

/** Whether the running torrent's trackers can be read and changed (its discovery started:
 * a download right away, a seed once hashed). */
export function canChangeTrackers(torrent: Torrent): boolean {
  return !torrent.destroyed && discoveryOf(torrent)?.tracker != null
}

/** The trackers the torrent announces to now (as the client spells them, no trailing
 * slash), or null before its discovery started. */
export function currentTrackers(torrent: Torrent): string[] | null {
  const tracker = discoveryOf(torrent)?.tracker
  if (!tracker || !Array.isArray(tracker._trackers)) return null
  return tracker._trackers.map((t) => t.announceUrl)
}

/** Announces to every tracker now instead of at the interval (a torrent that lost or never
 * found its peers asks again soon, shared/reannounce.ts); false before its discovery started. */
export function announceNow(torrent: Torrent): boolean {
  const tracker = discoveryOf(torrent)?.tracker
  if (torrent.destroyed || !tracker || typeof tracker.update !== 'function') return false
  tracker.update()
  return true
}

/** Trackers whose WebSocket is down (closed or failed, waiting to reconnect). */
export function downTrackers(torrent: Torrent): string[] {
  const tracker = discoveryOf(torrent)?.tracker
  if (!tracker || !Array.isArray(tracker._trackers)) return []
  return tracker._trackers.filter((t) => t.reconnecting === true).map((t) => t.announceUrl)
}

/**
 * Announces to `announce` from now on instead: trackers in both lists carry on untouched
 * (unless their socket is down: those are made afresh), the old ones alone are told the
 * torrent stopped, the new ones get a 'started' announce with the torrent's figures.
 * Returns false, changing nothing, before the torrent's discovery started.
 */
export function replaceTrackers(torrent: Torrent, announce: readonly string[]): boolean {
  if (torrent.destroyed) return false
  const d = discoveryOf(torrent)
  const client = d?.tracker
  if (!d || !client) return false
  if (!Array.isArray(client._trackers) || !editTrackers(client, announce)) {
    replaceClient(d, client, announce)
  }
  d._announce = [...announce]
  return true
}

/** As bittorrent-tracker's Client spells a tracker URL (no trailing slash). */
const spelled = (url: string) => (url.endsWith('/') ? url.slice(0, -1) : url)

/** Edits the Client's trackers in place; false, changing nothing, where a new tracker would
 * be of a kind it holds no example of (its constructor is read off one it has). */
function editTrackers(client: TrackerClientInternals, announce: readonly string[]): boolean {
  const wanted = [...new Set(announce.map(spelled))]
  // A tracker whose socket is down is made afresh (TorrentEntry#reconnect asks for the same
  // trackers to get new sockets in place of dead ones).
  const live = (t: TrackerInternals) => !t.destroyed && t.reconnecting !== true
  const kept = client._trackers.filter((t) => wanted.includes(t.announceUrl) && live(t))
  const gone = client._trackers.filter((t) => !kept.includes(t))
  const added = wanted.filter((url) => !kept.some((t) => t.announceUrl === url) && allowed(url))
  const ctorFor = (url: string) =>
    client._trackers.find((t) => sameKind(t.announceUrl, url))?.constructor as
      (new (client: TrackerClientInternals, url: string) => TrackerInternals) | undefined
  if (added.some((url) => !ctorFor(url))) return false
  const made = added.map((url) => new (ctorFor(url)!)(client, url))
  for (const t of gone) t.announce(client._defaultAnnounceOpts({ event: 'stopped' }))
  disarmReconnects({ _trackers: gone })
  for (const t of gone) t.destroy()
  client._trackers = [...kept, ...made]
  for (const t of made) {
    t.announce(client._defaultAnnounceOpts({ event: 'started' }))
    t.setInterval()
  }
  return true
}

/** Whether the Client would make a tracker for `url` here: it refuses ws: on an https page
 * (the browser would block it as mixed content). */
function allowed(url: string): boolean {
  const page = typeof location === 'undefined' ? '' : location.protocol
  return !(page === 'https:' && url.startsWith('ws:'))
}

/** Whether two tracker URLs take the same kind of tracker object (ws/wss, http/https, udp). */
function sameKind(a: string, b: string): boolean {
  const kind = (url: string) => url.slice(0, url.indexOf(':')).replace(/s$/, '')
  return kind(a) === kind(b)
}

/** Replaces the whole Client: stops the old one, starts a new one from `announce`. */
function replaceClient(
  d: DiscoveryInternals,
  old: TrackerClientInternals,
  announce: readonly string[],
): void {
  old.removeListener('warning', d._onWarning)
  old.removeListener('peer', d._onTrackerPeer)
  old.removeListener('update', d._onTrackerAnnounce)
  old.removeListener('error', d._onError)
  // An 'error' with no listener would throw; the old client's news no longer matters.
  old.on('error', () => {})
  // Stop first: where old and new share a tracker (and so one pooled socket), 'stopped'
  // then goes out before the new 'started'.
  old.stop()
  d._announce = [...announce]
  d.tracker = d._createTracker()
  disarmReconnects(old)
  old.destroy()
}

/**
 * Cancels the reconnects the client's WebSocket trackers have pending, before the client is
 * destroyed. Why: in bittorrent-tracker 11 a WebSocketTracker whose socket closed marks itself
 * destroyed and arms a reconnect timer (10 s to 5 min); destroy() then returns at once, seeing
 * it destroyed, and leaves that timer armed, so the tracker comes back on its own and announces
 * for a client nobody listens to. Such a zombie, with the torrent's peer id, answers offers
 * from other peers with WebRTC connections that no torrent takes up: the other side waits on
 * a dead peer while the live tracker's answer to the same offer is ignored. A torrent
 * re-homes exactly when a tracker is down (rehome.ts) and reconnects after the browser was
 * offline, so this is the common case here, not a corner.
 */
export function disarmReconnects(client: Pick<TrackerClientInternals, '_trackers'>): void {
  if (!Array.isArray(client._trackers)) return
  for (const t of client._trackers) {
    if (t.reconnectTimer == null) continue
    clearTimeout(t.reconnectTimer)
    t.reconnectTimer = null
  }
}

/** Cancels pending tracker reconnects of a torrent about to be removed (see
 * disarmReconnects): its trackers must not come back after it is gone. */
export function quietTrackers(torrent: Torrent): void {
  const tracker = discoveryOf(torrent)?.tracker
  if (tracker) disarmReconnects(tracker)
}
