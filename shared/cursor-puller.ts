// Pulling a relay's catalog page after page by cursor (GET /v1/listings?after=CURSOR, which
// answers `{ listings, next, more }`), for the browser's catalog worker and for a relay
// pulling from its --peer relays alike. One pass goes from the stored cursor to the end:
// fetch the page after the cursor, verify and store it (which moves the stored cursor to
// `next`), and go on while the relay says `more` and the cursor moved. Pages after this one
// are fetched while it is verified and stored: one by default, up to `ahead` (each asked as
// soon as the cursor of the page before it is known), so the source builds the next pages
// while ours are checked. Fetching, checking and storing are the caller's; so are waits
// between passes and backoff after a failure (shared/backoff.ts).

/** What the loop reads of a page; the caller's page type carries the rest. */
export interface CursorPage {
  /** Only how many is read here (a relay's worker holds the listings themselves). */
  listings: { readonly length: number }
  next: number
  more: boolean
}

export interface CursorPullSteps<P extends CursorPage> {
  /** Where the next page starts: read before every page, since `store` and `restarted`
   * move it. */
  cursor(): number | Promise<number>
  /** GETs and parses the page after `after`; throws on a failed request or a malformed
   * page. Verification may start here, to overlap the fetch of the page after. */
  fetch(after: number): Promise<P>
  /** True when the page comes from another store behind the same URL (an epoch change) and
   * the cursor was reset: the page is dropped and the pass starts again from `cursor()`.
   * Throws to refuse a reset. */
  restarted?(after: number, page: P): boolean | Promise<boolean>
  /** Verifies and stores the page, moving the stored cursor to `page.next`. */
  store(after: number, page: P): Promise<void>
  /** Called before each page, to wait out a budget; true when it waited, so that a page
   * fetched ahead is dropped as stale. */
  beforePage?(): Promise<boolean>
}

export interface CursorPullOptions {
  /** Whether to fetch the next page while this one is stored; asked for each page. */
  prefetch: () => boolean
  /** A cursor that goes back, or an empty page marked `more`, is a CursorPageError (a
   * relay judging a peer) rather than the quiet end of the pass (a browser reading). */
  strict: boolean
  /** Ends the pass between pages. */
  signal?: AbortSignal
  /** Pages fetched ahead of the one being stored, at most (default 1): what one source can
   * make us hold at once is this many pages more than the one in hand. */
  ahead?: number
}

/** A page that makes no progress, from a source that should know better (strict mode). */
export class CursorPageError extends Error {
  override name = 'CursorPageError'
}

/** Pulls pages from `steps.cursor()` until the source has no more, or the signal aborts;
 * rejects with the first error of any step. */
export async function pullByCursor<P extends CursorPage>(
  steps: CursorPullSteps<P>,
  options: CursorPullOptions,
): Promise<void> {
  const { prefetch, strict, signal, ahead = 1 } = options
  let queue = new PagesAhead(steps, prefetch, strict, ahead)
  while (!signal?.aborted) {
    if (await steps.beforePage?.()) queue = queue.dropped()
    const after = await steps.cursor()
    if (!queue.startsAt(after)) queue = queue.dropped()
    const page: P = await (queue.take() ?? steps.fetch(after))
    if (await steps.restarted?.(after, page)) {
      queue = queue.dropped()
      continue
    }
    const more = progresses(after, page)
    if (strict && page.next < after) {
      throw new CursorPageError(`cursor went back from ${after} to ${page.next}`)
    }
    if (strict && more && page.listings.length === 0) {
      throw new CursorPageError('empty page marked more')
    }
    if (more) queue.fillAfter(page)
    await steps.store(after, page)
    // A source that says `more` without moving its cursor would keep us here forever.
    if (!more) return
  }
}

/** Whether the source says there is more after `page`, and its cursor moved. */
function progresses(after: number, page: CursorPage): boolean {
  return page.more && page.next > after
}

interface PageAhead<P> {
  after: number
  page: Promise<P>
  /** Set once fetched, so the page after it can be asked for. */
  fetched?: P
}

/** The pages fetched ahead of the one being stored, in cursor order, at most `max`. Each is
 * asked for once the page before it has come, while `prefetch()` says so, and not after a
 * page that would end the pass or fail it in strict mode. Dropped (after a wait, a reset or
 * a cursor that moved elsewhere), it asks for nothing more; what it asked for is awaited
 * when its turn comes or left, never an unhandled rejection. */
class PagesAhead<P extends CursorPage> {
  readonly #pages: PageAhead<P>[] = []
  #live = true

  constructor(
    readonly steps: CursorPullSteps<P>,
    readonly prefetch: () => boolean,
    readonly strict: boolean,
    readonly max: number,
  ) {}

  /** A new, empty queue in place of this one. */
  dropped(): PagesAhead<P> {
    this.#live = false
    return new PagesAhead(this.steps, this.prefetch, this.strict, this.max)
  }

  /** True when empty, or when the first page ahead starts at `after`. */
  startsAt(after: number): boolean {
    return this.#pages.length === 0 || this.#pages[0].after === after
  }

  /** The first page ahead, if any. */
  take(): Promise<P> | undefined {
    return this.#pages.shift()?.page
  }

  /** Asks for pages after `current` (the page about to be stored) up to `max` ahead. */
  fillAfter(current: P): void {
    if (this.#pages.length === 0) this.#ask(current.next)
    else this.#extend()
  }

  #extend(): void {
    const last = this.#pages.at(-1)
    if (!this.#live || !last?.fetched || this.#pages.length >= this.max) return
    const page = last.fetched
    if (!progresses(last.after, page)) return
    if (this.strict && page.listings.length === 0) return
    this.#ask(page.next)
  }

  #ask(after: number): void {
    if (!this.#live || this.#pages.length >= this.max || !this.prefetch()) return
    const entry: PageAhead<P> = { after, page: this.steps.fetch(after) }
    this.#pages.push(entry)
    entry.page.then(
      (page) => {
        entry.fetched = page
        if (this.#pages.at(-1) === entry) this.#extend()
      },
      () => undefined,
    )
  }
}
