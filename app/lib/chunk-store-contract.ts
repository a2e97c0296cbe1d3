// One suite of the chunk-store contract (abstract-chunk-store, as chunk-store-args.ts states
// it), run against every store the app hands WebTorrent: call `chunkStoreContract` once per
// store from a test file, as hono's router suite is run once per router.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Callback, GetOptions } from './chunk-store-args.ts'

/** The chunk-store surface the suite drives. */
export interface ContractStore {
  readonly chunkLength: number
  put(index: number, buf: Uint8Array, cb?: Callback<Uint8Array | void>): void
  get(index: number, opts?: GetOptions | Callback<Uint8Array>, cb?: Callback<Uint8Array>): void
  close(cb?: Callback<void>): void
  destroy(cb?: Callback<void>): void
}

export interface ContractSubject {
  /** A new store for `data` cut every `chunkLength` bytes: a writable store starts empty,
   * of `data.length` bytes (the suite puts the chunks); a read-only one holds `data`. */
  make(chunkLength: number, data: Uint8Array): ContractStore
  /** False for a store whose every put must fail. */
  writable: boolean
}

type Outcome = { err: Error | null; value?: Uint8Array | void }

/** A call's outcome, as a promise; rejects when it calls back within the call (the
 * contract's callbacks run later). */
function call(run: (cb: Callback<Uint8Array | void>) => void): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    let returned = false
    run((err, value) => {
      if (returned) resolve({ err, value })
      else reject(new Error('called back within the call'))
    })
    returned = true
  })
}

const read = (s: ContractStore, index: number, opts?: GetOptions) =>
  call((cb) => s.get(index, opts, cb))
const write = (s: ContractStore, index: number, buf: Uint8Array) =>
  call((cb) => s.put(index, buf, cb))
const ended = (end: (cb: Callback<void>) => void) => call((cb) => end(cb))

async function bytes(s: ContractStore, index: number, opts?: GetOptions): Promise<Uint8Array> {
  const { err, value } = await read(s, index, opts)
  if (err) throw err
  return value as Uint8Array
}

async function refusal(outcome: Promise<Outcome>): Promise<string> {
  const { err } = await outcome
  expect(err).toBeInstanceOf(Error)
  return err!.message
}

function chunkOf(data: Uint8Array, chunkLength: number, index: number): Uint8Array {
  return data.subarray(index * chunkLength, (index + 1) * chunkLength)
}

