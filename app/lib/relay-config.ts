// The ICE servers every new WebRTC connection of this page uses, read from relays'
// GET /v1/config (checked and chosen in ice-servers.ts): the origin's STUN and TURN, the STUN
// of one or two other relays, and TURN of the relays whose trackers the torrents announce to.
// There is no public default: WebTorrent's own (Google's and Twilio's STUN servers) would send
// every browser's addresses to third parties.
//
// WebTorrent is made once with `tracker: { rtcConfig }`, and simple-peer copies that object
// into each peer it makes, so the page holds ONE RTCConfiguration (`rtcConfig`) and replaces
// its `iceServers` in place: new connections take fresh credentials, open ones keep theirs.
// Credentials are asked for again at 80 % of their lifetime, failures retried with backoff;
// the origin's last good answer is kept for starts while it cannot be reached.

import { fetchRelayJson, relayOrigin } from '../catalog/relay-client.ts'
import {
  chooseIceServers,
  credentialTiming,
  MAX_OTHER_RELAYS,
  parseRelayConfig,
  type OtherRelay,
  type RelayAnswer,
  type RelayIceConfig,
} from './ice-servers.ts'
import { Backoff } from '../../shared/backoff.ts'
import { trackerRelay } from './supernode-view.ts'

/** Stop waiting for the origin at start after this long and start with what is kept. */
export const ORIGIN_TIMEOUT_MS = 2_000
/** Other relays get longer: nothing waits on them. */
export const OTHER_TIMEOUT_MS = 10_000
/** First wait after a failed read, doubling up to the longest (credentials live 12 minutes
 * past the 80 % mark: several tries fit). */
export const RETRY_MIN_MS = 5_000
export const RETRY_MAX_MS = 5 * 60_000
/** Other relays looked at, in order, to find MAX_OTHER_RELAYS that answer: one down or
 * without servers is passed over for the next. */
export const MAX_CANDIDATES = 6
/** The origin's last answer, kept for starts without it (an installed app offline). */
export const STORAGE_KEY = 'monsoon.relay-config'

/** The one RTCConfiguration WebTorrent's peers are made from (see the header). */
export const rtcConfig: RTCConfiguration = { iceServers: [] }

export interface RelayIceDeps {
  /** GETs a relay URL and parses its JSON (sealed over plain HTTP: fetchRelayJson). */
  fetchJson(url: string, timeoutMs: number): Promise<unknown>
  now(): number
  setTimer(fn: () => void, ms: number): unknown
  clearTimer(timer: unknown): void
  storage: Pick<Storage, 'getItem' | 'setItem'> | null
  online(): boolean
}

interface Held {
  answer: RelayAnswer | null
  refreshAt: number
  backoff: Backoff
  reading: Promise<void> | null
}

interface Candidate {
  relay: string
  turn: boolean
}

export class RelayIce {
  readonly #origin: string
  readonly #target: RTCConfiguration
  readonly #deps: RelayIceDeps
  readonly #held = new Map<string, Held>()
  #candidates: Candidate[] = []
  #timer: unknown = null
  #stopped = false
  #started: Promise<void> | null = null

  constructor(origin: string, target: RTCConfiguration, deps: RelayIceDeps) {
    this.#origin = origin
    this.#target = target
    this.#deps = deps
  }

  /** Takes the kept answer, then reads the origin (bounded by ORIGIN_TIMEOUT_MS); never
   * throws. Refreshes go on by themselves afterwards. Called twice, it starts once. */
  start(): Promise<void> {
    this.#started ??= this.#start()
    return this.#started
  }

  async #start(): Promise<void> {
    const held = this.#get(this.#origin)
    held.answer ??= this.#stored()
    this.#apply()
    if (this.#deps.online()) await this.#read(this.#origin, ORIGIN_TIMEOUT_MS)
    this.#tick()
  }

