import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  CursorPageError,
  pullByCursor,
  type CursorPage,
  type CursorPullOptions,
} from './cursor-puller.ts'

interface FakePage extends CursorPage {
  listings: number[]
  epoch: string
}

/** A relay's catalog: rows numbered 1..n, each at the cursor of its number, served
 * `pageSize` at a time; `serve` may replace any answer (garbage, failures, lies). */
function fakeSource(rows: number, pageSize: number) {
  const requests: number[] = []
  const source = {
    epoch: 'a',
    requests,
    /** Cursors whose page fails, and how. */
    failing: new Map<number, Error>(),
    serve: (after: number): FakePage => {
      const failure = source.failing.get(after)
      if (failure) throw failure
      const listings: number[] = []
      for (let r = after + 1; r <= rows && listings.length < pageSize; r++) listings.push(r)
      const next = listings.length ? listings[listings.length - 1] : after
      return { listings, next, more: next < rows, epoch: source.epoch }
    },
    fetch: async (after: number): Promise<FakePage> => {
      requests.push(after)
      await Promise.resolve()
      return source.serve(after)
    },
  }
  return source
}

/** What a puller keeps: the rows stored in order, and the cursor it stored with them. */
function fakeStore() {
  return { rows: [] as number[], cursor: 0, epoch: undefined as string | undefined }
}

function stepsFor(source: ReturnType<typeof fakeSource>, store = fakeStore()) {
  return {
    store,
    steps: {
      cursor: () => store.cursor,
      fetch: (after: number) => source.fetch(after),
      restarted: (_after: number, page: FakePage) => {
        if (store.epoch === undefined || store.epoch === page.epoch) return false
        Object.assign(store, { epoch: page.epoch, cursor: 0 })
        return true
      },
      store: async (_after: number, page: FakePage) => {
        await Promise.resolve()
        store.rows.push(...page.listings)
        store.epoch = page.epoch
        store.cursor = page.next
      },
    },
  }
}

