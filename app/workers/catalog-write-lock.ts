// One catalog writer at a time over every tab of the app. Each tab runs its own catalog
// worker on the one IndexedDB database, and judges whether a listing is new against its own
// index (catalog-replica.ts): two tabs syncing at once would each store the same listing.
// The Web Locks API (workers have it too) orders the writes across tabs; where it is missing
// (Node's tests, an old browser) writes run unlocked, one tab's being the only writer.

export const CATALOG_WRITE_LOCK = 'monsoon-catalog-write'

/** The part of the Web Locks API used here. */
export interface Locks {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>
}

const webLocks = (): Locks | undefined =>
  (globalThis as { navigator?: { locks?: Locks } }).navigator?.locks

/** Runs `work` holding the catalog's write lock, shared by every tab of this origin. */
export function exclusively<T>(work: () => Promise<T>, locks = webLocks()): Promise<T> {
  return locks ? locks.request(CATALOG_WRITE_LOCK, work) : work()
}
