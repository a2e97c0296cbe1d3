// The addresses each browser was told about through this relay's WebSocket tracker: every
// time the tracker forwards an offer or an answer, the recipient's address is paired with the
// addresses in that SDP (ICE candidates, RFC 8839 §5.1; connection lines, RFC 8866 §5.7) and
// with the sender's own address. The TURN server asks `mayPermit` before it creates a
// permission (RFC 8656 §9), so a client can relay only towards peers it was signalled,
// not towards any host it names.
//
// Bounded: at most a few addresses per SDP, per recipient and in all, each pair expiring.
// The clock is passed in.

import {
  MAX_SIGNALLED_IPS_PER_SDP,
  MAX_SIGNALLED_PAIRS,
  MAX_SIGNALLED_PEERS_PER_RECIPIENT,
  SIGNALLED_PEER_TTL_MS,
} from '../limits.ts'
import { isIP } from 'node:net'

export interface SignalledPeersOptions {
  /** How long a pair may be permitted after it was last signalled. */
  ttlMs: number
  /** Addresses kept per recipient; the least recently signalled go first. */
  maxPerRecipient: number
  /** Pairs kept in all; the recipient signalled least recently goes first, whole. */
  maxPairs: number
  /** Distinct addresses taken from one SDP. */
  maxIpsPerSdp: number
}

const defaults: SignalledPeersOptions = {
  ttlMs: SIGNALLED_PEER_TTL_MS,
  maxPerRecipient: MAX_SIGNALLED_PEERS_PER_RECIPIENT,
  maxPairs: MAX_SIGNALLED_PAIRS,
  maxIpsPerSdp: MAX_SIGNALLED_IPS_PER_SDP,
}

interface Recipient {
  /** Peer address → expiry (ms), in the order they were signalled (so oldest first). */
  readonly peers: Map<string, number>
  lastAt: number
  /** The address signalled last (the youngest in `peers`), or ''. */
  newest: string
  /** No peer expires before this (the eldest's expiry when last looked at): until then
   * nothing needs dropping, so the map is not walked on every record. */
  dropFrom: number
}

export class SignalledPeers {
  readonly #options: SignalledPeersOptions
  /** By recipient address, least recently signalled first. */
  readonly #recipients = new Map<string, Recipient>()
  #pairs = 0
  /** The recipient signalled last (the youngest in #recipients), or ''. */
  #newest = ''
  /** No recipient's last record expires before this (see Recipient.dropFrom). */
  #expireFrom = Infinity

  constructor(options: Partial<SignalledPeersOptions> = {}) {
    this.#options = { ...defaults, ...options }
    const { maxPerRecipient, maxPairs, maxIpsPerSdp, ttlMs } = this.#options
    if (!(maxPerRecipient >= 1 && maxPairs >= maxPerRecipient && maxIpsPerSdp >= 1)) {
      throw new RangeError('signalled peers: need 1 ≤ maxPerRecipient ≤ maxPairs, maxIpsPerSdp ≥ 1')
    }
    if (!(ttlMs > 0)) throw new RangeError('signalled peers: ttlMs must be positive')
  }

  /** (recipient, peer) pairs held; expired ones leave as new records come in. */
  get size(): number {
    return this.#pairs
  }

  /** The tracker forwarded `sdp`, from a connection at `senderIp`, to one at `recipientIp`. */
  record(recipientIp: string, sdp: string, senderIp: string, nowMs: number): void {
    this.recordCanonical(canonicalIp(recipientIp), sdp, canonicalIp(senderIp), nowMs)
  }

