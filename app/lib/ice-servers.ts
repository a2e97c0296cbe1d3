// The ICE servers a relay hands browsers (GET /v1/config), checked, and the list this page
// gives every new WebRTC connection. Pure: the answer and the clock come in, values go out.
//
// URLs follow RFC 7064 (stun:, stuns:) and RFC 7065 (turn:, turns:, `?transport=udp|tcp`).
// TURN credentials are the TURN REST scheme's (expiry in the username, an HMAC as the
// password; ARCHITECTURE.md "Transport and encryption"), valid until the answer's `expires`
// (unix seconds, at most an hour ahead). A TURN URL without both username and credential is
// dropped: Chromium refuses to make an RTCPeerConnection with one (InvalidAccessError), which
// would stop every transfer of the page.

/** Entries of one answer looked at; the rest are ignored. A relay sends two or three. */
export const MAX_ENTRIES_READ = 16
/** URLs looked at in one entry (a relay's TURN entry has udp, tcp and tls). */
export const MAX_URLS_PER_ENTRY = 4
/** Longest URL taken: a host name (253) with scheme, port and transport. */
export const MAX_URL_LENGTH = 300
/** RFC 8489 §14.3 bounds USERNAME to 508 bytes; a REST username ("expiry:id") is far shorter. */
export const MAX_USERNAME_LENGTH = 256
/** A base64 HMAC is 28-44 characters; room for a longer one, never a megabyte. */
export const MAX_CREDENTIAL_LENGTH = 256
/** Per relay: STUN URLs and TURN URLs kept (udp, tcp and tls of one TURN server). */
export const MAX_STUN_URLS_PER_RELAY = 2
export const MAX_TURN_URLS_PER_RELAY = 3
/** Relays besides the origin whose STUN servers are used, so one relay down does not cost
 * NAT traversal. Each STUN server is asked once per connection: cheap. */
export const MAX_OTHER_RELAYS = 2
/** Relays whose TURN servers are used, the origin's included. Each TURN URL costs an
 * allocation on that relay for every peer connection, used or not. */
export const MAX_TURN_RELAYS = 2
/** TURN URLs in all: two relays' udp, tcp and tls. */
export const MAX_TURN_URLS = 6
/** Credentials last at most an hour (the relay's promise); a longer `expires` is a clock
 * apart from ours, and an hour is assumed. */
export const MAX_CREDENTIAL_LIFETIME_S = 3600
/** An `expires` already past or close by our clock is our clock running ahead of the relay's
 * (it just made them): assume this long, so such a page asks again every few minutes, no more. */
export const MIN_CREDENTIAL_LIFETIME_S = 300
/** Credentials are asked for again at this fraction of their lifetime. */
export const REFRESH_FRACTION = 0.8
/** An answer without credentials (STUN only) is read again this often. */
export const STUN_REREAD_MS = 60 * 60_000

export interface TurnServer {
  urls: string[]
  username: string
  credential: string
}

/** One relay's answer, checked. */
export interface RelayIceConfig {
  stun: string[]
  turn: TurnServer[]
  /** Unix seconds the TURN credentials lapse; null without credentials or without a date. */
  expires: number | null
}

const HOST = String.raw`(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)`
const PORT = String.raw`(?::(\d{1,5}))?`
const STUN_URL = new RegExp(`^stuns?:${HOST}${PORT}$`)
const TURN_URL = new RegExp(`^turn:${HOST}${PORT}(?:\\?transport=(?:udp|tcp))?$`)
// TURN over TLS runs on TCP: Chromium has no TURN over DTLS.
const TURNS_URL = new RegExp(`^turns:${HOST}${PORT}(?:\\?transport=tcp)?$`)
/** Printable ASCII: what a REST username and a base64 password are made of. */
const PRINTABLE = /^[\x20-\x7e]+$/

export type IceUrlKind = 'stun' | 'turn'

/** Whether `url` is a STUN or TURN URL this page accepts, and which; null otherwise. */
export function iceUrlKind(url: unknown): IceUrlKind | null {
  if (typeof url !== 'string' || url.length > MAX_URL_LENGTH) return null
  const stun = STUN_URL.exec(url)
  const turn = stun ? null : (TURN_URL.exec(url) ?? TURNS_URL.exec(url))
  const match = stun ?? turn
  if (!match) return null
  const port = match[1]
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return null
  return stun ? 'stun' : 'turn'
}

function secret(value: unknown, max: number): string | null {
  return typeof value === 'string' && value.length <= max && PRINTABLE.test(value) ? value : null
}

/**
 * Checks a GET /v1/config answer. Anything malformed is left out, never thrown: the page then
 * connects with what is left (host candidates at worst). Unknown keys are ignored, so a newer
 * relay's additions do not cost older pages their servers.
 */
