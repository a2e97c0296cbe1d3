// The page's one WebTorrent client: seeds and opens torrents (torrent-entry.svelte.ts), picks
// where each announces (trackers.ts, rehome.ts) and moves it when its owners change.

import WebTorrent from 'webtorrent/dist/webtorrent.min.js'
import { fetchRelayJson } from '../catalog/relay-client.ts'
import { bridges } from './bridge.svelte.ts'
import { FileChunkStore, pieceLengthFor } from './file-chunk-store.ts'
import { relayConfig } from './relay-config.ts'
import { originTracker, type TorrentRef } from './magnet.ts'
import { TorrentHome, planTrackers, type HomeContext } from './rehome.ts'
import { SupernodeView } from './supernode-view.ts'
import { TorrentEntry } from './torrent-entry.svelte.ts'

export {
  TorrentEntry,
  type FileView,
  type MoveReason,
  type Phase,
  type TrackerStatus,
} from './torrent-entry.svelte.ts'

/** Bytes per second (null: no limit) and connections per torrent. */
export interface ClientLimits {
  downloadLimit: number | null
  uploadLimit: number | null
  maxConns: number
}

/** How often figures are read off WebTorrent while any torrent is open. */
const REFRESH_MS = 500
/** Trackers' sockets are checked every this many refreshes (each second). */
const TRACKER_CHECK_TICKS = 2

export class TorrentClient {
  entries = $state.raw<TorrentEntry[]>([])
  /** A failure of the client itself (for example no WebRTC in this browser). */
  error = $state<string | null>(null)
  /** Other relays the catalog knows: torrents announce to those outside the known
   * supernodes too, so browsers served by relays that do not share supernodes still meet. */
  relays = $state.raw<string[]>([])
  /** The supernodes torrents announce to, read from the origin when the first torrent opens
   * and again whenever one re-homes. */
  readonly supernodes: SupernodeView = new SupernodeView(
    (url) => fetchRelayJson(url),
    Date.now,
    () => {
      const view = this.supernodes
      const count = view.records?.filter((r) => r.role === 'supernode').length ?? 0
      if (view.source) this.ownersFrom = { relay: view.source, supernodes: count, at: view.readAt }
      this.deadSupernodes = view.dead()
    },
  )
  /** Where the owners torrents announce to were last worked out from: the relay whose list
   * was read, and how many supernodes it named. */
  ownersFrom = $state.raw<{ relay: string; supernodes: number; at: number } | null>(null)
  /** Supernodes this page saw die lately, left out of torrents' owners (as of the last
   * change: a node is tried again DEAD_FOR_MS later). */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- replaced whole, never mutated
  deadSupernodes = $state.raw<ReadonlySet<string>>(new Set())

  #client: WebTorrent | null = null
  /** Rate limits and connection cap from Settings (app/lib/settings.ts). */
  #limits: ClientLimits = { downloadLimit: null, uploadLimit: null, maxConns: 55 }
  #timer: ReturnType<typeof setInterval> | null = null
  #ticks = 0
  #home: HomeContext | null = null
  #viewAsked = false

  /** The relay that served the page: its tracker is the fallback while no owner is known. */
  get tracker(): string {
    return originTracker(location)
  }

  /** Trackers a new torrent announces to before its info hash is known (and so its owners),
   * before any a link brings. */
  get trackers(): string[] {
    return planTrackers(this.#context(), { infoHash: '', fromLink: [] })
  }

  get supported(): boolean {
    return WebTorrent.WEBRTC_SUPPORT
  }

  find(infoHash: string): TorrentEntry | undefined {
    return this.entries.find((e) => e.infoHash === infoHash)
  }

  /** Hashes the files and seeds them; the entry reports hashing progress, then the links. */
  seed(files: File[], name?: string): TorrentEntry {
    this.#readSupernodes()
    const trackers = this.trackers
    const total = files.reduce((n, f) => n + f.size, 0)
    const pieceLength = pieceLengthFor(total)
    let entry: TorrentEntry | undefined = undefined
    const torrent = this.#webtorrent().seed(
      files,
      {
        announce: trackers,
        ...(name && { name }),
        onProgress: (hashed, total) => entry?.onHashProgress(hashed, total),
        pieceLength,
        // Pieces are served from the picked files as they are, so the torrent must hold
        // exactly those files in that order: nothing filtered out.
        filterJunkFiles: false,
        preloadedStore: new FileChunkStore(pieceLength, files),
      },
      (seeded) => {
        if (!entry) return
        if (seeded === torrent) {
          const same = seeded.files.every((f, i) => f.length === files[i]?.size)
          if (!same || seeded.files.length !== files.length) {
            return entry.fail('The torrent does not list the files in the order they were given.')
          }
          return entry.onSeeded()
        }
        // The same files were already shared: WebTorrent hands back the existing torrent.
        this.#drop(entry)
        entry.infoHash = seeded.infoHash
      },
    )
    entry = new TorrentEntry(torrent, { trackers, local: true })
    entry.name = name ?? files[0]?.name ?? ''
    entry.onHashProgress(0, total)
    this.#track(entry)
    return entry
  }

