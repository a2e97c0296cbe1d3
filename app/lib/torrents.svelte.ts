// The page's one WebTorrent client: seeds and opens torrents (torrent-entry.svelte.ts), picks
// where each announces (trackers.ts, rehome.ts) and moves it when its owners change.

// First: the engine's client loads WebTorrent's bundle, which keeps the page's WebSocket and
// RTCPeerConnection as it finds them when evaluated (engine/client.ts).
import { createClient, webrtcSupported } from './engine/client.ts'
import {
  PeerConnections,
  quietTrackers,
  type MeshHandlers,
  type StreamServer,
  type Torrent,
  type WebTorrent,
  type Wire,
} from './engine/index.ts'
import { isBridgePeer } from './peer-ids.ts'
import { clientMeshHost } from './mesh/client-host.ts'
import { noMeshStats } from './mesh-view.ts'
import { Mesh } from './mesh/mesh.ts'
import type { CatalogExchange, FoundVia, MeshStats } from './mesh/types.ts'
import { catalog } from '../catalog/catalog.svelte.ts'
import { pageCatalogExchange } from '../catalog/mesh-exchange.ts'
import { fetchRelayJson } from '../catalog/relay-client.ts'
import { pageHostCache } from './bootstrap/host-cache.ts'
import { bridges, type BridgeRequests } from './bridge.svelte.ts'
import { FileChunkStore, pieceLengthFor } from './file-chunk-store.ts'
import { seedFiles } from './hash/seed.ts'
import { TorrentLibrary } from './persist-library.ts'
import { fullBitfield, type TorrentRecord } from './persist.ts'
import { pageIce, relaysOf, rtcConfig, type RelayIce } from './relay-config.ts'
import { originTracker, type TorrentRef } from './magnet.ts'
import { TorrentHome, planTrackers, type HomeContext } from './rehome.ts'
import { RelayReturnWatch } from './relay-return.ts'
import { trackerRelay } from './supernode-view.ts'
import { SupernodeView, type FetchJson } from './supernode-view.ts'
import { requireSecureContext } from './secure-context.ts'
import { serviceWorkerRegistration } from './sw-registration.ts'
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

/** The page a TorrentClient runs in: where it was served from, and its 'online' event. */
export interface PageHooks {
  readonly location: Pick<Location, 'origin' | 'protocol' | 'host'>
  addEventListener(type: 'online', listener: () => void): void
}

/** What a TorrentClient works with, injected so that it can be tested outside a page. */
export interface TorrentClientDeps {
  /** Makes the WebTorrent client, its WebRTC connections made by `peerConnections`, its wires
   * speaking the browser mesh to `mesh`. */
  createClient(peerConnections: PeerConnections, mesh: MeshHandlers): WebTorrent
  library: TorrentLibrary
  /** GETs a relay's JSON (the supernode view's reads). */
  fetchJson: FetchJson
  /** Plain GETs: probes of relays whose tracker socket is down (relay-return.ts). */
  fetch(url: string, init: { signal: AbortSignal }): Promise<Response>
  now(): number
  page: PageHooks
  /** The page's ICE servers, told which relays the torrents use. */
  ice(): Pick<RelayIce, 'start' | 'setRelays'>
  bridges: Pick<BridgeRequests, 'watch'>
  /** The catalog and host records the mesh passes between browsers; null: none. */
  meshCatalog: CatalogExchange | null
}

/** The page's own: no public STUN default, only the ICE servers relays name (relay-config.ts). */
const pageDeps: Omit<TorrentClientDeps, 'library'> = {
  createClient: (peerConnections, mesh) => createClient({}, peerConnections, mesh),
  fetchJson: (url) => fetchRelayJson(url),
  fetch: (url, init) => fetch(url, init),
  now: Date.now,
  page: globalThis,
  ice: pageIce,
  bridges,
  meshCatalog: pageMeshCatalog(),
}

/** The page's catalog and host records for the mesh, made on first use: the catalog's worker
 * starts with the page (App.svelte), not when this module loads (tests load it in Node). */
