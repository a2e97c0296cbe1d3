// What the catalog worker asks of relays over HTTP (relay/catalog/routes.ts), and checks on
// what they answer: a relay is just another node on the network, so its pages, figures and
// relay lists are untrusted input — shapes checked, numbers bounded, sizes capped.

import { BodyTooLargeError, readCappedText } from '../../shared/capped-body.ts'
import { SealedError } from '../../shared/sealed/envelope.ts'
import { inflatedResponse, relayFetch, relayFetchGzip } from './sealed-fetch.ts'
import type { SwarmFigures } from './search-index.ts'

/** Give up on one relay request after this long. */
export const RELAY_TIMEOUT_MS = 15_000
/** Largest answer read from a relay: a sync page is capped at 4 MiB of listings by the
 * relay (MAX_PAGE_BYTES), plus its figures; anything bigger is refused unread. */
export const MAX_ANSWER_BYTES = 10 * 1024 * 1024
/** Swarm figures taken from one answer. */
export const MAX_PAGE_FIGURES = 10_000
/** Relay URLs taken from one relay's list. */
export const MAX_LISTED_RELAYS = 64

export class RelayError extends Error {
  override name = 'RelayError'
  constructor(
    message: string,
    /** HTTP status, or null when there was no answer. */
    readonly status: number | null = null,
    /** Seconds the relay asked us to wait (Retry-After), if any. */
    readonly retryAfter: number | null = null,
  ) {
    super(message)
  }
}

/** `http(s)://host[:port]` of a URL, or null for anything else (paths, other schemes). */
export function relayOrigin(text: unknown): string | null {
  if (typeof text !== 'string' || text.length > 300) return null
  try {
    const url = new URL(text)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null
    if (url.username || url.password) return null
    if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) return null
    return url.origin
  } catch {
    return null
  }
}

/** The host (and port) of a relay, for messages. */
export function relayHost(relay: string): string {
  try {
    return new URL(relay).host
  } catch {
    return relay
  }
}

/** GETs or POSTs to a relay and reads its JSON answer; throws RelayError with a message a
 * person can act on. */
export async function fetchRelayJson(
  url: string,
  init: RequestInit = {},
  timeoutMs = RELAY_TIMEOUT_MS,
): Promise<unknown> {
  return relayJson(await fetchRelayText(url, init, timeoutMs), url)
}

/** Inflates a sealed answer's gzip bytes to text, at most `maxBytes` inflated (sealed-fetch.ts
 * inflateText, or a verify worker that does it: catalog-verify-pool.ts). */
export type Inflate = (gzip: Uint8Array, maxBytes: number) => Promise<string>

/** fetchRelayJson's answer as the text that came, unparsed: a sync page's text is handed as
 * it is to a verify worker (catalog-verify-pool.ts), which parses it there. Same errors.
 * With `inflate`, a good sealed answer in gzip is inflated by it rather than here. */
export async function fetchRelayText(
  url: string,
  init: RequestInit = {},
  timeoutMs = RELAY_TIMEOUT_MS,
  inflate?: Inflate,
): Promise<string> {
  const host = relayHost(url)
  let response: Response
  try {
    // Sealed when the relay is on plain HTTP (sealed-fetch.ts).
    const signal = AbortSignal.timeout(timeoutMs)
    const options = { ...init, signal, maxBytes: MAX_ANSWER_BYTES }
    const answer = inflate ? await relayFetchGzip(url, options) : await relayFetch(url, options)
    if (answer instanceof Response) response = answer
    else if (answer.status >= 200 && answer.status < 300) {
      return await inflated(inflate!, answer.gzip, host)
    } else {
      response = inflatedResponse(answer)
    }
  } catch (err) {
    if (err instanceof RelayError) throw err
    if (err instanceof DOMException && err.name === 'TimeoutError') {
      throw new RelayError(`${host} did not answer within ${Math.round(timeoutMs / 1000)} s`)
    }
    if (err instanceof SealedError) throw new RelayError(err.message, err.status ?? null)
    // Down, refused, or not letting this page read it (no CORS): fetch cannot tell which.
    throw new RelayError(`cannot reach ${host}`)
  }
  let text = ''
  try {
    text = await readCappedText(response, MAX_ANSWER_BYTES)
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      throw new RelayError(`${host} sent an answer too large to read`)
    }
    // Cut off midway: read as no answer (not JSON), which relayJson refuses.
  }
  if (!response.ok) {
    const error = (parseJson(text) as { error?: unknown } | null)?.error
    const retry = Number(response.headers.get('retry-after'))
    throw new RelayError(
      typeof error === 'string' && error ? error.slice(0, 300) : `HTTP ${response.status}`,
      response.status,
      Number.isFinite(retry) && retry > 0 ? retry : null,
    )
  }
  return text
}

