// Catalog and host exchange over the mesh (issue 22): signed listing pages, supernode records
// and hosts, pulled from each neighbouring browser by cursor, one kind at a time, as relays
// serve them (shared/cursor-puller.ts does the same over HTTP). Per remote peer, not per wire:
// a browser shares one catalog whichever swarms we share with it. What we get is verified by
// the host's catalog before it is stored; a page with a forged record makes its sender hostile.

import {
  encodeMeshMessage,
  MAX_PAGE_RECORDS,
  type MeshMessage,
  type PageKind,
} from '../../../shared/mesh/messages.ts'
import {
  CATALOG_PULL_INTERVAL_MS,
  PAGES_SERVED_BURST,
  PAGES_SERVED_PER_MINUTE,
  PULL_TIMEOUT_MS,
} from '../../../shared/mesh/limits.ts'
import { TokenBucket } from '../../../shared/token-bucket.ts'
import type { MeshHost, RecordPage } from './types.ts'

const KINDS: readonly PageKind[] = ['listings', 'supernodes', 'hosts']

type Pull = Extract<MeshMessage, { t: 'pull' }>
type Page = Extract<MeshMessage, { t: 'page' }>

/** What the mesh does for the catalog: send to a peer (any of its wires), judge, count. */
export interface CatalogPeers {
  send(peerId: string, message: MeshMessage): boolean
  hostile(peerId: string, reason: string): void
  stored(peerId: string, records: number): void
  dropped(): void
}

interface RemoteCatalog {
  cursors: Record<PageKind, number>
  /** Our pull awaiting its page, per kind. */
  waiting: Record<PageKind, { query: number; at: number } | null>
  pulledAt: number | null
  served: TokenBucket
}

export class CatalogPulls {
  readonly #host: MeshHost
  readonly #peers: CatalogPeers
  readonly #remotes = new Map<string, RemoteCatalog>()
  #query = 0

  constructor(host: MeshHost, peers: CatalogPeers) {
    this.#host = host
    this.#peers = peers
  }

  get size(): number {
    return this.#remotes.size
  }

  /** A remote peer's first wire opened. */
  open(peerId: string): void {
    if (this.#remotes.has(peerId)) return
    const none = { listings: null, supernodes: null, hosts: null }
    this.#remotes.set(peerId, {
      cursors: { listings: 0, supernodes: 0, hosts: 0 },
      waiting: none,
      pulledAt: null,
      served: new TokenBucket(
        { tokens: PAGES_SERVED_PER_MINUTE, everyMs: 60_000, burst: PAGES_SERVED_BURST },
        this.#host.now(),
      ),
    })
  }

  /** Its last wire closed, or it was banned. */
  forget(peerId: string): void {
    this.#remotes.delete(peerId)
  }

  /** Pulls every kind from each peer whose round is due; gives up on pulls timed out. */
  tick(now: number): void {
    if (!this.#host.catalog) return
    for (const [peerId, remote] of this.#remotes) {
      for (const kind of KINDS) {
        const waiting = remote.waiting[kind]
        if (waiting && now - waiting.at >= PULL_TIMEOUT_MS) remote.waiting[kind] = null
      }
      if (remote.pulledAt !== null && now - remote.pulledAt < CATALOG_PULL_INTERVAL_MS) continue
      remote.pulledAt = now
      for (const kind of KINDS) this.#pull(peerId, remote, kind, now)
    }
  }

  #pull(peerId: string, remote: RemoteCatalog, kind: PageKind, now: number): void {
    if (remote.waiting[kind]) return
    const query = ++this.#query
    const cursor = remote.cursors[kind]
    if (this.#peers.send(peerId, { t: 'pull', query, kind, cursor })) {
      remote.waiting[kind] = { query, at: now }
    }
  }

  /** A neighbour's page: ours to take only if it answers our pull of that kind. */
  page(peerId: string, page: Page): void {
    const catalog = this.#host.catalog
    const remote = this.#remotes.get(peerId)
    const waiting = remote?.waiting[page.kind]
    if (!catalog || !remote || waiting?.query !== page.query) return this.#peers.dropped()
    const after = remote.cursors[page.kind]
    if (page.next < after) return this.#peers.hostile(peerId, 'catalog cursor went back')
    catalog.accept(page.kind, page.records).then(
      ({ stored, refused }) => {
        if (this.#remotes.get(peerId) !== remote) return
        remote.waiting[page.kind] = null
        if (stored > 0) this.#peers.stored(peerId, stored)
        if (refused > 0) return this.#peers.hostile(peerId, `sent ${refused} forged records`)
        remote.cursors[page.kind] = page.next
        // Again at once while there is more and the cursor moved (else we would spin).
        if (page.more && page.next > after) this.#pull(peerId, remote, page.kind, this.#host.now())
      },
      () => {
        if (this.#remotes.get(peerId) === remote) remote.waiting[page.kind] = null
      },
    )
  }

  /** A neighbour's pull: served from our catalog within its pages-per-minute budget. */
  serve(peerId: string, pull: Pull): void {
    const catalog = this.#host.catalog
    const remote = this.#remotes.get(peerId)
    if (!catalog || !remote) return
    if (!remote.served.take(1, this.#host.now())) return this.#peers.dropped()
    void this.#fitting(pull, MAX_PAGE_RECORDS).then(
      (page) => page && this.#peers.send(peerId, page),
      () => undefined,
    )
  }

  /** The page after `pull.cursor` as a message that encodes, asking for fewer records while
   * it does not (fewer records keep `next` right, where dropping some would skip them). */
  async #fitting(pull: Pull, limit: number): Promise<Page | null> {
    const catalog = this.#host.catalog
    if (!catalog) return null
    const got: RecordPage = await catalog.page(pull.kind, pull.cursor, limit)
    const page: Page = {
      t: 'page',
      query: pull.query,
      kind: pull.kind,
      next: got.next,
      more: got.more,
      records: got.records,
    }
    try {
      encodeMeshMessage(page)
      return page
    } catch {
      return limit > 1 ? this.#fitting(pull, Math.floor(limit / 2)) : null
    }
  }
}
