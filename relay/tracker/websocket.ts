// The WebTorrent tracker protocol over WebSocket (the one bittorrent-tracker and aquatic_ws
// speak): JSON messages whose `info_hash`, `peer_id`, `offer_id` and `to_peer_id` are
// 20-char "binary strings" (one char per byte). Browsers announce with WebRTC offers; the
// tracker forwards each offer to a random peer of the swarm and routes the answer back.

import {
  DEFAULT_NUMWANT,
  MAX_OFFERS,
  MAX_OFFERS_AWAITING_ANSWER,
  MAX_SCRAPE_HASHES,
  MAX_SDP_BYTES,
  MAX_SWARMS_PER_SOCKET,
  MAX_WS_BUFFERED_BYTES,
  MAX_WS_MESSAGES_PER_SECOND,
} from '../limits.ts'
import { MOVED_PREFIX, REFERRAL_PREFIX } from '../../shared/referral.ts'
import { addressKey } from './holdings.ts'
import { PendingOffers } from './pending-offers.ts'
import { canonicalIp, type SignalledPeers } from './signalled-peers.ts'
import type { SignalSink } from './swarm.ts'
import { TrackerError, type AnnounceEvent, type Tracker } from './tracker.ts'
import { JoinedSwarms } from './ws-joined.ts'
import { announceAnswer, forwardedSignal, signalTail } from './ws-messages.ts'

/** The bits of a WebSocket the tracker needs (ws's WebSocket fits). */
export interface WsLike {
  send(data: string): void
  readonly bufferedAmount: number
  readonly readyState: number
}

/**
 * A WsLike over a ws WebSocket, whose frames go out through `send` (the server meters, seals
 * and coalesces them there). A class rather than an object literal with getters: a literal's
 * getters are new closures for every socket, which V8's inline caches cannot follow, so each
 * readyState read took the generic lookup (some 2-3 % of the relay's CPU under load).
 */
export class WsSocket implements WsLike {
  readonly #ws: { readonly bufferedAmount: number; readonly readyState: number }
  readonly #send: (data: string) => void

  constructor(
    ws: { readonly bufferedAmount: number; readonly readyState: number },
    send: (data: string) => void,
  ) {
    this.#ws = ws
    this.#send = send
  }

  send(data: string): void {
    this.#send(data)
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount
  }

  get readyState(): number {
    return this.#ws.readyState
  }
}

export interface WsTrackerOptions {
  /** Seconds between announces asked of WebSocket clients. */
  interval: number
  /** The WebSocket trackers of the owners of a hash this relay does not track, or null when
   * it tracks it (relay/supernode/placement.ts). Absent: every hash is tracked here. */
  refer?: (infoHash: string) => string[] | null
  /** Told of every offer and answer forwarded to another connection, for the TURN server's
   * permissions (signalled-peers.ts). Absent: nothing is recorded. */
  signalled?: SignalledPeers
}

const OPEN = 1

/** One client's WebSocket: its peer id and the swarms it joined. */
export class WsTrackerConnection implements SignalSink {
  /** (info hash, peer id) pairs this socket announced: the stock client shares one socket
   * per tracker URL between every torrent client of a process, so there may be several ids. */
  readonly #joined = new JoinedSwarms()
  /** Offers forwarded to this socket and not yet answered: offer id → the socket it came
   * from, the only one this socket may answer with that id. The oldest go beyond the cap. */
  readonly #offers = new PendingOffers<WsTrackerConnection>(MAX_OFFERS_AWAITING_ANSWER)
  #windowStart = 0
  #windowCount = 0
  /** JSON.stringify(options.interval), written into every announce answer. */
  readonly #intervalJson: string
  /** `ip` as signalled-peers.ts spells it (null: not an address), worked out once. */
  readonly #canonicalIp: string | null
  /** The peer id this socket announced last, in hex and as JSON: a client announces under
   * one id, so each announce compares 20 chars instead of converting it twice. */
  #peerIdBin = ''
  #peerIdHex = ''
  #peerIdJson = ''

  constructor(
    readonly socket: WsLike,
    readonly ip: string,
    readonly tracker: Tracker,
    readonly options: WsTrackerOptions,
  ) {
    this.#intervalJson = JSON.stringify(options.interval)
    this.#canonicalIp = options.signalled ? canonicalIp(ip) : null
  }

  get open(): boolean {
    return this.socket.readyState === OPEN
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount
  }

  send(message: string): void {
    if (this.open) this.socket.send(message)
  }

