// The network view's state: the supernodes and host cache of the relay that served the app,
// read again every few seconds while the view is open. Each list keeps its own error, so a
// relay that answers one and not the other still shows what it can.

import type { SupernodeRecord } from '../../shared/supernode.ts'
import { fetchRelayJson } from '../catalog/relay-client.ts'
import { checkHosts, checkSupernodes, type HostRow } from './network.ts'

/** How often the lists are read again while the view is open: a record is re-signed every
 * couple of seconds with fresh load figures, so this shows load moving without polling hard. */
export const NETWORK_REFRESH_MS = 10_000

export class NetworkState {
  /** Verified records, the relay's own first (as it lists them); null until first read. */
  supernodes = $state.raw<SupernodeRecord[] | null>(null)
  /** Entries of the answer that failed verification or were not read. */
  rejected = $state(0)
  /** Records claiming `role: supernode` that no admitted supernode vouched for (or past the
   * per-prefix cap): left out, they own nothing (shared/admission.ts). */
  unadmitted = $state(0)
  supernodeError = $state<string | null>(null)
  /** The relay's own node id, as its GET /health gives it. */
  selfId = $state<string | null>(null)
  hosts = $state.raw<HostRow[] | null>(null)
  hostError = $state<string | null>(null)
  /** Unix ms of the last read where both lists came back. */
  readAt = $state(0)
  /** Unix ms of the last read tried, for how old `readAt` is. */
  triedAt = $state(0)

  readonly #relay: string
  #timer: ReturnType<typeof setInterval> | undefined
  #reading = false

  constructor(relay: string) {
    this.#relay = relay
  }

  get relay(): string {
    return this.#relay
  }

  /** Reads both lists now; overlapping calls are dropped. */
  async refresh(): Promise<void> {
    if (this.#reading) return
    this.#reading = true
    try {
      await Promise.all([this.#readSupernodes(), this.#readHosts()])
      this.triedAt = Date.now()
      if (!this.supernodeError && !this.hostError) this.readAt = this.triedAt
    } finally {
      this.#reading = false
    }
  }

  /** Reads now and then every NETWORK_REFRESH_MS; returns the stop function. */
  start(): () => void {
    void this.refresh()
    this.#timer ??= setInterval(() => void this.refresh(), NETWORK_REFRESH_MS)
    return () => {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }

  async #readSupernodes(): Promise<void> {
    try {
      const [answer, health] = await Promise.all([
        fetchRelayJson(`${this.#relay}/v1/supernodes`),
        fetchRelayJson(`${this.#relay}/health`).catch(() => null),
      ])
      const id = (health as { id?: unknown } | null)?.id
      if (typeof id === 'string' && /^[0-9a-f]{64}$/.test(id)) this.selfId = id
      const checked = checkSupernodes(answer, Math.floor(Date.now() / 1000))
      this.supernodes = checked.records
      this.rejected = checked.rejected + checked.skipped
      this.unadmitted = checked.unadmitted
      this.supernodeError = null
    } catch (err) {
      this.supernodeError = err instanceof Error ? err.message : String(err)
    }
  }

  async #readHosts(): Promise<void> {
    try {
      this.hosts = checkHosts(await fetchRelayJson(`${this.#relay}/v1/hosts`))
      this.hostError = null
    } catch (err) {
      this.hostError = err instanceof Error ? err.message : String(err)
    }
  }
}