/** A good answer's gzip bytes inflated by `inflate`, with readCappedText's errors read as
 * fetchRelayText reads them: too large is a RelayError, anything else no answer (''). */
async function inflated(inflate: Inflate, gzip: Uint8Array, host: string): Promise<string> {
  try {
    return await inflate(gzip, MAX_ANSWER_BYTES)
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      throw new RelayError(`${host} sent an answer too large to read`)
    }
    return ''
  }
}

/** A relay's answer text (fetchRelayText from `url`) as JSON; RelayError when it is not. */
export function relayJson(text: string, url: string): unknown {
  const body = parseJson(text)
  if (body === null) throw new RelayError(`${relayHost(url)} did not answer with JSON`)
  return body
}

/** JSON.parse, or null for anything that is not JSON (an error page, nothing). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

export interface ListingPage {
  listings: unknown[]
  next: number
  more: boolean
  /** The relay's highest cursor, when it says: how far there is to go. */
  latest: number | null
  /** Names the relay's store: cursors of another epoch mean nothing here. */
  epoch: string | null
  figures: Map<string, SwarmFigures>
}

/** Checks a `GET /v1/listings` answer. The listings themselves are verified separately. */
export function parseListingPage(value: unknown): ListingPage {
  const page = value as Record<string, unknown> | null
  if (
    typeof page !== 'object' ||
    page === null ||
    !Array.isArray(page.listings) ||
    !isCount(page.next) ||
    typeof page.more !== 'boolean'
  ) {
    throw new RelayError('the relay sent a malformed page')
  }
  return {
    listings: page.listings,
    next: page.next,
    more: page.more,
    latest: isCount(page.latest) ? page.latest : null,
    epoch: typeof page.epoch === 'string' && page.epoch.length <= 64 ? page.epoch : null,
    figures: pageFigures(page),
  }
}

const NO_SWARM: SwarmFigures = { seeds: 0, leechers: 0, downloads: 0 }

/** A page's figures. A relay that leaves out the hashes with no swarm says so
 * (`statsAbsentIsZero`, relay/catalog/page-server.ts): each listing's hash it left out is
 * then zeros, so a count that fell to zero does not stay on screen. Without it (an older
 * relay) a missing hash is unknown, and what is shown for it is kept. */
function pageFigures(
  page: Record<string, unknown>,
  max = MAX_PAGE_FIGURES,
): Map<string, SwarmFigures> {
  const figures = parseFigures(page.stats, max)
  if (page.statsAbsentIsZero !== true) return figures
  for (const listing of page.listings as unknown[]) {
    if (figures.size >= max) break
    const infoHash = (listing as { infoHash?: unknown } | null)?.infoHash
    if (typeof infoHash === 'string' && HEX40.test(infoHash) && !figures.has(infoHash)) {
      figures.set(infoHash, { ...NO_SWARM })
    }
  }
  return figures
}

/** Swarm figures by info hash (`stats` of a page); malformed entries are dropped. */
export function parseFigures(value: unknown, max = MAX_PAGE_FIGURES): Map<string, SwarmFigures> {
  const out = new Map<string, SwarmFigures>()
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return out
  for (const [infoHash, f] of Object.entries(value)) {
    if (out.size >= max) break
    const figures = parseSwarmFigures(f)
    if (HEX40.test(infoHash) && figures) out.set(infoHash, figures)
  }
  return out
}

export function parseSwarmFigures(value: unknown): SwarmFigures | null {
  const f = value as Record<string, unknown> | null
  if (typeof f !== 'object' || f === null) return null
  if (!isCount(f.seeds) || !isCount(f.leechers) || !isCount(f.downloads)) return null
  return { seeds: f.seeds, leechers: f.leechers, downloads: f.downloads }
}

/** The relays a relay lists in `GET /v1/relays`, as origins, without repeats. */
export function parseRelayList(value: unknown): string[] {
  const list = (value as { relays?: unknown } | null)?.relays
  if (!Array.isArray(list)) return []
  const out: string[] = []
  for (const item of list.slice(0, MAX_LISTED_RELAYS)) {
    const origin = relayOrigin(item)
    if (origin && !out.includes(origin)) out.push(origin)
  }
  return out
}

const HEX40 = /^[0-9a-f]{40}$/

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
}
