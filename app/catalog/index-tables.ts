// Flat tables behind the search index (search-index.ts): at a million listings a JS object,
// string or Map entry per row costs hundreds of megabytes, so rows live in typed arrays and
// are found through open-addressing hash tables over integers (Knuth, TAOCP vol. 3 §6.4,
// linear probing).

type Growable = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array

/** `array` with room for at least `need` elements: itself, or a copy grown by a quarter. */
export function grown<T extends Growable>(array: T, need: number): T {
  if (need <= array.length) return array
  const next = new (array.constructor as new (n: number) => T)(
    Math.max(need, array.length * 1.25 + 64) | 0,
  )
  next.set(array)
  return next
}

const HEX40 = /^[0-9a-f]{40}$/
const EMPTY = 0
const HASH_BYTES = 20

/**
 * Interned info hashes: each distinct hash gets a small id (0, 1, 2, …), and its 20 bytes sit
 * in one Uint8Array. A hash that is not 40 lowercase hex (only tests write such) is kept as a
 * string on the side.
 */
export class InfoHashTable {
  /** Bytes of hash id `h` at [20h, 20h + 20). */
  bytes: Uint8Array<ArrayBufferLike> = new Uint8Array(0)
  count = 0
  /** Slot → id + 1; 0 is empty. Never more than half full. */
  #slots: Int32Array<ArrayBufferLike> = new Int32Array(64)
  #odd = new Map<string, number>()
  #oddText = new Map<number, string>()
  /** Restored without its slots, not yet given them: finds nothing until then. */
  #slotless = false

