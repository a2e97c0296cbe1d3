// Verified pages pulled from one peer relay, held until there are enough to commit together
// (store.ts ingestPages: one transaction writes each index page it touched once, so a few
// pages at once cost ~30 % less CPU than one at a time). The peer's cursor moves only with a
// commit, in the same transaction as the rows, so a crash loses only pages not yet
// committed, and those are pulled again; meanwhile the puller reads its cursor here. What a
// peer makes us hold is bounded: pages are committed once their rows reach `maxBytes`.

import type { CatalogStore, PulledRows, PutResult } from './store.ts'

export interface StagedPage extends PulledRows {
  /** The cursor the page was pulled after. */
  after: number
  /** The peer catalog's epoch the page came from. */
  epoch: string
  /** Listings on the page that failed verification. */
  invalid: number
}

export interface CommittedPage {
  page: StagedPage
  /** One result per row, in order. */
  results: PutResult[]
}

export class StagedPages {
  readonly #store: CatalogStore
  readonly #peer: string
  readonly #maxBytes: number
  #pages: StagedPage[] = []
  #bytes = 0

  constructor(store: CatalogStore, peer: string, maxBytes: number) {
    this.#store = store
    this.#peer = peer
    this.#maxBytes = maxBytes
  }

  /** Pages held. */
  get size(): number {
    return this.#pages.length
  }

  /** Bytes of the rows held. */
  get bytes(): number {
    return this.#bytes
  }

  /** Where the next page starts: after the last page held, else the stored cursor. */
  cursor(): number {
    return this.#pages.at(-1)?.next ?? this.#store.peerCursor(this.#peer)?.cursor ?? 0
  }

  /** The epoch of the pages held, else the stored one (undefined: never pulled). */
  epoch(): string | undefined {
    return this.#pages[0]?.epoch ?? this.#store.peerCursor(this.#peer)?.epoch
  }

  /** Holds a page; true once the rows held reach the commit size. A page of another epoch
   * than those held is a RangeError: commit them first. */
  add(page: StagedPage): boolean {
    if (this.#pages.length > 0 && page.epoch !== this.#pages[0].epoch) {
      throw new RangeError('a page of another epoch than the pages held')
    }
    this.#pages.push(page)
    for (const row of page.rows) this.#bytes += row.bytes
    return this.#bytes >= this.#maxBytes
  }

  /** Commits the pages held in one transaction and lets them go, committed or not (a failed
   * commit throws, and its pages are pulled again from the stored cursor). */
  commit(): CommittedPage[] {
    const pages = this.#pages
    if (pages.length === 0) return []
    this.#pages = []
    this.#bytes = 0
    const results = this.#store.ingestPages(this.#peer, pages[0].epoch, pages)
    return pages.map((page, i) => ({ page, results: results[i] }))
  }
}