  /** The entry for this torrent, starting its download if it is not open yet. */
  open(ref: TorrentRef): TorrentEntry {
    const existing = this.find(ref.infoHash)
    if (existing && existing.phase !== 'failed') return existing
    if (existing) this.#drop(existing)
    this.#readSupernodes()
    const trackers = planTrackers(this.#context(), {
      infoHash: ref.infoHash,
      fromLink: ref.trackers,
    })
    const torrent = this.#webtorrent().add(ref.infoHash, { announce: trackers })
    const entry = new TorrentEntry(torrent, { ref, trackers, local: false })
    this.#track(entry)
    return entry
  }

  /** Stops sharing or downloading, and deletes the stored pieces. */
  async remove(entry: TorrentEntry): Promise<void> {
    this.#drop(entry)
    if (!entry.torrent.destroyed) await this.#client?.remove(entry.torrent, { destroyStore: true })
  }

  #context(): HomeContext {
    this.#home ??= {
      origin: location.origin,
      originTracker: this.tracker,
      secure: location.protocol === 'https:',
      relays: () => this.relays,
      view: this.supernodes,
    }
    return this.#home
  }

  /** Reads the origin's supernodes once; torrents opened before the answer then move to
   * their owners. Later reads come with re-homes (rehome.ts). */
  #readSupernodes(): void {
    if (this.#viewAsked) return
    this.#viewAsked = true
    void this.supernodes.read([location.origin]).then((ok) => {
      if (!ok) this.#viewAsked = false
      else for (const e of this.entries) void e.home?.rehome({ kind: 'news' })
    })
  }

  #webtorrent(): WebTorrent {
    if (!this.#client) {
      // No public STUN default: only the ICE servers the origin relay names (relay-config.ts).
      this.#client = new WebTorrent({ tracker: { rtcConfig: relayConfig() } })
      this.#applyLimits()
      this.#client.on('error', (err) => {
        this.error = typeof err === 'string' ? err : err.message
      })
    }
    return this.#client
  }

  /** Applies the user's limits now, and to the client when it starts. */
  setLimits(limits: ClientLimits): void {
    this.#limits = { ...limits }
    this.#applyLimits()
  }

  #applyLimits(): void {
    const client = this.#client
    if (!client) return
    // WebTorrent 3: -1 lifts a throttle; maxConns is read each time a torrent connects.
    client.throttleDownload(this.#limits.downloadLimit ?? -1)
    client.throttleUpload(this.#limits.uploadLimit ?? -1)
    client.maxConns = this.#limits.maxConns
  }

  #track(entry: TorrentEntry): void {
    entry.home = new TorrentHome(this.#context(), entry)
    // A seed's owners are known once it is hashed, and its trackers can change once it
    // announces: move it to them then.
    for (const event of ['infoHash', 'ready'] as const) {
      entry.torrent.on(event, () => void entry.home?.rehome({ kind: 'news' }))
    }
    this.entries = [...this.entries, entry]
    this.#timer ??= setInterval(() => {
      const checkTrackers = ++this.#ticks % TRACKER_CHECK_TICKS === 0
      for (const e of this.entries) {
        e.refresh()
        if (checkTrackers) e.checkTrackers()
        // A download that finds no peer asks the relay's bridge for classic peers.
        bridges.watch(e)
      }
    }, REFRESH_MS)
  }

  #drop(entry: TorrentEntry): void {
    entry.dispose()
    this.entries = this.entries.filter((e) => e !== entry)
    if (this.entries.length === 0 && this.#timer) {
      clearInterval(this.#timer)
      this.#timer = null
    }
  }
}

/** The page's one client. */
export const torrents = new TorrentClient()
