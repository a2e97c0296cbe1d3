// One torrent open in the page, as reactive state for the views. WebTorrent's objects change
// under our feet and are not reactive, so a TorrentEntry copies the figures it shows off its
// torrent on events and on a short timer (TorrentClient drives the timer), and passes the
// torrent's tracker news to its re-homing (rehome.ts).

import type { Torrent } from './engine/index.ts'
import { Reannounce } from '../../shared/reannounce.ts'
import {
  announceNow,
  canChangeTrackers,
  currentTrackers,
  downTrackers,
  replaceTrackers,
} from './engine/index.ts'
import type { TorrentRef } from './magnet.ts'
import { isQuotaError, opfsStoreOf, savedFile } from './opfs-store.ts'
import type { HomedTorrent, RehomeReason, TorrentHome } from './rehome.ts'
import type { TrackerSockets } from './relay-return.ts'

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
  /** Stopped because storage ran out: the pieces saved so far are kept (persist-torrent.ts),
   * and opening the torrent again resumes from them. */
  storageFull = $state(false)
  /** Bytes received from peers since this page added the torrent (off the wire). */
  received = $state(0)
  /** Bytes already verified in storage when the torrent started (kept from a visit before). */
  resumedFrom = $state(0)
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
  /** When a download with no peer announces again, not waiting for the interval. */
  readonly #reannounce = new Reannounce()
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
    torrent.on('ready', () => {
      if (!init.local) this.resumedFrom = torrent.downloaded
    })
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

  /** Opens fresh tracker sockets in place of any that are down, keeping the same trackers
   * (the browser came back online). Returns whether it did. */
  reconnect(): boolean {
    if (!canChangeTrackers(this.#torrent) || downTrackers(this.#torrent).length === 0) return false
    if (!replaceTrackers(this.#torrent, this.trackers)) return false
    this.#unreachable.clear()
    if (this.tracker.state === 'unreachable') this.tracker = { state: 'connecting' }
    return true
  }

  /** The trackers the client holds now and those whose socket is down (relay-return.ts). */
  trackerSockets(): TrackerSockets {
    if (this.#torrent.destroyed) return { all: [], down: [] }
    return { all: currentTrackers(this.#torrent) ?? [], down: downTrackers(this.#torrent) }
  }

  /** Passes the trackers whose socket is down to the re-homing, and announces again soon
   * while a download has no peer (its attempts died, or nobody was there yet). Called on a
   * timer, each second. */
  checkTrackers(now = Date.now()): void {
    if (this.#home && canChangeTrackers(this.#torrent)) {
      this.#home.onDown(downTrackers(this.#torrent))
    }
    const wanting = this.phase === 'metadata' || this.phase === 'downloading'
    if (this.#reannounce.due(now, wanting && this.#torrent.numPeers === 0)) {
      announceNow(this.#torrent)
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
    this.storageFull = isQuotaError(err)
    this.error = this.storageFull
      ? `Storage is full: Monsoon could not save “${this.name || this.infoHash}”. ` +
        'Free some space or delete a torrent, then resume: the pieces saved so far are kept.'
      : typeof err === 'string'
        ? err
        : err.message
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
    this.received = t.received
    this.downloadSpeed = t.downloadSpeed
    this.uploadSpeed = t.uploadSpeed
    this.numPeers = t.numPeers
    this.timeRemaining = t.timeRemaining
  }

  /** A Blob URL holding one complete file, for a download link. A finished download kept
   * in OPFS is a slice of its data file on disk (savedFile): saving a 4 GiB file costs the
   * page no memory. Otherwise (a share served from the user's files, a browser without
   * OPFS, a file done before the rest of its torrent) WebTorrent reads it into a Blob. */
  async fileUrl(index: number): Promise<string> {
    const cached = this.#urls.get(index)
    if (cached) return cached
    const t = this.#torrent
    const file = t.files[index]
    if (!file) throw new RangeError(`no file ${index} in this torrent`)
    const store = t.done ? opfsStoreOf(t.infoHash) : undefined
    const blob = store
      ? await savedFile(
          store,
          t.files.map((f) => f.length),
          index,
          file.type,
        )
      : await file.blob()
    const url = URL.createObjectURL(blob)
    this.#urls.set(index, url)
    return url
  }

  /** The first `bytes` of a file (fetched first if still missing), for a preview. */
  async fileHead(index: number, bytes: number): Promise<Uint8Array> {
    const file = this.#torrent.files[index]
    if (!file) throw new RangeError(`no file ${index} in this torrent`)
    if (file.length === 0) return new Uint8Array(0)
    return new Uint8Array(
      await file.arrayBuffer({ start: 0, end: Math.min(bytes, file.length) - 1 }),
    )
  }

  /** The file's URL under the streaming server (null without one: see streamServer). */
  streamUrl(index: number): string | null {
    try {
      return this.#torrent.files[index]?.streamURL ?? null
    } catch {
      return null
    }
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
