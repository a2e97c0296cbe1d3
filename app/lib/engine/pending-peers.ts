// Which of two WebRTC connection attempts with the same peer a torrent keeps (a rule of
// add-peer.ts). Both browsers must keep the same attempt, or both attempts die and the two
// meet again only at the next announce (120 s on a WebSocket tracker).
//
// WebTorrent 3.0.21 keys peers by the remote peer id and, when a second peer with that id
// arrives, keeps the first and destroys the new one (Torrent#_addPeer, "ignoring peer:
// duplicate"). An answering attempt destroyed there never sends its answer (simple-peer
// makes it a tick later), so its offerer never hears of it. Three cases break "first wins":
// - A dead attempt. The other browser dropped its offer (a re-homed torrent replaces its
//   tracker client, rehome.ts; a tab reloads) after this side answered it. Kept, it blocks
//   every fresh attempt for WebTorrent's 25 s connect timeout, and with both sides announcing
//   every few seconds they can refuse each other for as long as they run
//   (e2e/supernodes.spec.ts caught that after a promotion).
// - Glare. Both browsers offer at once and each answers the other's offer: each then holds
//   the other's offer when the answer to its own arrives.
// - Two trackers. One browser's offers reach the other through two relays, and the answers
//   come back in another order than the offers went out.
// The rule, the same on both sides:
// - a connected peer is never replaced;
// - an attempt of ours the other side answered (an initiator: it is added when the answer
//   arrives, so the other side kept it) replaces an attempt still connecting, except in
//   glare while that attempt is young: then the offer of the lower peer id wins, on both
//   (with a stock WebTorrent peer ours wins: it registered ours before answering it);
// - an offer to answer while a young attempt is connecting is refused and left unanswered
//   (its answer is stopped on the way out), so the offerer hears of one attempt only; past GLARE_WINDOW_MS the old one counts as dead and
//   the fresh offer replaces it.

import { isMonsoonPeer } from '../peer-ids.ts'
import type { AddPeerRule } from './add-peer.ts'
import type { TorrentInternals } from './internals.ts'

/** How long a connecting attempt counts as alive against fresh offers: a WebRTC connection
 * through NAT and TURN forms in a few seconds; one still connecting later is taken for dead
 * (its answer never reached the other side). Short, since a dead attempt blocks that long. */
export const GLARE_WINDOW_MS = 8_000

interface Attempt {
  id?: unknown
  initiator?: unknown
}

/** A rule deciding between a new WebRTC attempt and one connecting with the same peer id.
 * `now` is injectable for tests. */
export function attemptRule(now: () => number = Date.now): AddPeerRule {
  const seen = new WeakMap<object, number>()
  return (torrent, peer, type) => {
    if (typeof peer !== 'object' || peer === null) return type
    const attempt = peer as Attempt
    if (typeof attempt.id !== 'string') return type
    const at = now()
    seen.set(peer, at)
    const old = torrent._peers?.get(attempt.id)
    if (!old || old.type !== 'webrtc' || old.connected || old.destroyed) return type
    const oldAttempt: Attempt = old.conn ?? {}
    const young = at - (seen.get(oldAttempt) ?? -Infinity) < GLARE_WINDOW_MS
    if (newReplacesOld(torrent, attempt, oldAttempt, young)) torrent.removePeer(attempt.id)
    // Otherwise WebTorrent refuses the new attempt as a duplicate. A refused offer must stay
    // unanswered: simple-peer still makes its answer after that destroy, and the tracker
    // client would send it (its listener is on the peer already), so the listener goes.
    else if (attempt.initiator !== true) silence(peer)
    return type
  }
}

function newReplacesOld(
  torrent: TorrentInternals,
  fresh: Attempt,
  old: Attempt,
  young: boolean,
): boolean {
  if (!young) return true
  const freshOurs = fresh.initiator === true
  const oldOurs = old.initiator === true
  // Two of our offers: the other side answered the fresh one, so it keeps that one.
  if (freshOurs && oldOurs) return true
  // Two of theirs: the first is being answered; the fresh one gets no answer.
  if (!freshOurs && !oldOurs) return false
  // Glare, ours against theirs: with another Monsoon peer the lower peer id's offer wins, on
  // both sides (as the mesh's introductions decide it, app/lib/mesh/introductions.ts). A
  // stock WebTorrent peer keeps whichever attempt it registered first and refuses the other,
  // but it registers an offer it answers when the offer arrives, before it answers, and its
  // own offer only when the answer comes back. So an answer from it means it holds our offer
  // and will refuse its own when our answer reaches it: ours wins, both ways round. Keeping
  // the one registered here first instead kept its offer while it kept ours, and both died
  // (relay/test/qbittorrent.test.ts: a stock seed answers 5 s late in Node, so its own
  // offer reaches the bridge first, and the bridge met it only after the 25 s timeout).
  if (!isMonsoonPeer(fresh.id as string)) return freshOurs
  const mine = torrent.client?.peerId
  if (typeof mine !== 'string') return true
  const ourOfferWins = mine < (fresh.id as string)
  return freshOurs === ourOfferWins
}

function silence(peer: object): void {
  const emitter = peer as { removeAllListeners?: (event: string) => unknown }
  emitter.removeAllListeners?.('signal')
}

/** The rule every Monsoon torrent runs, with the real clock. */
export const oneAttemptPerPeer: AddPeerRule = attemptRule()