export function chunkStoreContract(name: string, subject: ContractSubject): void {
  /** A store holding `data`, every chunk put (out of order, as a swarm sends them). */
  async function filled(chunkLength: number, data: Uint8Array): Promise<ContractStore> {
    const store = subject.make(chunkLength, data)
    if (!subject.writable) return store
    const count = Math.ceil(data.length / chunkLength)
    for (let i = count - 1; i >= 0; i--) {
      const { err } = await write(store, i, chunkOf(data, chunkLength, i).slice())
      if (err) throw err
    }
    return store
  }

  // 10 bytes in chunks of 4: chunks 0 and 1 of 4 bytes, chunk 2 of 2.
  const TEN = Uint8Array.from({ length: 10 }, (_, i) => i + 1)

  describe(`${name}: the chunk-store contract`, () => {
    it('reads back every chunk whole and any range of it, the last one shorter', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ minLength: 1, maxLength: 300 }),
          fc.integer({ min: 1, max: 64 }),
          fc.nat(),
          fc.nat(),
          fc.nat(),
          async (data, chunkLength, a, b, c) => {
            const store = await filled(chunkLength, data)
            const count = Math.ceil(data.length / chunkLength)
            const whole = []
            for (let i = 0; i < count; i++) whole.push(await bytes(store, i))
            expect(Buffer.concat(whole)).toEqual(Buffer.from(data))
            const last = whole[count - 1]!
            expect(last.length).toBe(data.length - (count - 1) * chunkLength)

            const index = a % count
            const size = whole[index]!.length
            const offset = b % (size + 1)
            const length = c % (size - offset + 1)
            const at = index * chunkLength + offset
            const part = await bytes(store, index, { offset, length })
            expect(Buffer.from(part)).toEqual(Buffer.from(data.subarray(at, at + length)))
          },
        ),
        { numRuns: 50 },
      )
    })

    it('takes opts left out, null, empty, or only offset or only length', async () => {
      const store = await filled(4, TEN)
      const whole = Uint8Array.of(5, 6, 7, 8)
      expect(await bytes(store, 1)).toEqual(whole)
      const bare = await call((cb) => store.get(1, cb))
      expect(bare.err).toBeNull()
      expect(bare.value).toEqual(whole)
      expect(await bytes(store, 1, null)).toEqual(whole)
      expect(await bytes(store, 1, {})).toEqual(whole)
      expect(await bytes(store, 1, { offset: 1 })).toEqual(Uint8Array.of(6, 7, 8))
      expect(await bytes(store, 1, { length: 3 })).toEqual(Uint8Array.of(5, 6, 7))
      expect(await bytes(store, 2, { offset: 1 })).toEqual(Uint8Array.of(10))
      expect(await bytes(store, 1, { offset: 4, length: 0 })).toEqual(new Uint8Array(0))
    })

    it('refuses an index that names no chunk', async () => {
      const store = await filled(4, TEN)
      for (const index of [3, -1, 1.5, NaN, Infinity, 2 ** 53]) {
        expect(await refusal(read(store, index))).toMatch(/no chunk/)
      }
      expect(await refusal(read(subject.make(4, new Uint8Array(0)), 0))).toMatch(/no chunk 0/)
    })

    it('refuses a range outside the chunk, the last chunk measured by its own length', async () => {
      const store = await filled(4, TEN)
      const bad = [
        { offset: 5 },
        { offset: 2, length: 3 },
        { length: 5 },
        { offset: -1 },
        { length: -1 },
        { offset: 1.5, length: 1 },
        { offset: NaN },
        { length: Infinity },
      ]
      for (const range of bad) {
        expect(await refusal(read(store, 1, range))).toMatch(/outside chunk 1/)
      }
      // Fits a whole chunk, not the last one's two bytes.
      expect(await refusal(read(store, 2, { offset: 0, length: 4 }))).toMatch(/outside chunk 2/)
      expect(await refusal(read(store, 2, { offset: 3 }))).toMatch(/outside chunk 2/)
    })

    it('answers nothing once closed, and calls back on close and destroy', async () => {
      const store = await filled(4, TEN)
      expect((await ended((cb) => store.close(cb))).err).toBeNull()
      expect(await refusal(read(store, 0))).toMatch(/closed/)
      const other = await filled(4, TEN)
      expect((await ended((cb) => other.destroy(cb))).err).toBeNull()
      expect(await refusal(read(other, 0))).toMatch(/closed/)
    })

    if (subject.writable) {
      it('refuses a chunk of the wrong size or index, and a put once closed', async () => {
        const store = subject.make(4, TEN)
        expect(await refusal(write(store, 0, new Uint8Array(3)))).toMatch(/must be 4 bytes/)
        expect(await refusal(write(store, 2, new Uint8Array(4)))).toMatch(/must be 2 bytes/)
        expect(await refusal(write(store, 3, new Uint8Array(2)))).toMatch(/no chunk 3/)
        expect(await refusal(write(store, -1, new Uint8Array(4)))).toMatch(/no chunk -1/)
        // Nothing refused was stored; what was put reads back.
        expect((await write(store, 2, Uint8Array.of(9, 9))).err).toBeNull()
        expect(await bytes(store, 2)).toEqual(Uint8Array.of(9, 9))
        await ended((cb) => store.close(cb))
        expect(await refusal(write(store, 0, new Uint8Array(4)))).toMatch(/closed/)
      })
    } else {
      it('refuses every put, and still serves what it holds', async () => {
        const store = subject.make(4, TEN)
        expect(await refusal(write(store, 0, Uint8Array.of(0, 0, 0, 0)))).toMatch(/read-only/)
        expect(await bytes(store, 0)).toEqual(Uint8Array.of(1, 2, 3, 4))
      })
    }
  })
}