function pageMeshCatalog(): CatalogExchange {
  let exchange: CatalogExchange | null = null
  const made = () =>
    (exchange ??= pageCatalogExchange({
      listings: catalog(),
      supernodes: () => torrents.supernodes.records ?? [],
      hosts: pageHostCache(),
    }))
  return {
    page: (kind, cursor, limit) => made().page(kind, cursor, limit),
    accept: (kind, records) => made().accept(kind, records),
  }
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
  readonly supernodes: SupernodeView
  /** Where the owners torrents announce to were last worked out from: the relay whose list
   * was read, and how many supernodes it named. */
  ownersFrom = $state.raw<{ relay: string; supernodes: number; at: number } | null>(null)
  /** Supernodes this page saw die lately, left out of torrents' owners (as of the last
   * change: a node is tried again DEAD_FOR_MS later). */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- replaced whole, never mutated
  deadSupernodes = $state.raw<ReadonlySet<string>>(new Set())

  /** Torrents kept across reloads: records in IndexedDB, downloads' data in OPFS. */
  readonly library: TorrentLibrary
  /** Shares from an earlier visit: the user's files are gone with the page, so each waits
   * for them to be picked again (reshare). Copying them into OPFS instead would silently
   * double the disk a big share takes; picking again costs a click and no re-hashing. */
  waiting = $state.raw<TorrentRecord[]>([])
  /** The browser mesh as of the last refresh (the Network view). */
  meshStats = $state.raw<MeshStats>(noMeshStats())

  readonly #deps: Omit<TorrentClientDeps, 'library'>
  #client: WebTorrent | null = null
  /** Makes every WebRTC connection of the page's client, with the relays' ICE servers: the one
   * rtcConfig object, whose servers are replaced in place as credentials renew. */
  readonly peerConnections = new PeerConnections(rtcConfig)
  /** Rate limits and connection cap from Settings (app/lib/settings.ts). */
  #limits: ClientLimits = { downloadLimit: null, uploadLimit: null, maxConns: 55 }
  #server: Promise<StreamServer | null> | null = null
  #timer: ReturnType<typeof setInterval> | null = null
  #ticks = 0
  #home: HomeContext | null = null
  #viewAsked = false
  /** The browser mesh (mesh/mesh.ts), made with the client: its wires speak it. */
  #mesh: Mesh | null = null
  /** Probes relays whose tracker socket is down, and reconnects the torrents using one that
   * answers again (relay-return.ts), not after the stock client's minutes of backoff. */
  readonly #relayReturn: RelayReturnWatch
  readonly #meshHandlers: MeshHandlers = {
    open: (n) => this.#mesh?.open(n),
    message: (n, m) => this.#mesh?.message(n, m),
    refused: (n, err) => this.#mesh?.refused(n, err),
    close: (n) => this.#mesh?.close(n),
  }

  /** `deps` default to the page's own (pageDeps, a new TorrentLibrary). */
  constructor(deps: Partial<TorrentClientDeps> = {}) {
    this.#deps = { ...pageDeps, ...deps }
    this.library = deps.library ?? new TorrentLibrary()
    this.#relayReturn = new RelayReturnWatch({
      now: this.#deps.now,
      fetch: this.#deps.fetch,
      online: () => globalThis.navigator?.onLine !== false,
      onReturn: (relay) => {
        for (const e of this.entries) {
          const { down } = e.trackerSockets()
          if (down.some((t) => trackerRelay(t) === relay)) e.reconnect()
        }
      },
    })
    this.supernodes = new SupernodeView(this.#deps.fetchJson, this.#deps.now, () => {
      const view = this.supernodes
      const count = view.records?.filter((r) => r.role === 'supernode').length ?? 0
      if (view.source) this.ownersFrom = { relay: view.source, supernodes: count, at: view.readAt }
      this.deadSupernodes = view.dead()
    })
  }

  /** The relay that served the page: its tracker is the fallback while no owner is known. */
  get tracker(): string {
    return originTracker(this.#deps.page.location)
  }

  /** Trackers a new torrent announces to before its info hash is known (and so its owners),
   * before any a link brings. */
  get trackers(): string[] {
    return planTrackers(this.#context(), { infoHash: '', fromLink: [] })
  }

  get supported(): boolean {
    return webrtcSupported()
  }

  /** The WebTorrent client once made (the console's and tests' `monsoon.webtorrent()`). */
  get webtorrent(): WebTorrent | null {
    return this.#client
  }

  /** How a connected peer of `torrent` was found (the torrent view's peer table). */
  foundVia(torrent: Torrent, wire: Wire): FoundVia {
    if (wire.type !== 'webrtc') return 'direct'
    if (wire.peerId && this.#mesh?.foundVia(torrent.infoHash, wire.peerId) === 'mesh') {
      return 'mesh'
    }
    return isBridgePeer(wire.peerId) ? 'bridge' : 'relay tracker'
  }

  find(infoHash: string): TorrentEntry | undefined {
    return this.entries.find((e) => e.infoHash === infoHash)
  }

  /** Hashes the files and seeds them; the entry reports hashing progress, then the links.
   * Throws InsecureContextError, before hashing, in a page that cannot hash. */
  seed(files: File[], name?: string): TorrentEntry {
    requireSecureContext()
    this.#readSupernodes()
    const trackers = this.trackers
    const total = files.reduce((n, f) => n + f.size, 0)
    const pieceLength = pieceLengthFor(total)
    let entry: TorrentEntry | undefined = undefined
    // Hashed in a worker pool rather than by WebTorrent's seed() (app/lib/hash/seed.ts).
    const torrent = seedFiles(
      this.#webtorrent(),
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
          this.library.keep(seeded, 'share', () => entry?.trackers ?? trackers)
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
    // A torrent kept from before is added from its .torrent with the pieces already stored.
    const { id, opts } = this.library.download(ref.infoHash)
    const torrent = this.#webtorrent().add(id, { ...opts, announce: trackers })
    const entry = new TorrentEntry(torrent, { ref, trackers, local: false })
    this.library.keep(torrent, 'download', () => entry.trackers)
    this.#track(entry)
    return entry
  }

  /** Goes on with the torrents of earlier visits: downloads resume from the pieces already
   * in OPFS, finished ones seed again; shares wait for their files (`waiting`). */
  async restore(): Promise<void> {
    const kept = await this.library.load()
    const downloads = kept.filter((r) => r.source === 'download')
    this.waiting = kept.filter((r) => r.source === 'share')
    if (downloads.length === 0) return
    // Its ICE servers are needed before the client starts (main.ts starts them too: once).
    await this.#deps.ice().start()
    for (const r of downloads)
      this.open({ infoHash: r.infoHash, trackers: r.trackers, name: r.name })
  }

  /** Seeds a share from an earlier visit again from the same files, picked again. Only one or
   * two pieces per file are hashed to check they are the same files. */
  reshare(record: TorrentRecord, files: File[]): TorrentEntry {
    requireSecureContext()
    const sizes = files.map((f) => f.size).join()
    if (sizes !== record.files.map((f) => f.length).join()) {
      throw new RangeError(
        `Pick the same ${record.files.length === 1 ? 'file' : `${record.files.length} files`} ` +
          `that were shared (${record.files.map((f) => f.path).join(', ')}).`,
      )
    }
    this.waiting = this.waiting.filter((r) => r !== record)
    this.#readSupernodes()
    const trackers = planTrackers(this.#context(), {
      infoHash: record.infoHash,
      fromLink: record.trackers,
    })
    const pieces = Math.ceil(record.length / record.pieceLength)
    const torrent = this.#webtorrent().add(record.torrentFile, {
      announce: trackers,
      preloadedStore: new FileChunkStore(record.pieceLength, files),
      bitfield: fullBitfield(pieces),
    })
    const ref = { infoHash: record.infoHash, trackers, name: record.name }
    const entry = new TorrentEntry(torrent, { ref, trackers, local: true })
    torrent.on('ready', () => {
      if (!torrent.done) return entry.fail('These are not the files that were shared.')
      this.library.keep(torrent, 'share', () => entry.trackers)
      entry.onSeeded()
    })
    this.#track(entry)
    return entry
  }

  /** Deletes a kept share that waits for its files. */
  async forget(record: TorrentRecord): Promise<void> {
    this.waiting = this.waiting.filter((r) => r !== record)
    await this.library.forget(record.infoHash)
  }

  /** The streaming server: WebTorrent's, reached through the service worker (app/sw.ts),
   * or null where no worker controls the page (sw-registration.ts). */
  streamServer(): Promise<StreamServer | null> {
    this.#server ??= serviceWorkerRegistration()
      .then((registration) =>
        registration ? this.#webtorrent().createServer({ controller: registration }) : null,
      )
      .catch((err: unknown) => {
        console.warn('Monsoon cannot stream without its service worker', err)
        return null
      })
    return this.#server
  }

  /** Stops sharing or downloading, and deletes the stored pieces. */
  async remove(entry: TorrentEntry): Promise<void> {
    this.#drop(entry)
    if (!entry.torrent.destroyed) {
      quietTrackers(entry.torrent)
      await this.#client?.remove(entry.torrent, { destroyStore: true })
    }
    if (entry.infoHash) await this.library.forget(entry.infoHash)
  }

  #context(): HomeContext {
    const { location } = this.#deps.page
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
    void this.supernodes.read([this.#deps.page.location.origin]).then((ok) => {
      if (!ok) this.#viewAsked = false
      else for (const e of this.entries) void e.home?.rehome({ kind: 'news' })
    })
  }

  #webtorrent(): WebTorrent {
    if (!this.#client) {
      const client = this.#deps.createClient(this.peerConnections, this.#meshHandlers)
      this.#client = client
      const origin = this.#deps.page.location.origin
      this.#mesh = new Mesh(
        clientMeshHost({
          client,
          peerConnections: this.peerConnections,
          now: this.#deps.now,
          catalog: this.#deps.meshCatalog,
          referralRelay: () => (origin.startsWith('http') ? origin : null),
          checkRelay: (url) => pageHostCache().check(url),
          rehome: (infoHash, referral) => {
            const home = this.find(infoHash)?.home
            home?.request({ kind: 'referral', referral })
            return Boolean(home)
          },
        }),
      )
      this.#applyLimits()
      this.#client.on('error', (err) => {
        this.error = typeof err === 'string' ? err : err.message
      })
      // Back online: trackers whose socket died reconnect now, not after WebTorrent's own
      // retry wait (up to minutes, with jitter).
      this.#deps.page.addEventListener('online', () => {
        for (const entry of this.entries) entry.reconnect()
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
    // The mesh looks a new torrent up among its neighbours once its hash is known.
    const meshAdded = () => this.#mesh?.added(entry.torrent.infoHash)
    if (entry.torrent.infoHash) meshAdded()
    else entry.torrent.on('infoHash', meshAdded)
    this.entries = [...this.entries, entry]
    this.#timer ??= setInterval(() => {
      const checkTrackers = ++this.#ticks % TRACKER_CHECK_TICKS === 0
      if (checkTrackers) {
        this.#shareIceRelays()
        this.#relayReturn.check(this.entries.map((e) => e.trackerSockets()))
        // The mesh's clock: PEX, lookups and catalog pulls, once a second.
        this.#mesh?.tick()
      }
      if (this.#mesh) this.meshStats = this.#mesh.stats()
      for (const e of this.entries) {
        e.refresh()
        if (checkTrackers) e.checkTrackers()
        // A download that finds no peer asks the relay's bridge for classic peers.
        this.#deps.bridges.watch(e)
      }
    }, REFRESH_MS)
  }

  /** Tells the ICE servers which relays the torrents announce to (their TURN is used) and
   * which other supernodes are known (their STUN is). */
  #shareIceRelays(): void {
    // The origin's own record names it by its public URL: not another relay.
    const self = this.supernodes.idOf(this.#deps.page.location.origin)
    const others = (this.supernodes.records ?? []).filter(
      (r) => r.role === 'supernode' && r.id !== self,
    )
    const { trackerRelays, supernodes } = relaysOf(
      this.entries.flatMap((e) => e.trackers),
      others.flatMap((r) => r.urls.slice(0, 1)),
    )
    this.#deps.ice().setRelays(trackerRelays, supernodes)
  }

  #drop(entry: TorrentEntry): void {
    entry.dispose()
    this.entries = this.entries.filter((e) => e !== entry)
    if (this.entries.length === 0 && this.#timer) {
      clearInterval(this.#timer)
      this.#timer = null
      this.#relayReturn.dispose()
    }
  }
}

/** The page's one client. */
export const torrents = new TorrentClient()
/** For the browser console and the end-to-end tests: the page's client and its engine. */
Object.assign(globalThis, {
  monsoon: { torrents, webtorrent: () => torrents.webtorrent },
})
// The kept torrents are read before any view mounts, so a view that opens one finds it.
await torrents.restore().catch((err: unknown) => {
  console.warn('Monsoon could not resume its kept torrents', err)
})
