// The catalog and host exchange of the browser mesh (issue 22; app/lib/mesh/types.ts
// CatalogExchange): the pages this page serves its neighbours, and what it does with theirs.
//   listings    signed listings as GET /v1/listings serves them, numbered by the catalog
//               worker's store (db.ts StoredListing.cursor); verified there as a relay's are.
//   supernodes  signed supernode records (shared/supernode.ts) this page knows: those of the
//               relay it read (SupernodeView) and those neighbours sent, each verified; their
//               URLs go to the host cache, where bootstrap looks for relays.
//   hosts       the host cache's relay URLs, as {"url": "…"}; checked as the cache checks
//               them, kept under the mesh's own cap. Nothing about this browser itself.
// Supernode and host cursors number records in the order this page learned them (a record
// replaced by a newer one gets a new number), as a store numbers listings, in memory.

import { BoundedMap } from '../../shared/bounded-map.ts'
import { MAX_SUPERNODE_RECORD_AGE_SECONDS } from '../../shared/limits.ts'
import type { PageKind } from '../../shared/mesh/messages.ts'
import { verifySupernodeRecord, type SupernodeRecord } from '../../shared/supernode.ts'
import type { PageHostCache } from '../lib/bootstrap/host-cache.ts'
import type { CatalogExchange, RecordPage } from '../lib/mesh/types.ts'
import { parseRecords, recordPage, type NumberedRecord } from './mesh-page.ts'

/** Supernode records held for neighbours: as many as a relay's list is read (network.ts
 * MAX_SUPERNODES_SHOWN). */
export const MAX_MESH_SUPERNODES = 256
/** Host rows held for neighbours: the host cache's own two lists fit. */
export const MAX_MESH_HOST_ROWS = 128

export interface PageExchangeDeps {
  /** The catalog worker's side (Catalog in catalog.svelte.ts). */
  listings: {
    meshPage(cursor: number, limit: number): Promise<RecordPage>
    meshAccept(records: string[]): Promise<{ stored: number; refused: number }>
  }
  /** Verified supernode records this page knows (SupernodeView.records). */
  supernodes(): readonly SupernodeRecord[]
  hosts: PageHostCache
  /** Unix ms. */
  now?: () => number
}

interface Numbered extends NumberedRecord {
  seq: number
  ts: number
}

/** Records numbered in the order they were learned; the eldest numbers go first when full. */
class NumberedLog {
  readonly #rows: BoundedMap<string, Numbered>
  #last = 0

  constructor(maxSize: number) {
    this.#rows = new BoundedMap({ maxSize, order: 'oldest' })
  }

  /** Takes a record unless one with the same key and at least its seq is held; true if new. */
  note(key: string, text: string, seq = 0, ts = 0): boolean {
    const held = this.#rows.get(key)
    if (held && held.seq >= seq) return false
    // A BoundedMap set moves the key to the young end: iteration stays in cursor order.
    this.#rows.set(key, { cursor: ++this.#last, text, seq, ts })
    return true
  }

  rows(keep: (row: Numbered) => boolean = () => true): Numbered[] {
    return [...this.#rows].map(([, row]) => row).filter(keep)
  }
}

export function pageCatalogExchange(deps: PageExchangeDeps): CatalogExchange {
  const now = deps.now ?? Date.now
  const supernodes = new NumberedLog(MAX_MESH_SUPERNODES)
  const hosts = new NumberedLog(MAX_MESH_HOST_ROWS)
  const noteSupernode = (r: SupernodeRecord) =>
    supernodes.note(r.id, JSON.stringify(r), r.seq, r.ts)
  const noteHosts = () => {
    for (const url of deps.hosts.urls()) hosts.note(url, JSON.stringify({ url }))
  }

  return {
    async page(kind: PageKind, cursor: number, limit: number): Promise<RecordPage> {
      switch (kind) {
        case 'listings':
          return deps.listings.meshPage(cursor, limit)
        case 'supernodes': {
          for (const record of deps.supernodes()) noteSupernode(record)
          // Passed on only while a node would still take them (shared/supernode.ts expiry).
          const oldest = Math.floor(now() / 1000) - MAX_SUPERNODE_RECORD_AGE_SECONDS
          return recordPage(
            supernodes.rows((r) => r.ts >= oldest),
            cursor,
            limit,
            true,
          )
        }
        case 'hosts':
          noteHosts()
          return recordPage(hosts.rows(), cursor, limit, true)
      }
    },

    async accept(kind: PageKind, records: string[]) {
      if (kind === 'listings') return deps.listings.meshAccept(records)
      const parsed = parseRecords(records)
      let stored = 0
      let refused = parsed.refused
      if (kind === 'supernodes') {
        const nowSeconds = Math.floor(now() / 1000)
        for (const value of parsed.values) {
          let record: SupernodeRecord
          try {
            record = verifySupernodeRecord(value, nowSeconds)
          } catch {
            refused++
            continue
          }
          if (noteSupernode(record)) stored++
          // Signed by the relay itself; whether this page may contact it is the cache's call.
          deps.hosts.addFromMesh(record.urls)
        }
      } else {
        const urls = parsed.values.map((v) => (isHostRow(v) ? v.url : null))
        const added = deps.hosts.addFromMesh(urls)
        stored += added.stored
        refused += added.refused
      }
      return { stored, refused }
    },
  }
}

function isHostRow(value: unknown): value is { url: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { url?: unknown }).url === 'string'
  )
}
