// Asking a relay's bridge (POST /v1/bridge/:infohash) to fetch a torrent from classic
// BitTorrent peers and seed it to browsers, and deciding when a download should ask by
// itself: when it has found no peer at all for a while (no browser seeds it over WebRTC).

/** A download with no peer for this long asks the bridge by itself: long enough for the
 * tracker's first answers and a WebRTC handshake or two. */
export const NO_PEERS_MS = 20_000

export type BridgeState = 'asking' | 'bridged' | 'unavailable' | 'refused'

export interface BridgeStatus {
  state: BridgeState
  /** What the relay said, for the user. */
  message: string
  /** How it was asked. */
  auto: boolean
}

/** Asks `origin`'s bridge to bridge a hash. Never throws: a failure is a status. */
export async function askBridge(
  origin: string,
  infoHash: string,
  fetchFn: typeof fetch = fetch,
): Promise<Omit<BridgeStatus, 'auto'>> {
  let res: Response
  try {
    res = await fetchFn(`${origin}/v1/bridge/${infoHash}`, { method: 'POST' })
  } catch (err) {
    return { state: 'refused', message: `The relay could not be reached: ${String(err)}` }
  }
  const body = (await res.json().catch(() => ({}))) as { error?: unknown; code?: unknown }
  if (res.ok) {
    return { state: 'bridged', message: 'The relay fetches it from classic BitTorrent peers.' }
  }
  const why = typeof body.error === 'string' ? body.error : `HTTP ${res.status}`
  if (res.status === 404 && body.code === 'no-bridge') {
    return { state: 'unavailable', message: 'This relay does not bridge to classic BitTorrent.' }
  }
  return { state: 'refused', message: `The relay's bridge refused: ${why}.` }
}

/** What the watch reads of a torrent. */
export interface WatchedTorrent {
  infoHash: string
  /** Seeded from this browser's files. */
  local: boolean
  numPeers: number
  progress: number
}

/**
 * Decides when a download asks the bridge by itself: once it has had no peer for
 * NO_PEERS_MS, once per hash (the user can still ask again). Pure: the clock is passed in.
 */
export class NoPeersWatch {
  readonly #since = new Map<string, number>()
  readonly #asked = new Set<string>()

  /** True when `t` should ask now. */
  due(t: WatchedTorrent, now: number): boolean {
    if (
      !t.infoHash ||
      t.local ||
      t.progress >= 1 ||
      t.numPeers > 0 ||
      this.#asked.has(t.infoHash)
    ) {
      this.#since.delete(t.infoHash)
      return false
    }
    const since = this.#since.get(t.infoHash)
    if (since === undefined) {
      this.#since.set(t.infoHash, now)
      return false
    }
    if (now - since < NO_PEERS_MS) return false
    this.#asked.add(t.infoHash)
    this.#since.delete(t.infoHash)
    return true
  }

  /** Marks a hash as asked already (the user asked). */
  asked(infoHash: string): void {
    this.#asked.add(infoHash)
  }
}
