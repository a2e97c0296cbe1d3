// What each client address holds in the tracker (its peer entries, the swarms it created),
// so a budget per address costs one Map lookup, and a full tracker can make room fairly by
// taking from the address that holds the most (issue 20). That address is found in O(1):
// counts move by one at a time, so addresses are kept in one bucket per count (as an LFU
// cache keeps its frequency list) and the largest count only ever moves by one.
//
// Bounded by what it indexes: one entry per item the tracker holds, whose number the
// tracker caps (--max-torrents, --max-peers).

import { sourceKey } from '../turn/allocations.ts'

/** The key budgets are kept under: the address for IPv4, its /64 for IPv6 (one subscriber's
 * prefix, RFC 6177), else one host could take 2^64 budgets. Expects normalizeIp's form. */
export function addressKey(ip: string): string {
  return ip.includes(':') ? sourceKey(ip) : ip
}

export class Holdings<T> {
  /** Items by address, in the order they were added (so the first is the oldest). */
  readonly #held = new Map<string, Set<T>>()
  /** Addresses by how many items they hold; only counts someone holds. */
  readonly #byCount = new Map<number, Set<string>>()
  #most = 0

  /** Items held by `source`. */
  count(source: string): number {
    return this.#held.get(source)?.size ?? 0
  }

  add(source: string, item: T): void {
    let items = this.#held.get(source)
    if (!items) {
      items = new Set()
      this.#held.set(source, items)
    }
    const before = items.size
    items.add(item)
    if (items.size !== before) this.#move(source, before, before + 1)
  }

  delete(source: string, item: T): void {
    const items = this.#held.get(source)
    if (!items?.delete(item)) return
    if (items.size === 0) this.#held.delete(source)
    this.#move(source, items.size + 1, items.size)
  }

  /** The address holding the most (any one of a tie), how many, and its oldest item. */
  heaviest(): { source: string; count: number; oldest: T } | undefined {
    if (this.#most === 0) return undefined
    const source = this.#byCount.get(this.#most)!.values().next().value!
    const oldest = this.#held.get(source)!.values().next().value!
    return { source, count: this.#most, oldest }
  }

  #move(source: string, from: number, to: number): void {
    // A bucket left empty is reused for the next count: one address adding item after item
    // (a seedbox starting up) then allocates nothing here.
    let emptied: Set<string> | undefined
    if (from > 0) {
      const bucket = this.#byCount.get(from)!
      bucket.delete(source)
      if (bucket.size === 0) {
        this.#byCount.delete(from)
        emptied = bucket
      }
    }
    if (to > 0) {
      let bucket = this.#byCount.get(to)
      if (!bucket) {
        bucket = emptied ?? new Set()
        this.#byCount.set(to, bucket)
      }
      bucket.add(source)
    }
    if (to > this.#most) this.#most = to
    else if (from === this.#most && emptied) this.#most = to
  }
}
