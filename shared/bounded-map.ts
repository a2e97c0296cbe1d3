// A Map that holds at most `maxSize` entries, so keys chosen by the network (addresses,
// origins, public keys) cost bounded memory (STYLE.md rule 5). The eviction order is said at
// construction, because callers need different ones:
// - 'oldest': the entry written longest ago goes first; a set moves its key to the young
//   end, a get does not (caches whose entries age out, "warned at most once a minute" logs);
// - 'lru': the entry least recently read or written goes first; get and set both move the
//   key to the young end (parsed keys, sessions, buckets that stay hot while used).
// A JavaScript Map iterates in insertion order, so its first key is always the eldest.

export type EvictionOrder = 'oldest' | 'lru'

export interface BoundedMapOptions<K, V> {
  /** The most entries held; setting a new key past it evicts one. */
  maxSize: number
  order: EvictionOrder
  /** Called for each entry evicted to make room (not for delete or clear). */
  onEvict?: (key: K, value: V) => void
}

export class BoundedMap<K, V> implements Iterable<[K, V]> {
  readonly maxSize: number
  readonly order: EvictionOrder
  readonly #onEvict: ((key: K, value: V) => void) | undefined
  readonly #map = new Map<K, V>()
  /** In 'lru' order, whether #youngest is the map's last key: a get of it then moves
   * nothing. Hot callers read one key many times in a row (a proxying relay's owner, a
   * client's rate bucket), and the move costs a delete and an insert each time. */
  #knowsYoungest = false
  #youngest: K | undefined

  constructor(options: BoundedMapOptions<K, V>) {
    if (!Number.isInteger(options.maxSize) || options.maxSize < 1) {
      throw new RangeError('maxSize must be a positive integer')
    }
    if (options.order !== 'oldest' && options.order !== 'lru') {
      throw new TypeError(`eviction order must be 'oldest' or 'lru'`)
    }
    this.maxSize = options.maxSize
    this.order = options.order
    this.#onEvict = options.onEvict
  }

  get size(): number {
    return this.#map.size
  }

  /** The value for `key`; in 'lru' order a hit makes it the youngest. */
  get(key: K): V | undefined {
    if (this.order === 'oldest') return this.#map.get(key)
    if (this.#knowsYoungest && this.#youngest === key) return this.#map.get(key)
    if (!this.#map.has(key)) return undefined
    const value = this.#map.get(key) as V
    this.#map.delete(key)
    this.#map.set(key, value)
    this.#young(key)
    return value
  }

  /** Whether `key` is held; never changes the order. */
  has(key: K): boolean {
    return this.#map.has(key)
  }

  /** Sets `key` as the youngest entry, evicting the eldest if that passes maxSize. */
  set(key: K, value: V): this {
    this.#map.delete(key)
    this.#map.set(key, value)
    this.#young(key)
    if (this.#map.size > this.maxSize) {
      const [eldest, evicted] = this.#map.entries().next().value!
      this.#map.delete(eldest)
      this.#onEvict?.(eldest, evicted)
    }
    return this
  }

  delete(key: K): boolean {
    if (this.#knowsYoungest && this.#youngest === key) this.#forgetYoungest()
    return this.#map.delete(key)
  }

  clear(): void {
    this.#forgetYoungest()
    this.#map.clear()
  }

  #young(key: K): void {
    this.#knowsYoungest = true
    this.#youngest = key
  }

  #forgetYoungest(): void {
    this.#knowsYoungest = false
    this.#youngest = undefined
  }

  /** Keys, eldest first. */
  keys(): MapIterator<K> {
    return this.#map.keys()
  }

  values(): MapIterator<V> {
    return this.#map.values()
  }

  entries(): MapIterator<[K, V]> {
    return this.#map.entries()
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.#map.entries()
  }
}
