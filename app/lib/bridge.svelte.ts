// The page's requests to its relay's bridge, per info hash, as reactive state for the torrent
// view (BridgeAction.svelte); torrents.svelte.ts lets `watch` see each download every refresh.

import { SvelteMap } from 'svelte/reactivity'
import { NoPeersWatch, askBridge, type BridgeStatus, type WatchedTorrent } from './bridge.ts'

export class BridgeRequests {
  readonly #status = new SvelteMap<string, BridgeStatus>()
  readonly #watch = new NoPeersWatch()
  readonly #origin: () => string

  constructor(origin: () => string = () => location.origin) {
    this.#origin = origin
  }

  status(infoHash: string): BridgeStatus | undefined {
    return this.#status.get(infoHash)
  }

  /** Asks the relay's bridge for a hash (the user's button, or the watch). */
  async ask(infoHash: string, auto = false): Promise<void> {
    if (this.#status.get(infoHash)?.state === 'asking') return
    this.#watch.asked(infoHash)
    this.#status.set(infoHash, { state: 'asking', message: 'Asking the relay…', auto })
    const answer = await askBridge(this.#origin(), infoHash)
    this.#status.set(infoHash, { ...answer, auto })
  }

  /** Called with each open torrent every refresh: asks once a download has no peer. */
  watch(t: WatchedTorrent, now = Date.now()): void {
    if (this.#watch.due(t, now)) void this.ask(t.infoHash, true)
  }
}

/** The page's one set of bridge requests. */
export const bridges = new BridgeRequests()
