// Noticing a relay that comes back (issue 22: "When relays return, nothing breaks"). While a
// relay's tracker socket is down, the stock tracker client retries it only on its own timer:
// 10 s doubled at each failure plus up to 5 min of jitter, so after a long outage a page goes
// on with the mesh alone for minutes after its relay is back. Here the page asks the relay
// itself, cheaply (GET /v1/hello: the call in clear the sealed clients already make, with
// CORS, so other relays answer it too), first FIRST_PROBE_DELAY_MS after the socket went down,
// then at doubling delays up to MAX_PROBE_DELAY_MS; when a relay's hello answers, the torrents
// whose tracker there is down reconnect at once (the path the 'online' event takes). A relay
// down in one torrent and up in another is probed too: each torrent's tracker keeps a retry
// timer of its own.
//
// Driven by the caller's once-a-second check and its clock (no timers of its own), so a
// relay whose socket is connected, or a page with no torrent, is never probed. Probes go on
// while the page is hidden (a background download is the point) but not while the browser
// says it is offline: its 'online' event reconnects everything then.

import { Backoff } from '../../shared/backoff.ts'
import { helloNodeId } from '../../shared/sealed/client.ts'
import { trackerRelay } from './supernode-view.ts'

/** First probe of a relay after its socket was seen down: the stock client's own first retry
 * (10 s) often wins a short blip, and a relay that just crashed is rarely back sooner. */
export const FIRST_PROBE_DELAY_MS = 5_000
/** Longest wait between two probes of one relay, and so how long a page can go on without a
 * relay that came back: two requests a minute per relay down. */
export const MAX_PROBE_DELAY_MS = 30_000
/** A probe with no whole answer by then counts as a failure (a held or slow answer). */
export const PROBE_TIMEOUT_MS = 5_000
/** Probes in flight at once, over every relay: a page with many dead relays does not open
 * many connections at a time. */
export const MAX_PROBES_IN_FLIGHT = 4
/** Relays watched at once: more than the trackers of any page's torrents (MAX_TRACKERS a
 * torrent, mostly the same few relays); further ones wait for the stock client's retry. */
export const MAX_WATCHED_RELAYS = 32
/** Share of each delay taken off at random, so pages that lost a relay together do not
 * all ask it in the same second when it returns. */
export const PROBE_JITTER = 0.2
/** How long a relay's backoff is kept once its socket is no longer seen down: a relay that
 * answers hello but whose socket keeps failing is then still probed at most once a
 * MAX_PROBE_DELAY_MS, never every FIRST_PROBE_DELAY_MS. */
export const FORGET_AFTER_MS = 2 * MAX_PROBE_DELAY_MS

/** A torrent's trackers as its client holds them: every one, and those whose socket is down. */
export interface TrackerSockets {
  all: readonly string[]
  down: readonly string[]
}

export interface RelayReturnDeps {
  now(): number
  fetch(url: string, init: { signal: AbortSignal }): Promise<Response>
  /** The relay at this http(s) origin answered: reconnect the torrents whose tracker there
   * is down. */
  onReturn(relay: string): void
  /** False while the browser says it is offline. Default: always online. */
  online?: () => boolean
  /** In [0, 1): spreads the probes of pages that lost a relay together. */
  random?: () => number
}

interface Watched {
  readonly backoff: Backoff
  /** When its socket was last seen down. */
  seenDownAt: number
  /** The probe in flight, if any. */
  probe: { abort: AbortController; startedAt: number } | null
}

/** Relays whose tracker socket is down, each probed on a backoff until one answers. */
export class RelayReturnWatch {
  readonly #deps: RelayReturnDeps
  readonly #watched = new Map<string, Watched>()

  constructor(deps: RelayReturnDeps) {
    this.#deps = deps
  }

  /** Relays (http origins) watched now. */
  get watched(): string[] {
    return [...this.#watched.keys()]
  }

  /** Called about once a second with every torrent's trackers: starts watching relays whose
   * socket is down in some torrent, times out slow probes, and sends those due. */
  check(torrents: readonly TrackerSockets[]): void {
    const now = this.#deps.now()
    // A relay down in any torrent is probed, even when another torrent's socket to it is up:
    // each torrent's tracker retries on a timer of its own, so one whose socket was down
    // when the others reconnected would otherwise wait minutes (seen in e2e: one page of six
    // kept its torrent off the returned relay). A socket being made afresh is not down.
    const down = new Set<string>()
    for (const t of torrents) {
      for (const tracker of t.down) {
        const relay = trackerRelay(tracker)
        if (relay) down.add(relay)
      }
    }
    for (const relay of down) {
      const known = this.#watched.get(relay)
      if (known) known.seenDownAt = now
      else if (this.#watched.size < MAX_WATCHED_RELAYS) this.#watch(relay, now)
    }
    for (const [relay, w] of this.#watched) {
      if (!down.has(relay) && now - w.seenDownAt >= FORGET_AFTER_MS) this.#unwatch(relay)
      else if (w.probe && (!down.has(relay) || now - w.probe.startedAt >= PROBE_TIMEOUT_MS)) {
        w.probe.abort.abort(new Error(`no answer from ${relay} in ${PROBE_TIMEOUT_MS} ms`))
        w.probe = null
      }
    }
    if (this.#deps.online?.() === false) return
    let inFlight = [...this.#watched.values()].filter((w) => w.probe).length
    for (const [relay, w] of this.#watched) {
      if (inFlight >= MAX_PROBES_IN_FLIGHT) break
      const due = down.has(relay) && !w.probe && w.backoff.wait(now) === 0
      if (due) {
        this.#probe(relay, w, now)
        inFlight++
      }
    }
  }

  /** Stops every probe (the client is going away). */
  dispose(): void {
    for (const relay of [...this.#watched.keys()]) this.#unwatch(relay)
  }

  #watch(relay: string, now: number): void {
    const backoff = new Backoff({
      minMs: FIRST_PROBE_DELAY_MS,
      maxMs: MAX_PROBE_DELAY_MS,
      jitter: PROBE_JITTER,
      random: this.#deps.random ?? Math.random,
    })
    backoff.defer(now)
    this.#watched.set(relay, { backoff, seenDownAt: now, probe: null })
  }

  #unwatch(relay: string): void {
    this.#watched.get(relay)?.probe?.abort.abort()
    this.#watched.delete(relay)
  }

  #probe(relay: string, w: Watched, now: number): void {
    const probe = { abort: new AbortController(), startedAt: now }
    w.probe = probe
    // The next probe waits whatever this one's answer: a relay that answers hello while its
    // socket keeps failing is reconnected at most once a backoff delay.
    w.backoff.defer(now)
    const answered = async () => {
      const res = await this.#deps.fetch(`${relay}/v1/hello`, { signal: probe.abort.signal })
      return (await helloNodeId(res)) !== null
    }
    void answered()
      .catch(() => false)
      .then((back) => {
        // Timed out or unwatched meanwhile: this answer is no longer wanted.
        if (w.probe !== probe || this.#watched.get(relay) !== w) return
        w.probe = null
        if (back && !probe.abort.signal.aborted) this.#deps.onReturn(relay)
      })
  }
}