  /** The relays the page's torrents announce to (http origins, repeats counted: the most
   * used first) and the other supernodes it knows. Cheap to call often: the same lists
   * change nothing. */
  setRelays(trackerRelays: readonly string[], supernodes: readonly string[]): void {
    const uses = new Map<string, number>()
    for (const r of trackerRelays) uses.set(r, (uses.get(r) ?? 0) + 1)
    const usable = (r: string) =>
      r !== this.#origin && !(this.#origin.startsWith('https:') && r.startsWith('http:'))
    const byUse = [...uses.keys()].filter(usable).sort((a, b) => uses.get(b)! - uses.get(a)!)
    const rest = supernodes.filter((r) => usable(r) && !uses.has(r))
    const next = [
      ...byUse.map((relay) => ({ relay, turn: true })),
      ...[...new Set(rest)].map((relay) => ({ relay, turn: false })),
    ].slice(0, MAX_CANDIDATES)
    const key = (list: Candidate[]) => list.map((c) => `${c.turn ? 'T' : 'S'}${c.relay}`).join()
    if (key(next) === key(this.#candidates)) return
    this.#candidates = next
    const keep = new Set([this.#origin, ...next.map((c) => c.relay)])
    for (const relay of this.#held.keys()) if (!keep.has(relay)) this.#held.delete(relay)
    this.#tick()
  }

  /** Back online: relays that failed are asked again now, not after their backoff. */
  wake(): void {
    for (const held of this.#held.values()) {
      held.backoff = new Backoff({ minMs: RETRY_MIN_MS, maxMs: RETRY_MAX_MS })
    }
    this.#tick()
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer !== null) this.#deps.clearTimer(this.#timer)
    this.#timer = null
  }

  #get(relay: string): Held {
    let held = this.#held.get(relay)
    if (!held) {
      held = {
        answer: null,
        refreshAt: 0,
        backoff: new Backoff({ minMs: RETRY_MIN_MS, maxMs: RETRY_MAX_MS }),
        reading: null,
      }
      this.#held.set(relay, held)
    }
    return held
  }

  /** The relays whose answers are in use or wanted now: the origin, then candidates until
   * MAX_OTHER_RELAYS of them gave servers or may still give some (not asked yet, or being
   * asked). One that failed lately, or answered without servers, makes room for the next. */
  #wanted(now: number): string[] {
    const wanted = [this.#origin]
    let hopeful = 0
    for (const c of this.#candidates) {
      if (hopeful >= MAX_OTHER_RELAYS) break
      wanted.push(c.relay)
      const held = this.#held.get(c.relay)
      const failed = !held?.answer && !held?.reading && (held?.backoff.wait(now) ?? 0) > 0
      if (held?.answer ? hasServers(held.answer) : !failed) hopeful++
    }
    return wanted
  }

  /** Reads what is due, applies what is held, and sets the timer for the next thing due. */
  #tick(): void {
    if (this.#stopped) return
    const now = this.#deps.now()
    let next = Infinity
    for (const relay of this.#wanted(now)) {
      const held = this.#get(relay)
      if (held.reading) continue
      const due = Math.max(held.answer ? held.refreshAt : 0, now + held.backoff.wait(now))
      if (due <= now) {
        void this.#read(relay, relay === this.#origin ? ORIGIN_TIMEOUT_MS : OTHER_TIMEOUT_MS)
        continue
      }
      next = Math.min(next, due)
      // The moment lapsed TURN credentials must leave the list.
      const until = held.answer?.validUntil ?? Infinity
      if (until > now) next = Math.min(next, until)
    }
    this.#apply()
    if (this.#timer !== null) this.#deps.clearTimer(this.#timer)
    this.#timer = null
    if (next !== Infinity) this.#timer = this.#deps.setTimer(() => this.#tick(), next - now)
  }

  #read(relay: string, timeoutMs: number): Promise<void> {
    const held = this.#get(relay)
    held.reading ??= this.#deps
      .fetchJson(`${relay}/v1/config`, timeoutMs)
      .then(
        (body) => {
          const config = parseRelayConfig(body)
          const at = this.#deps.now()
          const { refreshAt, validUntil } = credentialTiming(config, at)
          held.answer = { config, validUntil }
          held.refreshAt = refreshAt
          held.backoff.reset()
          if (relay === this.#origin) this.#keep(config, at)
        },
        // Down, offline or malformed: the last good answer stays until its credentials lapse.
        () => void held.backoff.defer(this.#deps.now()),
      )
      .finally(() => {
        held.reading = null
        this.#tick()
      })
    return held.reading
  }

  #apply(): void {
    const now = this.#deps.now()
    const origin = this.#held.get(this.#origin)?.answer ?? null
    const others: OtherRelay[] = []
    for (const c of this.#candidates) {
      const answer = this.#held.get(c.relay)?.answer
      if (answer && hasServers(answer)) others.push({ answer, turn: c.turn })
    }
    const servers = chooseIceServers(origin, others, now)
    // Never left unset: simple-peer would fill in its default, Google's and Twilio's STUN.
    const held = this.#target.iceServers
    if (held === undefined || JSON.stringify(servers) !== JSON.stringify(held)) {
      this.#target.iceServers = servers
    }
  }

  /** Kept in the answer's own shape, with when it was read. */
  #keep(config: RelayIceConfig, at: number): void {
    const iceServers = [...(config.stun.length ? [{ urls: config.stun }] : []), ...config.turn]
    try {
      this.#deps.storage?.setItem(
        STORAGE_KEY,
        JSON.stringify({ iceServers, expires: config.expires ?? undefined, at }),
      )
    } catch {
      // Storage full or denied: the next start reads the relay, or starts without servers.
    }
  }

  /** The kept answer; its TURN only while its credentials last, by the time it was read. */
  #stored(): RelayAnswer | null {
    try {
      const text = this.#deps.storage?.getItem(STORAGE_KEY)
      if (!text) return null
      const body = JSON.parse(text) as { at?: unknown }
      const config = parseRelayConfig(body)
      const at = typeof body.at === 'number' && Number.isFinite(body.at) ? body.at : null
      const validUntil = at === null ? 0 : credentialTiming(config, at).validUntil
      return hasServers({ config, validUntil }) ? { config, validUntil } : null
    } catch {
      return null
    }
  }
}

function hasServers(answer: RelayAnswer | null | undefined): boolean {
  return !!answer && (answer.config.stun.length > 0 || answer.config.turn.length > 0)
}

let page: RelayIce | null = null

/** This page's ICE servers, read from its origin and the relays its torrents use. */
export function pageIce(): RelayIce {
  page ??= new RelayIce(location.origin, rtcConfig, {
    fetchJson: (url, timeoutMs) => fetchRelayJson(url, {}, timeoutMs),
    now: Date.now,
    setTimer: (fn, ms) => setTimeout(fn, ms),
    clearTimer: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
    storage: globalThis.localStorage ?? null,
    online: () => globalThis.navigator?.onLine !== false,
  })
  return page
}

/** The relays behind trackers (ws(s):// URLs) and supernode URLs, as http origins. */
export function relaysOf(trackers: readonly string[], urls: readonly string[]) {
  return {
    trackerRelays: trackers.flatMap((t) => trackerRelay(t) ?? []),
    supernodes: urls.flatMap((u) => relayOrigin(u) ?? []),
  }
}
