// The page's one WebTorrent client, and what it is doing as reactive state for the views.
// WebTorrent's objects change under our feet and are not reactive, so each TorrentEntry
// copies the figures it shows off its torrent on events and on a short timer.

import WebTorrent, { type Torrent } from 'webtorrent/dist/webtorrent.min.js'
import { fetchRelayJson } from '../catalog/relay-client.ts'
import { canChangeTrackers, downTrackers, replaceTrackers } from './discovery-trackers.ts'
import { FileChunkStore, pieceLengthFor } from './file-chunk-store.ts'
import { relayConfig } from './relay-config.ts'
import { originTracker, type TorrentRef } from './magnet.ts'
import {
  TorrentHome,
  planTrackers,
  type HomeContext,
  type HomedTorrent,
  type RehomeReason,
} from './rehome.ts'
import { SupernodeView } from './supernode-view.ts'

/** How often figures are read off WebTorrent while any torrent is open. */
const REFRESH_MS = 500
/** Trackers' sockets are checked every this many refreshes (each second). */
const TRACKER_CHECK_TICKS = 2

/**
 * - `hashing`: this browser is hashing files to seed them (hashed / hashTotal).
 * - `metadata`: a download waiting for a peer to send the torrent's metadata (BEP 9).
 * - `downloading`, `seeding` (complete, and serving it), `failed` (see `error`).
 */
export type Phase = 'hashing' | 'metadata' | 'downloading' | 'seeding' | 'failed'

export type TrackerStatus =
  { state: 'connecting' } | { state: 'connected' } | { state: 'unreachable'; message: string }

/** Why a torrent's trackers last changed, for the network view. */
export type MoveReason = 'referral' | 'down' | 'news'

export interface FileView {
  index: number
  /** Untrusted, from the torrent: render as text only. */
  name: string
  path: string
  length: number
  progress: number
}

export class TorrentEntry implements HomedTorrent {
  infoHash = $state('')
  name = $state('')
  phase = $state<Phase>('metadata')
  hashed = $state(0)
  hashTotal = $state(0)
  length = $state(0)
  downloaded = $state(0)
  uploaded = $state(0)
  progress = $state(0)
  downloadSpeed = $state(0)
  uploadSpeed = $state(0)
  numPeers = $state(0)
  timeRemaining = $state(Infinity)
  files = $state.raw<FileView[]>([])
  error = $state<string | null>(null)
  tracker = $state.raw<TrackerStatus>({ state: 'connecting' })
  /** WebSocket trackers this torrent announces to now: its owners' (app/lib/trackers.ts),
   * changed when it re-homes (app/lib/rehome.ts). */
  trackers = $state.raw<string[]>([])
  /** Times the trackers changed since the torrent was opened, and why they last did. */
  moves = $state(0)
  movedBecause = $state<MoveReason | null>(null)
  /** Trackers the link brought. */
  readonly fromLink: readonly string[]
  /** Created in this browser from the user's files (rather than downloaded). */
  readonly local: boolean

  #torrent: Torrent
  #home: TorrentHome | null = null
  #seeded = false
  /** Trackers whose socket failed since the last successful announce. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #unreachable = new Set<string>()
  // A cache the views never read: it needs no reactivity.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #urls = new Map<number, string>()

  constructor(torrent: Torrent, init: { ref?: TorrentRef; trackers: string[]; local: boolean }) {
    this.#torrent = torrent
    this.trackers = init.trackers
    this.fromLink = init.ref?.trackers ?? []
    this.local = init.local
    if (init.ref) {
      this.infoHash = init.ref.infoHash
      this.name = init.ref.name ?? ''
    }
    if (init.local) this.phase = 'hashing'
    torrent.on('error', (err) => this.fail(err))
    torrent.on('warning', (err) => this.#onWarning(err))
    torrent.on('trackerAnnounce', () => {
      this.#unreachable.clear()
      this.tracker = { state: 'connected' }
      this.#home?.onAnswered()
    })
    for (const event of ['infoHash', 'metadata', 'ready', 'done'] as const) {
      torrent.on(event, () => this.refresh())
    }
  }

  /** Follows referrals and dead owners from now on (TorrentClient sets it). */
  set home(home: TorrentHome) {
    this.#home = home
  }