export function parseRelayConfig(value: unknown): RelayIceConfig {
  const config: RelayIceConfig = { stun: [], turn: [], expires: null }
  const body = value as { iceServers?: unknown; expires?: unknown } | null
  if (typeof body !== 'object' || body === null || !Array.isArray(body.iceServers)) return config
  const expires = body.expires
  const validExpiry = Number.isSafeInteger(expires) && (expires as number) > 0
  let turnUrls = 0
  for (const entry of body.iceServers.slice(0, MAX_ENTRIES_READ) as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue
    const { urls, username, credential } = entry as Record<string, unknown>
    const list = (typeof urls === 'string' ? [urls] : Array.isArray(urls) ? urls : []).slice(
      0,
      MAX_URLS_PER_ENTRY,
    )
    const user = secret(username, MAX_USERNAME_LENGTH)
    const pass = secret(credential, MAX_CREDENTIAL_LENGTH)
    // A malformed `expires` drops TURN: without it the page cannot know when to ask again.
    const turnable = user !== null && pass !== null && (expires === undefined || validExpiry)
    const turn: string[] = []
    for (const url of list) {
      const kind = iceUrlKind(url)
      if (kind === 'stun' && config.stun.length < MAX_STUN_URLS_PER_RELAY) {
        if (!config.stun.includes(url as string)) config.stun.push(url as string)
      } else if (kind === 'turn' && turnable && turnUrls < MAX_TURN_URLS_PER_RELAY) {
        turn.push(url as string)
        turnUrls++
      }
    }
    if (turn.length) config.turn.push({ urls: turn, username: user!, credential: pass! })
  }
  if (config.turn.length && validExpiry) config.expires = expires as number
  return config
}

/** When to ask a relay again, and until when its TURN credentials may be used, by our clock
 * (unix ms), for an answer read at `readAt`. The lifetime is measured from the read, so a
 * clock apart from the relay's shifts nothing but the bounds' choice. */
export function credentialTiming(
  config: RelayIceConfig,
  readAt: number,
): { refreshAt: number; validUntil: number } {
  if (config.turn.length === 0) return { refreshAt: readAt + STUN_REREAD_MS, validUntil: Infinity }
  const claimed =
    config.expires === null ? MAX_CREDENTIAL_LIFETIME_S : config.expires - Math.floor(readAt / 1000)
  const lifetime = Math.min(MAX_CREDENTIAL_LIFETIME_S, Math.max(MIN_CREDENTIAL_LIFETIME_S, claimed))
  return {
    refreshAt: readAt + Math.round(lifetime * REFRESH_FRACTION * 1000),
    validUntil: readAt + lifetime * 1000,
  }
}

/** A relay's last good answer as the page holds it. */
export interface RelayAnswer {
  config: RelayIceConfig
  /** Unix ms (our clock) the TURN credentials stop being offered. */
  validUntil: number
}

/** Another relay whose answer may be used: `turn` for the relays whose trackers this page's
 * torrents announce to (their TURN servers are used), false for other supernodes (STUN). */
export interface OtherRelay {
  answer: RelayAnswer
  turn: boolean
}

/**
 * The page's ICE servers: the origin's STUN and TURN, the STUN servers of up to
 * MAX_OTHER_RELAYS other relays (in the order given: trackers' relays first), and TURN of
 * tracker relays up to MAX_TURN_RELAYS relays and MAX_TURN_URLS URLs in all. TURN whose
 * credentials lapsed by `now` is left out; a URL named twice is kept once.
 */
export function chooseIceServers(
  origin: RelayAnswer | null,
  others: readonly OtherRelay[],
  now: number,
): RTCIceServer[] {
  const servers: RTCIceServer[] = []
  const seen = new Set<string>()
  let turnRelays = 0
  let turnUrls = 0
  const take = (answer: RelayAnswer, turn: boolean) => {
    const stun = answer.config.stun.filter((u) => !seen.has(u))
    for (const u of stun) seen.add(u)
    if (stun.length) servers.push({ urls: stun })
    if (!turn || now >= answer.validUntil || turnRelays >= MAX_TURN_RELAYS) return
    let took = false
    for (const t of answer.config.turn) {
      const urls = t.urls.filter((u) => !seen.has(u)).slice(0, MAX_TURN_URLS - turnUrls)
      if (urls.length === 0) continue
      for (const u of urls) seen.add(u)
      turnUrls += urls.length
      took = true
      servers.push({ urls, username: t.username, credential: t.credential })
    }
    if (took) turnRelays++
  }
  if (origin) take(origin, true)
  for (const other of others.slice(0, MAX_OTHER_RELAYS)) take(other.answer, other.turn)
  return servers
}

/** How many STUN and TURN servers (distinct hosts) a list offers, for the peer table. */
export function countIceServers(servers: readonly RTCIceServer[]): { stun: number; turn: number } {
  const hosts = { stun: new Set<string>(), turn: new Set<string>() }
  for (const s of servers) {
    for (const url of [s.urls].flat()) {
      const kind = iceUrlKind(url)
      if (kind) hosts[kind].add(url.replace(/^[a-z]+:/, '').replace(/\?.*$/, ''))
    }
  }
  return { stun: hosts.stun.size, turn: hosts.turn.size }
}