  /** Handles one text frame. Never throws: bad input is answered with a failure reason. */
  onMessage(data: string, now: number): void {
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now
      this.#windowCount = 0
    }
    if (++this.#windowCount > MAX_WS_MESSAGES_PER_SECOND) {
      if (this.#windowCount === MAX_WS_MESSAGES_PER_SECOND + 1) {
        this.tracker.refusals.refuse('websocket-messages', addressKey(this.ip))
        this.send(JSON.stringify({ 'failure reason': 'too many messages: slow down' }))
      }
      return
    }
    let msg: Record<string, unknown>
    try {
      const parsed: unknown = JSON.parse(data)
      if (!isObject(parsed)) throw new TrackerError('message must be a JSON object')
      msg = parsed
    } catch (err) {
      const reason = err instanceof TrackerError ? err.message : 'invalid JSON'
      this.send(JSON.stringify({ 'failure reason': reason }))
      return
    }
    try {
      if (msg.action === 'announce') this.#announce(msg, now)
      else if (msg.action === 'scrape') this.#scrape(msg)
      else throw new TrackerError('invalid action')
    } catch (err) {
      if (!(err instanceof TrackerError)) throw err
      const reply: Record<string, unknown> = { 'failure reason': err.message }
      if (msg.action === 'announce' || msg.action === 'scrape') reply.action = msg.action
      if (isBinaryId(msg.info_hash)) reply.info_hash = msg.info_hash
      this.send(JSON.stringify(reply))
    }
  }

  /** The socket closed: leave every swarm at once (no TTL wait for WebRTC peers). */
  onClose(): void {
    for (const [infoHash, peerId] of this.#joined.pairs()) {
      this.tracker.leave(infoHash, 'rtc', peerId, this)
    }
    this.#joined.clear()
    this.#offers.clear()
  }

  #announce(msg: Record<string, unknown>, now: number): void {
    const infoHashBin = requireBinaryId(msg.info_hash, 'info_hash')
    const peerIdBin = requireBinaryId(msg.peer_id, 'peer_id')
    const infoHash = binToHex(infoHashBin)
    if (peerIdBin !== this.#peerIdBin) {
      this.#peerIdBin = peerIdBin
      this.#peerIdHex = binToHex(peerIdBin)
      this.#peerIdJson = JSON.stringify(peerIdBin)
    }
    const peerId = this.#peerIdHex

    if (msg.answer !== undefined) {
      this.#forwardAnswer(msg, infoHash, infoHashBin, peerIdBin, now)
      return
    }

    const offers = parseOffers(msg.offers)
    const event = typeof msg.event === 'string' ? msg.event : ''
    if (event !== '' && event !== 'started' && event !== 'stopped' && event !== 'completed') {
      throw new TrackerError('invalid event')
    }
    const left = typeof msg.left === 'number' ? msg.left : NaN
    const numwantAsked = Number(msg.numwant)
    const numwant = Math.min(
      offers.length,
      Number.isFinite(numwantAsked) && numwantAsked >= 0 ? numwantAsked : DEFAULT_NUMWANT,
    )
    // A hash owned elsewhere: a newcomer is referred to the owners and not tracked here (two
    // relays tracking one hash would split its swarm); a peer that joined before the hash
    // moved is still served, and told where to go on its next announce.
    let warning: string | undefined
    const owners = event === 'stopped' ? null : (this.options.refer?.(infoHash) ?? null)
    if (owners && owners.length > 0) {
      if (!this.#joined.has(infoHash, peerId)) {
        this.send(
          JSON.stringify({
            action: 'announce',
            info_hash: infoHashBin,
            'failure reason': REFERRAL_PREFIX + owners.join(' '),
            monsoon_owners: owners,
          }),
        )
        return
      }
      warning = MOVED_PREFIX + owners.join(' ')
    }
    if (event !== 'stopped' && !this.#joined.has(infoHash, peerId)) {
      if (this.#joined.size >= MAX_SWARMS_PER_SOCKET) {
        this.tracker.refusals.refuse('torrents-per-address', addressKey(this.ip), { socket: true })
        throw new TrackerError('too many torrents on one connection')
      }
    }

    const result = this.tracker.announce(
      {
        kind: 'rtc',
        infoHash,
        peerId,
        ip: this.ip,
        port: 0,
        left: Number.isFinite(left) && left >= 0 ? left : Infinity,
        event: event as AnnounceEvent,
        numwant,
        sink: this,
      },
      now,
    )
    if (event === 'stopped') this.#joined.delete(infoHash, peerId)
    else this.#joined.add(infoHash, peerId)
    const infoHashJson = JSON.stringify(infoHashBin)

    this.send(
      warning === undefined
        ? announceAnswer(this.#intervalJson, infoHashJson, result.complete, result.incomplete)
        : JSON.stringify({
            action: 'announce',
            interval: this.options.interval,
            info_hash: infoHashBin,
            complete: result.complete,
            incomplete: result.incomplete,
            'warning message': warning,
            monsoon_owners: owners,
          }),
    )

    let i = 0
    let tail: string | undefined
    for (const peer of result.peers) {
      const sink = peer.sink
      if (!sink || !sink.open || sink.bufferedAmount > MAX_WS_BUFFERED_BYTES) continue
      const offer = offers[i++]
      this.#signalled(sink, offer.sdp, now)
      if (sink instanceof WsTrackerConnection) sink.#offers.add(offer.offer_id, this)
      tail ??= signalTail(this.#peerIdJson, infoHashJson)
      sink.send(forwardedSignal('offer', offer.sdp, offer.offer_id, tail))
    }
  }

  #forwardAnswer(
    msg: Record<string, unknown>,
    infoHash: string,
    infoHashBin: string,
    peerIdBin: string,
    now: number,
  ): void {
    const answer = parseSdp(msg.answer, 'answer')
    const toPeerId = binToHex(requireBinaryId(msg.to_peer_id, 'to_peer_id'))
    const offerId = requireBinaryId(msg.offer_id, 'offer_id')
    // Answers only from a member of the swarm, as the peer id it announced there (that id is
    // bound to this socket, tracker.ts): else any socket could answer as anyone, anywhere.
    const peerId = binToHex(peerIdBin)
    if (!this.#joined.has(infoHash, peerId)) {
      this.tracker.refusals.refuse('signal-not-member', addressKey(this.ip), { infoHash })
      throw new TrackerError('answer refused: announce to this torrent with that peer_id first')
    }
    const target = this.tracker.swarms.get(infoHash)?.rtc.get(toPeerId)?.sink
    // An answer for a peer that left is not an error the client can act on: drop it.
    if (!target || !target.open) return
    // And only to the socket whose offer (by its id) was forwarded to this one.
    if (this.#offers.latest(offerId) !== target) {
      this.tracker.refusals.refuse('signal-not-member', addressKey(this.ip), { infoHash })
      throw new TrackerError('answer refused: no such offer was sent to you')
    }
    this.#offers.forget(offerId)
    if (target.bufferedAmount > MAX_WS_BUFFERED_BYTES) return
    this.#signalled(target, answer, now)
    const tail = signalTail(JSON.stringify(peerIdBin), JSON.stringify(infoHashBin))
    target.send(forwardedSignal('answer', answer, offerId, tail))
  }

  /** The addresses in `sdp` and this connection's are now known to the connection `to`. */
  #signalled(to: SignalSink, sdp: string, now: number): void {
    if (this.options.signalled && to instanceof WsTrackerConnection) {
      this.options.signalled.recordCanonical(to.#canonicalIp, sdp, this.#canonicalIp, now)
    }
  }

  #scrape(msg: Record<string, unknown>): void {
    const raw = msg.info_hash
    const list = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : null
    if (list === null || list.length === 0) throw new TrackerError('missing info_hash')
    const hashes = new Set<string>()
    for (const item of list.slice(0, MAX_SCRAPE_HASHES)) {
      hashes.add(binToHex(requireBinaryId(item, 'info_hash')))
    }
    const files: Record<string, unknown> = {}
    for (const entry of this.tracker.scrape(hashes)) {
      files[hexToBin(entry.infoHash)] = {
        complete: entry.complete,
        incomplete: entry.incomplete,
        downloaded: entry.downloaded,
      }
    }
    this.send(JSON.stringify({ action: 'scrape', files }))
  }
}

