// Pulling a relay's catalog page after page by cursor (GET /v1/listings?after=CURSOR, which
// answers `{ listings, next, more }`), for the browser's catalog worker and for a relay
// pulling from its --peer relays alike. One pass goes from the stored cursor to the end:
// fetch the page after the cursor, verify and store it (which moves the stored cursor to
// `next`), and go on while the relay says `more` and the cursor moved. The next page is
// fetched while this one is verified and stored. Fetching, checking and storing are the
// caller's; so are waits between passes and backoff after a failure (shared/backoff.ts).

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
  const { prefetch, strict, signal } = options
  let ahead: { after: number; page: Promise<P> } | null = null
  while (!signal?.aborted) {
    if (await steps.beforePage?.()) ahead = null
    const after = await steps.cursor()
    const page: P = await (ahead?.after === after ? ahead.page : steps.fetch(after))
    ahead = null
    if (await steps.restarted?.(after, page)) continue
    const more = page.more && page.next > after
    if (strict && page.next < after) {
      throw new CursorPageError(`cursor went back from ${after} to ${page.next}`)
    }
    if (strict && more && page.listings.length === 0) {
      throw new CursorPageError('empty page marked more')
    }
    if (more && prefetch()) {
      const next = steps.fetch(page.next)
      // Awaited when its turn comes, or dropped: never an unhandled rejection.
      next.catch(() => undefined)
      ahead = { after: page.next, page: next }
    }
    await steps.store(after, page)
    // A source that says `more` without moving its cursor would keep us here forever.
    if (!more) return
  }
}