  /** The id of `hash`, or -1 when it was never interned. */
  find(hash: string): number {
    if (this.#slotless) throw new Error('hash table restored without its slots')
    if (!HEX40.test(hash)) return this.#odd.get(hash) ?? -1
    const key = hexBytes(hash)
    const mask = this.#slots.length - 1
    for (let slot = mix(key, 0) & mask; ; slot = (slot + 1) & mask) {
      const id = this.#slots[slot] - 1
      if (id < 0) return -1
      if (this.#sameBytes(id, key)) return id
    }
  }

  intern(hash: string): number {
    const found = this.find(hash)
    if (found >= 0) return found
    const id = this.count++
    this.bytes = grown(this.bytes, this.count * HASH_BYTES)
    if (HEX40.test(hash)) {
      this.bytes.set(hexBytes(hash), id * HASH_BYTES)
      this.#place(id)
    } else {
      this.#odd.set(hash, id)
      this.#oddText.set(id, hash)
    }
    return id
  }

  text(id: number): string {
    const odd = this.#oddText.get(id)
    if (odd !== undefined) return odd
    let hex = ''
    for (let i = id * HASH_BYTES; i < (id + 1) * HASH_BYTES; i++) {
      hex += HEX_DIGITS[this.bytes[i]]
    }
    return hex
  }

  /** Hashes kept as text, for the snapshot: [id, text] pairs. */
  oddEntries(): [number, string][] {
    return [...this.#oddText]
  }

  /** The lookup slots, for a snapshot: restored from it, a start rehashes nothing. */
  get slots(): Int32Array<ArrayBufferLike> {
    return this.#slots
  }

  /**
   * A table of `count` ids whose bytes are `bytes` and whose odd ones are `odd`; with the
   * `slots` a snapshot saved, checked (RangeError) rather than rebuilt: a million hashes
   * cost a start ~0.15 s to rehash. With `null`, it gives texts at once and finds only once
   * given its slots (takeSlots): a start answers searches before it reads them.
   */
  static restore(
    bytes: Uint8Array<ArrayBufferLike>,
    count: number,
    odd: [number, string][],
    slots?: Int32Array | null,
  ): InfoHashTable {
    const table = new InfoHashTable()
    table.bytes = bytes
    table.count = count
    for (const [id, text] of odd) {
      table.#odd.set(text, id)
      table.#oddText.set(id, text)
    }
    if (slots === undefined) table.#rehash()
    else if (slots === null) table.#slotless = true
    else table.takeSlots(slots)
    return table
  }

  /** The slots a snapshot saved for this table (restored with none), checked (RangeError). */
  takeSlots(slots: Int32Array): void {
    checkSlots(slots, this.count, this.count - this.#oddText.size, 2)
    // Only tests write odd hashes: a start with none skips this pass.
    if (this.#oddText.size) {
      for (const s of slots) if (s > 0 && this.#oddText.has(s - 1)) throw slotError
    }
    this.#slots = slots
    this.#slotless = false
  }

  /** Keeps the ids for which `keep[id]` is not -1, renumbered to keep[id]. */
  renumber(keep: Int32Array, count: number): void {
    const bytes = new Uint8Array(count * HASH_BYTES)
    const odd = [...this.#oddText]
    this.#odd.clear()
    this.#oddText.clear()
    for (let id = 0; id < this.count; id++) {
      if (keep[id] >= 0) bytes.set(this.bytes.subarray(id * 20, id * 20 + 20), keep[id] * 20)
    }
    for (const [id, text] of odd) {
      if (keep[id] < 0) continue
      this.#odd.set(text, keep[id])
      this.#oddText.set(keep[id], text)
    }
    this.bytes = bytes
    this.count = count
    this.#rehash()
  }

  #rehash(): void {
    let size = 64
    while (size < this.count * 2) size *= 2
    this.#slots = new Int32Array(size)
    for (let id = 0; id < this.count; id++) if (!this.#oddText.has(id)) this.#place(id)
  }

  #place(id: number): void {
    if ((this.count - this.#oddText.size) * 2 > this.#slots.length) return this.#rehash()
    const mask = this.#slots.length - 1
    let slot = mix(this.bytes, id * HASH_BYTES) & mask
    while (this.#slots[slot] !== EMPTY) slot = (slot + 1) & mask
    this.#slots[slot] = id + 1
  }

  #sameBytes(id: number, key: Uint8Array): boolean {
    const at = id * HASH_BYTES
    for (let i = 0; i < HASH_BYTES; i++) if (this.bytes[at + i] !== key[i]) return false
    return true
  }
}

/** FNV-1a over all 20 bytes from `at`: real info hashes are SHA-1 outputs, but made-up ones
 * are not. An offset, not a subarray: a start rehashes a million of them. */
function mix(bytes: Uint8Array, at: number): number {
  let h = 0x811c9dc5
  for (let i = at; i < at + HASH_BYTES; i++) h = Math.imul(h ^ bytes[i], 0x01000193)
  return (h ^ (h >>> 15)) >>> 0
}

const HEX_DIGITS = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'))

const scratchHash = new Uint8Array(HASH_BYTES)

/** The bytes of a 40-hex-digit hash, in a buffer reused by the next call. */
function hexBytes(hex: string): Uint8Array {
  for (let i = 0; i < HASH_BYTES; i++) {
    scratchHash[i] = (nibble(hex.charCodeAt(2 * i)) << 4) | nibble(hex.charCodeAt(2 * i + 1))
  }
  return scratchHash
}

/** A lowercase hex digit's value (callers have checked the text is hex). */
const nibble = (code: number) => (code <= 57 ? code - 48 : code - 87)

const TOMBSTONE = -1

/**
 * Documents found by a pair of integers their columns hold (publisher id, hash id): the
 * slots hold only doc + 1, and a probe reads the pair back from the columns through `pairOf`.
 */
export class DocTable {
  #slots: Int32Array<ArrayBufferLike> = new Int32Array(64)
  /** Slots taken, tombstones included. */
  #used = 0
  readonly #first: (doc: number) => number
  readonly #second: (doc: number) => number

  constructor(first: (doc: number) => number, second: (doc: number) => number) {
    this.#first = first
    this.#second = second
  }

  get(a: number, b: number): number {
    const slot = this.#find(a, b)
    return slot < 0 ? -1 : this.#slots[slot] - 1
  }

  /** Files `doc` under its pair, replacing whichever doc had that pair. */
  set(doc: number): void {
    const slot = this.#find(this.#first(doc), this.#second(doc))
    if (slot >= 0) {
      this.#slots[slot] = doc + 1
      return
    }
    if ((this.#used + 1) * 2 > this.#slots.length) this.#rehash()
    const mask = this.#slots.length - 1
    let at = pairHash(this.#first(doc), this.#second(doc)) & mask
    while (this.#slots[at] > 0) at = (at + 1) & mask
    if (this.#slots[at] === EMPTY) this.#used++
    this.#slots[at] = doc + 1
  }

  delete(a: number, b: number): void {
    const slot = this.#find(a, b)
    if (slot >= 0) this.#slots[slot] = TOMBSTONE
  }

  /** The slots, for a snapshot (see restore). */
  get slots(): Int32Array<ArrayBufferLike> {
    return this.#slots
  }

  /** Takes the slots a snapshot saved, each doc checked with `valid` (RangeError): a start
   * refiles a million rows in ~0.1 s otherwise. */
  restore(slots: Int32Array, docs: number, valid: (doc: number) => boolean): void {
    const used = checkSlots(slots, docs, -1, 2)
    for (const s of slots) if (s > 0 && !valid(s - 1)) throw slotError
    this.#slots = slots
    this.#used = used
  }

  /** Files exactly `docs` afresh (after documents were renumbered, or at a start): each
   * pair once, so each goes straight into the first empty slot, with no search for it. */
  reset(docs: ArrayLike<number>, count: number): void {
    let size = 64
    while (size < count * 3) size *= 2
    const slots = new Int32Array(size)
    const mask = size - 1
    for (let i = 0; i < docs.length; i++) {
      const doc = docs[i]
      let at = pairHash(this.#first(doc), this.#second(doc)) & mask
      while (slots[at] !== EMPTY) at = (at + 1) & mask
      slots[at] = doc + 1
    }
    this.#slots = slots
    this.#used = docs.length
  }

  #find(a: number, b: number): number {
    const mask = this.#slots.length - 1
    for (let at = pairHash(a, b) & mask; ; at = (at + 1) & mask) {
      const s = this.#slots[at]
      if (s === EMPTY) return -1
      if (s > 0 && this.#first(s - 1) === a && this.#second(s - 1) === b) return at
    }
  }

  #rehash(): void {
    const docs: number[] = []
    for (const s of this.#slots) if (s > 0) docs.push(s - 1)
    this.reset(docs, docs.length + 1)
  }
}

const slotError = new RangeError('bad lookup slots')

/**
 * Checks slots as a snapshot saved them: a power of two at least 64 long and `spare` times
 * the entries, each 0 (empty), -1 (tombstone) or an entry + 1 below `count` + 1, each entry
 * at most once; `entries` of them (-1: any number). Returns the slots taken.
 */
function checkSlots(slots: Int32Array, count: number, entries: number, spare: number): number {
  const size = slots.length
  if (size < 64 || (size & (size - 1)) !== 0) throw slotError
  const seen = new Uint8Array(count)
  let found = 0
  let used = 0
  for (let i = 0; i < size; i++) {
    const s = slots[i]
    if (s === EMPTY) continue
    used++
    if (s === TOMBSTONE) continue
    if (s < 0 || s > count || seen[s - 1]) throw slotError
    seen[s - 1] = 1
    found++
  }
  if ((entries >= 0 && found !== entries) || used * spare > size) throw slotError
  return used
}

function pairHash(a: number, b: number): number {
  const h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x632be5ab, 0x85ebca6b)
  return (h ^ (h >>> 16)) >>> 0
}