/** An offer of an announce: its SDP and its id. */
interface Offer {
  sdp: string
  offer_id: string
}

function parseOffers(value: unknown): Offer[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new TrackerError('invalid offers: must be an array')
  if (value.length > MAX_OFFERS) throw new TrackerError(`too many offers: at most ${MAX_OFFERS}`)
  return value.map((o: unknown) => {
    if (!isObject(o)) throw new TrackerError('invalid offer')
    return { sdp: parseSdp(o.offer, 'offer'), offer_id: requireBinaryId(o.offer_id, 'offer_id') }
  })
}

/** The SDP of an offer or answer object. */
function parseSdp(value: unknown, type: 'offer' | 'answer'): string {
  if (!isObject(value) || value.type !== type || typeof value.sdp !== 'string') {
    throw new TrackerError(`invalid ${type}`)
  }
  if (value.sdp.length > MAX_SDP_BYTES) throw new TrackerError(`${type} SDP too large`)
  return value.sdp
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isBinaryId(v: unknown): v is string {
  if (typeof v !== 'string' || v.length !== 20) return false
  for (let i = 0; i < 20; i++) if (v.charCodeAt(i) > 0xff) return false
  return true
}

function requireBinaryId(v: unknown, name: string): string {
  if (!isBinaryId(v)) throw new TrackerError(`invalid ${name}: must be 20 bytes`)
  return v
}

/** Where binToHex writes an id's bytes: a Buffer made per id cost more than the hex. */
const idBytes = Buffer.allocUnsafe(20)

export function binToHex(bin: string): string {
  if (bin.length > idBytes.length) return Buffer.from(bin, 'latin1').toString('hex')
  const n = idBytes.write(bin, 0, 'latin1')
  return idBytes.toString('hex', 0, n)
}

export function hexToBin(hex: string): string {
  return Buffer.from(hex, 'hex').toString('latin1')
}