  /** As record, with both addresses already as canonicalIp spells them (null: none): a
   * connection works out its own once, not on every offer it forwards. */
  recordCanonical(to: string | null, sdp: string, sender: string | null, nowMs: number): void {
    if (to === null) return
    const ips = sdpAddresses(sdp, this.#options.maxIpsPerSdp)
    if (sender !== null && !ips.includes(sender)) ips.push(sender)
    if (ips.length === 0) return
    if (nowMs >= this.#expireFrom) this.#expire(nowMs)

    let recipient = this.#recipients.get(to)
    if (recipient) {
      // Made the youngest, unless it is already (a Map moves a key only by delete and set).
      if (to !== this.#newest) {
        this.#recipients.delete(to)
        this.#recipients.set(to, recipient)
      }
      if (nowMs >= recipient.dropFrom) this.#dropExpired(recipient, nowMs)
    } else {
      recipient = { peers: new Map(), lastAt: nowMs, newest: '', dropFrom: Infinity }
      this.#recipients.set(to, recipient)
    }
    this.#newest = to
    recipient.lastAt = nowMs
    if (this.#expireFrom === Infinity) this.#expireFrom = nowMs + this.#options.ttlMs

    const { peers } = recipient
    const expires = nowMs + this.#options.ttlMs
    if (recipient.dropFrom === Infinity) recipient.dropFrom = expires
    for (const ip of ips) {
      if (ip === recipient.newest) {
        // Already the youngest: renewed in place.
        peers.set(ip, expires)
        continue
      }
      if (peers.delete(ip)) this.#pairs--
      peers.set(ip, expires)
      recipient.newest = ip
      this.#pairs++
      if (peers.size > this.#options.maxPerRecipient) {
        peers.delete(peers.keys().next().value!)
        this.#pairs--
      }
    }
    while (this.#pairs > this.#options.maxPairs) {
      const [oldest, held] = this.#recipients.entries().next().value!
      this.#recipients.delete(oldest)
      this.#pairs -= held.peers.size
      if (oldest === this.#newest) this.#newest = ''
    }
  }

  /** Whether the client at `clientIp` was signalled `peerIp` and that has not expired. */
  mayPermit(clientIp: string, peerIp: string, nowMs: number): boolean {
    const client = canonicalIp(clientIp)
    const peer = canonicalIp(peerIp)
    if (client === null || peer === null) return false
    const expires = this.#recipients.get(client)?.peers.get(peer)
    return expires !== undefined && expires > nowMs
  }

  /** Drops recipients whose last record has expired (the least recent come first). */
  #expire(nowMs: number): void {
    this.#expireFrom = Infinity
    for (const [ip, recipient] of this.#recipients) {
      if (recipient.lastAt + this.#options.ttlMs > nowMs) {
        this.#expireFrom = recipient.lastAt + this.#options.ttlMs
        break
      }
      this.#recipients.delete(ip)
      this.#pairs -= recipient.peers.size
      if (ip === this.#newest) this.#newest = ''
    }
  }

  #dropExpired(recipient: Recipient, nowMs: number): void {
    recipient.dropFrom = Infinity
    for (const [ip, expires] of recipient.peers) {
      if (expires > nowMs) {
        recipient.dropFrom = expires
        break
      }
      recipient.peers.delete(ip)
      if (ip === recipient.newest) recipient.newest = ''
      this.#pairs--
    }
  }
}

/**
 * The distinct IP addresses an SDP names, at most `max`, in the order found: connection
 * addresses of `a=candidate` lines and the `raddr` of those that give one (server-reflexive
 * and relayed candidates), and `c=` lines. mDNS names (`….local`, RFC 8839 §5.1 allows FQDNs),
 * 0.0.0.0, :: and anything that is not an IP address are skipped.
 */
export function sdpAddresses(sdp: string, max = MAX_SIGNALLED_IPS_PER_SDP): string[] {
  const found: string[] = []
  // Only candidate and connection lines name addresses: the scan jumps from one to the next
  // (indexOf, in native code) rather than reading every line, and takes each where nothing
  // but white space stands before it on its line, as a trimmed line would start with it.
  let candidate = sdp.indexOf(CANDIDATE)
  let connection = sdp.indexOf(CONNECTION)
  while (found.length < max && (candidate >= 0 || connection >= 0)) {
    const isCandidate = connection < 0 || (candidate >= 0 && candidate < connection)
    const at = isCandidate ? candidate : connection
    let end = sdp.indexOf('\n', at)
    if (end < 0) end = sdp.length
    if (startsLine(sdp, at)) {
      if (isCandidate) {
        // foundation component transport priority address port "typ" type *(name value)
        const fields = sdp
          .slice(at + CANDIDATE.length, end)
          .trimEnd()
          .split(' ')
        addAddress(found, fields[4], max)
        for (let i = 8; i + 1 < fields.length; i += 2) {
          if (fields[i] === 'raddr') addAddress(found, fields[i + 1], max)
        }
      } else {
        connectionAddress(sdp, at, end, found, max)
      }
      // Whatever else this line holds is not at a line's start.
      if (candidate >= 0 && candidate < end) candidate = sdp.indexOf(CANDIDATE, end)
      if (connection >= 0 && connection < end) connection = sdp.indexOf(CONNECTION, end)
    } else if (isCandidate) {
      candidate = sdp.indexOf(CANDIDATE, at + 1)
    } else {
      connection = sdp.indexOf(CONNECTION, at + 1)
    }
  }
  return found
}

const CANDIDATE = 'a=candidate:'
const CONNECTION = 'c='

/** Whether only white space (as String.prototype.trim takes it) stands before `at` on its
 * line of `sdp` (lines end in \n). */
function startsLine(sdp: string, at: number): boolean {
  if (at === 0 || sdp.charCodeAt(at - 1) === 0x0a) return true
  const lineStart = sdp.lastIndexOf('\n', at - 1) + 1
  return sdp.slice(lineStart, at).trim() === ''
}

/**
 * The address of the `c=` line at `at` (its line ends at `end`), as the third field of the
 * trimmed line split at single spaces, cut at a '/': `c=IN IP4 203.0.113.1[/ttl[/count]]`.
 * Read in place: a browser sends this line in every offer and answer (mostly `0.0.0.0`), and
 * slicing, trimming and splitting it made six strings and two arrays each time.
 */
function connectionAddress(
  sdp: string,
  at: number,
  end: number,
  found: string[],
  max: number,
): void {
  let last = end
  while (last > at && isTrimmed(sdp.charCodeAt(last - 1))) last--
  const first = sdp.indexOf(' ', at)
  if (first < 0 || first >= last) return
  const second = sdp.indexOf(' ', first + 1)
  if (second < 0 || second >= last) return
  let stop = sdp.indexOf(' ', second + 1)
  if (stop < 0 || stop > last) stop = last
  const slash = sdp.indexOf('/', second + 1)
  if (slash >= 0 && slash < stop) stop = slash
  const from = second + 1
  if (stop - from === 7 && sdp.startsWith('0.0.0.0', from)) return
  addAddress(found, sdp.slice(from, stop), max)
}

/** Whether String.prototype.trimEnd removes the UTF-16 unit `c` (white space and line
 * terminators, ECMA-262 §22.1.3.32). */
function isTrimmed(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d)
  if (c < 0xa0) return false
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  )
}

/** Adds `raw` to `found` if it is an address worth permitting and not there yet. (Not a
 * closure in sdpAddresses: one made on every call costs more than the scan.) */
function addAddress(found: string[], raw: string | undefined, max: number): void {
  // 0.0.0.0 (the usual c= line of a browser's offer) is skipped before parsing it.
  if (raw === undefined || raw === '0.0.0.0' || found.length >= max) return
  const ip = canonicalIp(raw)
  if (ip !== null && ip !== '0.0.0.0' && ip !== '::' && !found.includes(ip)) found.push(ip)
}

/** One spelling per address: IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 compressed in lower
 * case (RFC 5952); null when `raw` is not an IP address (a name, a zone index, garbage). */
export function canonicalIp(raw: string): string | null {
  const v = isIP(raw)
  if (v === 4) return raw
  if (v !== 6) return null
  let host: string
  try {
    host = new URL(`http://[${raw}]/`).hostname.slice(1, -1)
  } catch {
    return null
  }
  // WHATWG URLs write ::ffff:1.2.3.4 as ::ffff:102:304.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host)
  if (!mapped) return host
  const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)]
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`
}