/** The browser reads quietly to the end; a relay judges its peer (strict). */
const modes: [string, CursorPullOptions][] = [
  ['browser', { strict: false, prefetch: () => true }],
  ['relay', { strict: true, prefetch: () => true }],
]

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe.each(modes)('pullByCursor (%s)', (_name, options) => {
  it('pulls every page in order to the end, then resumes from the stored cursor', async () => {
    const source = fakeSource(25, 10)
    const { store, steps } = stepsFor(source)
    await pullByCursor(steps, options)
    expect(store.rows).toEqual(range(1, 25))
    expect(store.cursor).toBe(25)
    expect(source.requests).toEqual([0, 10, 20])
    await pullByCursor(steps, options)
    expect(store.rows).toHaveLength(25)
    expect(source.requests.slice(3)).toEqual([25])
  })

  it('fetches the next page while this one is stored, and not when told not to', async () => {
    /** The requests made by the time each page is stored. */
    const fetchedWhileStoring = async (prefetch: boolean) => {
      const source = fakeSource(30, 10)
      const { steps } = stepsFor(source)
      const seen: number[][] = []
      const store = steps.store
      steps.store = async (after, page) => {
        seen.push([...source.requests])
        await store(after, page)
      }
      await pullByCursor(steps, { ...options, prefetch: () => prefetch })
      return seen
    }
    expect((await fetchedWhileStoring(true))[0]).toEqual([0, 10])
    expect(await fetchedWhileStoring(false)).toEqual([[0], [0, 10], [0, 10, 20]])
  })

  it('keeps up to `ahead` pages fetched ahead of the one stored, and never more', async () => {
    for (const ahead of [1, 2, 3]) {
      const source = fakeSource(80, 10)
      const { store, steps } = stepsFor(source)
      const store0 = steps.store
      /** The furthest page asked for, in pages past the one being stored. */
      const leads: number[] = []
      steps.store = async (after, page) => {
        // Long enough for every chained fetch to come.
        for (let i = 0; i < 20; i++) await Promise.resolve()
        leads.push((Math.max(...source.requests) - after) / 10)
        await store0(after, page)
      }
      await pullByCursor(steps, { ...options, ahead })
      expect(store.rows).toEqual(range(1, 80))
      expect(leads.slice(0, 8 - ahead)).toEqual(Array(8 - ahead).fill(ahead))
      expect(Math.max(...leads)).toBe(ahead)
      // Each page asked for once.
      expect(source.requests).toEqual(range(0, 7).map((p) => p * 10))
    }
  })

  it('a wait for budget drops every page fetched ahead, and they are fetched again', async () => {
    const source = fakeSource(40, 10)
    const { store, steps } = stepsFor(source)
    const store0 = steps.store
    steps.store = async (after, page) => {
      for (let i = 0; i < 20; i++) await Promise.resolve()
      await store0(after, page)
    }
    let waits = 0
    await pullByCursor(
      { ...steps, beforePage: async () => waits++ === 1 },
      { ...options, ahead: 3 },
    )
    expect(store.rows).toEqual(range(1, 40))
    expect(source.requests).toEqual([0, 10, 20, 30, 10, 20, 30])
  })

  it('a queue dropped while its pages are on the way asks for nothing more', async () => {
    const source = fakeSource(40, 10)
    const fetch0 = source.fetch
    source.fetch = async (after) => {
      await new Promise((resolve) => setTimeout(resolve, 1))
      return fetch0(after)
    }
    const { store, steps } = stepsFor(source)
    let waits = 0
    await pullByCursor(
      { ...steps, beforePage: async () => waits++ === 1 },
      { ...options, ahead: 3 },
    )
    expect(store.rows).toEqual(range(1, 40))
    expect(source.requests).toEqual([0, 10, 10, 20, 30])
  })

  it('fails midway: rejects, keeps what was stored, and the next pass resumes there', async () => {
    const source = fakeSource(40, 10)
    source.failing.set(20, new Error('connection reset'))
    const { store, steps } = stepsFor(source)
    await expect(pullByCursor(steps, options)).rejects.toThrow('connection reset')
    expect(store.rows).toEqual(range(1, 20))
    expect(store.cursor).toBe(20)
    source.failing.clear()
    await pullByCursor(steps, options)
    expect(store.rows).toEqual(range(1, 40))
  })

  it('a failing store rejects and leaves the cursor; the page fetched ahead never goes unhandled', async () => {
    const source = fakeSource(40, 10)
    source.failing.set(10, new Error('the page ahead failed too'))
    const { store, steps } = stepsFor(source)
    steps.store = () => Promise.reject(new Error('QuotaExceededError'))
    await expect(pullByCursor(steps, options)).rejects.toThrow('QuotaExceededError')
    expect(store.cursor).toBe(0)
    expect(source.requests).toEqual([0, 10])
  })

  it('garbage from the source rejects before anything is stored', async () => {
    const source = fakeSource(10, 10)
    const { store, steps } = stepsFor(source)
    steps.fetch = () => Promise.reject(new TypeError('the relay sent a malformed page'))
    await expect(pullByCursor(steps, options)).rejects.toThrow(TypeError)
    expect(store.rows).toEqual([])
  })

  it('a page that says more without moving the cursor ends the pass after one request', async () => {
    const source = fakeSource(10, 10)
    source.serve = (after) => ({ listings: [1], next: after, more: true, epoch: 'a' })
    const { store, steps } = stepsFor(source)
    await pullByCursor(steps, options)
    expect(source.requests).toEqual([0])
    expect(store.rows).toEqual([1])
  })

  it('an epoch change drops the page and starts again from the reset cursor', async () => {
    const source = fakeSource(15, 10)
    const { store, steps } = stepsFor(source)
    await pullByCursor(steps, options)
    source.epoch = 'b'
    store.rows.length = 0
    await pullByCursor(steps, options)
    expect(source.requests.slice(2)).toEqual([15, 0, 10])
    expect(store.rows).toEqual(range(1, 15))
    expect(store.epoch).toBe('b')
  })

  it('a refused reset rejects with the refusal', async () => {
    const source = fakeSource(15, 10)
    const { steps } = stepsFor(source)
    steps.restarted = () => {
      throw new RangeError('epoch changed again too soon')
    }
    await expect(pullByCursor(steps, options)).rejects.toThrow(RangeError)
  })

  it('a wait for budget drops the page fetched ahead, which is fetched again', async () => {
    const source = fakeSource(20, 10)
    const { store, steps } = stepsFor(source)
    let waits = 0
    const pull = pullByCursor({ ...steps, beforePage: async () => waits++ === 1 }, options)
    await pull
    expect(source.requests).toEqual([0, 10, 10])
    expect(store.rows).toEqual(range(1, 20))
  })

  it('stops between pages once the signal aborts', async () => {
    const source = fakeSource(50, 10)
    const { store, steps } = stepsFor(source)
    const stop = new AbortController()
    const store0 = steps.store
    steps.store = async (after, page) => {
      await store0(after, page)
      if (store.cursor === 20) stop.abort()
    }
    await pullByCursor(steps, { ...options, signal: stop.signal })
    expect(store.rows).toEqual(range(1, 20))
  })

  it('property: any paging, with failures anywhere, stores every row once and in order over passes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(60),
        fc.integer({ min: 1, max: 15 }),
        fc.boolean(),
        fc.array(fc.boolean(), { maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        async (rows, pageSize, prefetch, failures, ahead) => {
          const source = fakeSource(rows, pageSize)
          const serve = source.serve
          let i = 0
          source.serve = (after) => {
            if (failures[i++ % Math.max(1, failures.length)] && i < 200) throw new Error('flaky')
            return serve(after)
          }
          const { store, steps } = stepsFor(source)
          for (let pass = 0; pass < 300 && store.cursor < rows; pass++) {
            await pullByCursor(steps, { ...options, prefetch: () => prefetch, ahead }).catch(
              () => {},
            )
          }
          expect(store.rows).toEqual(range(1, rows))
        },
      ),
    )
  })
})

describe('pullByCursor, strict only where the modes differ', () => {
  it('a cursor that goes back is an error for a relay, and the end for a browser', async () => {
    const liar = () => {
      const source = fakeSource(10, 10)
      source.serve = (after) => ({ listings: [after], next: after - 5, more: true, epoch: 'a' })
      const { store, steps } = stepsFor(source, { rows: [], cursor: 8, epoch: 'a' })
      return { source, store, steps }
    }
    const relay = liar()
    await expect(pullByCursor(relay.steps, modes[1][1])).rejects.toThrow(CursorPageError)
    expect(relay.store.rows).toEqual([])
    const browser = liar()
    await pullByCursor(browser.steps, modes[0][1])
    expect(browser.source.requests).toEqual([8])
    expect(browser.store.cursor).toBe(3)
  })

  it('an empty page marked more is an error for a relay, and read past by a browser', async () => {
    const empty = () => {
      const source = fakeSource(30, 10)
      const serve = source.serve
      source.serve = (after) =>
        after === 10 ? { listings: [], next: 20, more: true, epoch: 'a' } : serve(after)
      return { source, ...stepsFor(source) }
    }
    const relay = empty()
    await expect(pullByCursor(relay.steps, modes[1][1])).rejects.toThrow('empty page marked more')
    expect(relay.store.cursor).toBe(10)
    const browser = empty()
    await pullByCursor(browser.steps, modes[0][1])
    expect(browser.store.rows).toEqual([...range(1, 10), ...range(21, 30)])
  })
})
