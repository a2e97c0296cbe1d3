// Bytes held for clients (request bodies received, response bytes in flight), counted in total
// and per address, so what the relay buffers is bounded by construction (issue 20): a
// reservation that would pass either cap is refused, and the caller answers 503. The map of
// addresses holds only those holding bytes now, so its size is bounded by the connections.

export interface ByteBudgetOptions {
  /** Bytes held at once over every address. */
  maxTotal: number
  /** Bytes one address may hold at once. */
  maxPerAddress: number
}

export class ByteBudget {
  readonly options: ByteBudgetOptions
  readonly #held = new Map<string, number>()
  #total = 0

  constructor(options: ByteBudgetOptions) {
    if (!(options.maxTotal > 0)) throw new RangeError('maxTotal must be positive')
    if (!(options.maxPerAddress > 0)) throw new RangeError('maxPerAddress must be positive')
    this.options = options
  }

  /** Bytes held over every address. */
  get total(): number {
    return this.#total
  }

  /** Bytes `address` holds. */
  heldBy(address: string): number {
    return this.#held.get(address) ?? 0
  }

  /** Addresses holding bytes now. */
  get addresses(): number {
    return this.#held.size
  }

  /** True when `address` holds at least `fraction` of its share. */
  holdsShare(address: string, fraction = 1): boolean {
    return this.heldBy(address) >= this.options.maxPerAddress * fraction
  }

  /** Holds `bytes` for `address` if both caps allow; false (and nothing held) if not. */
  reserve(address: string, bytes: number): boolean {
    if (bytes < 0 || !Number.isFinite(bytes)) throw new RangeError('bytes must be >= 0')
    const held = this.heldBy(address)
    if (held + bytes > this.options.maxPerAddress) return false
    if (this.#total + bytes > this.options.maxTotal) return false
    if (bytes === 0) return true
    this.#held.set(address, held + bytes)
    this.#total += bytes
    return true
  }

  /** Gives back `bytes` that `address` held. */
  release(address: string, bytes: number): void {
    if (bytes <= 0) return
    const held = this.heldBy(address)
    const freed = Math.min(held, bytes)
    if (held - freed === 0) this.#held.delete(address)
    else this.#held.set(address, held - freed)
    this.#total -= freed
  }
}