  get home(): TorrentHome | null {
    return this.#home
  }

  /** Announces to `trackers` from now on (rehome.ts calls this); false while the
   * torrent's discovery has not started. */
  retarget(trackers: string[], reason: RehomeReason): boolean {
    if (!replaceTrackers(this.#torrent, trackers)) return false
    this.trackers = trackers
    this.#unreachable.clear()
    if (this.tracker.state === 'unreachable') this.tracker = { state: 'connecting' }
    this.moves++
    this.movedBecause = reason.kind
    return true
  }

  /** Passes the trackers whose socket is down to the re-homing (called on a timer). */
  checkTrackers(): void {
    if (this.#home && canChangeTrackers(this.#torrent)) {
      this.#home.onDown(downTrackers(this.#torrent))
    }
  }

  /** The link-sharable description of this torrent (once its info hash is known). */
  get ref(): TorrentRef {
    return {
      infoHash: this.infoHash,
      trackers: this.trackers,
      ...(this.name && { name: this.name }),
    }
  }

  get torrent(): Torrent {
    return this.#torrent
  }

  onHashProgress(hashed: number, total: number): void {
    this.hashed = hashed
    this.hashTotal = total
  }

  onSeeded(): void {
    this.#seeded = true
    this.refresh()
  }

  fail(err: Error | string): void {
    this.error = typeof err === 'string' ? err : err.message
    this.phase = 'failed'
  }

  /** Copies the figures off the torrent. */
  refresh(): void {
    const t = this.#torrent
    if (this.phase === 'failed') return
    if (t.infoHash) this.infoHash = t.infoHash
    if (t.name) this.name = t.name
    if (this.local && !this.#seeded) return
    if (!t.ready) {
      this.phase = 'metadata'
    } else {
      this.phase = t.done ? 'seeding' : 'downloading'
      this.length = t.length
      this.downloaded = t.downloaded
      this.progress = t.progress
      this.files = t.files.map((f, index) => ({
        index,
        name: f.name,
        path: f.path,
        length: f.length,
        // File.progress undercounts a file that ends on a piece boundary (WebTorrent 3.0.21
        // subtracts a whole piece), so a finished file is taken from `done` instead.
        progress: f.done || t.done ? 1 : Math.min(f.progress, 1),
      }))
    }
    this.uploaded = t.uploaded
    this.downloadSpeed = t.downloadSpeed
    this.uploadSpeed = t.uploadSpeed
    this.numPeers = t.numPeers
    this.timeRemaining = t.timeRemaining
  }

  /** A Blob URL holding one complete file, for a download link. */
  async fileUrl(index: number): Promise<string> {
    const cached = this.#urls.get(index)
    if (cached) return cached
    const file = this.#torrent.files[index]
    if (!file) throw new RangeError(`no file ${index} in this torrent`)
    const url = URL.createObjectURL(await file.blob())
    this.#urls.set(index, url)
    return url
  }

  dispose(): void {
    this.#home?.dispose()
    for (const url of this.#urls.values()) URL.revokeObjectURL(url)
    this.#urls.clear()
  }

  #onWarning(err: Error | string): void {
    const message = typeof err === 'string' ? err : err.message
    // Failed WebRTC handshakes with single peers are routine; the tracker is what matters.
    if (message.startsWith('Connection error')) return
    // A relay that does not track this hash names its owners: follow it, quietly.
    if (this.#home?.onWarning(message)) return
    if (!/wss?:\/\/|tracker|websocket/i.test(message)) return
    // "Error connecting to ws://…": one relay down is no news while another still answers,
    // so the torrent is only reported cut off once every tracker has failed. The stock
    // client names a tracker without its trailing slash.
    const failed = this.trackers.find((t) => message.includes(t.replace(/\/+$/, '')))
    if (failed) this.#unreachable.add(failed)
    else for (const t of this.trackers) this.#unreachable.add(t)
    if (this.tracker.state !== 'connected' && this.#unreachable.size >= this.trackers.length) {
      this.tracker = { state: 'unreachable', message }
    }
  }
}

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
      this.#client.on('error', (err) => {
        this.error = typeof err === 'string' ? err : err.message
      })
    }
    return this.#client
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
