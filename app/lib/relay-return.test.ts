import { setImmediate as flush } from 'node:timers/promises'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  FIRST_PROBE_DELAY_MS,
  MAX_PROBE_DELAY_MS,
  MAX_PROBES_IN_FLIGHT,
  PROBE_JITTER,
  PROBE_TIMEOUT_MS,
  RelayReturnWatch,
  type TrackerSockets,
} from './relay-return.ts'

const RELAY = 'http://127.0.0.1:4100'
const TRACKER = 'ws://127.0.0.1:4100' // as the stock client spells it: no trailing slash
const OTHER_TRACKER = 'ws://127.0.0.1:4200/'
const HELLO = JSON.stringify({ id: 'ab'.repeat(32), record: {} })
const MINUTE = 60_000

type Answer = (url: string, signal: AbortSignal) => Promise<Response>
const refused: Answer = () => Promise.reject(new TypeError('Failed to fetch'))
const hello: Answer = () => Promise.resolve(new Response(HELLO))
/** Never answers, and ignores its signal: a hostile or broken server behind a proxy. */
const held: Answer = () => new Promise<Response>(() => {})

/** A watch on a fake clock, each relay answering as `answer` says now. */
function setup(options: { online?: () => boolean; random?: () => number } = {}) {
  let now = 1_000_000
  let answer: Answer = refused
  const asked: { url: string; at: number; signal: AbortSignal }[] = []
  const returned: { relay: string; at: number }[] = []
  const watch = new RelayReturnWatch({
    now: () => now,
    fetch: (url, { signal }) => {
      asked.push({ url, at: now, signal })
      return answer(url, signal)
    },
    onReturn: (relay) => returned.push({ relay, at: now }),
    online: options.online,
    random: options.random ?? (() => 0.999),
  })
  /** Checks once a second (as TorrentClient does) for `ms`, with `torrents` as they are. */
  const run = async (ms: number, torrents: () => TrackerSockets[]) => {
    for (const end = now + ms; now < end;) {
      now += 1000
      watch.check(torrents())
      await flush()
      await flush()
    }
  }
  return {
    watch,
    asked,
    returned,
    run,
    now: () => now,
    answer: (a: Answer) => (answer = a),
  }
}

const down =
  (...trackers: string[]) =>
  () => [{ all: trackers, down: trackers }]

describe('RelayReturnWatch', () => {
  it('reconnects a relay that comes back after a long outage within one longest delay', async () => {
    const t = setup()
    await t.run(20 * MINUTE, down(TRACKER))
    expect(t.returned).toEqual([])
    const backAt = t.now()
    t.answer(hello)
    await t.run(MAX_PROBE_DELAY_MS + 2000, down(TRACKER))
    expect(t.returned.map((r) => r.relay)).toEqual([RELAY])
    expect(t.returned[0]!.at - backAt).toBeLessThanOrEqual(MAX_PROBE_DELAY_MS + 1000)
    expect(t.asked.at(-1)!.url).toBe(`${RELAY}/v1/hello`)
  })

  it('probes a relay that stays down at most a few times a minute, whatever the jitter', async () => {
    await fc.assert(
      fc.asyncProperty(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), async (r) => {
        const t = setup({ random: () => r })
        await t.run(10 * MINUTE, down(TRACKER))
        const first = t.asked[0]!.at - 1_000_000
        expect(first).toBeGreaterThanOrEqual(FIRST_PROBE_DELAY_MS * (1 - PROBE_JITTER))
        const perMinute = (from: number) =>
          t.asked.filter((a) => a.at > from && a.at <= from + MINUTE).length
        // Delays 5, 10, 20, 30 s...: at most four in the first minute, and once at the longest
        // delay (less its jitter) at most three in any minute.
        expect(perMinute(1_000_000)).toBeLessThanOrEqual(4)
        const steady = Math.ceil(MINUTE / (MAX_PROBE_DELAY_MS * (1 - PROBE_JITTER)))
        for (let from = 1_000_000 + 2 * MINUTE; from < t.now() - MINUTE; from += 1000) {
          expect(perMinute(from)).toBeLessThanOrEqual(steady)
        }
        expect(t.returned).toEqual([])
      }),
      { numRuns: 8 },
    )
  })

  it('probes nothing while every tracker socket is up', async () => {
    const t = setup()
    t.answer(hello)
    await t.run(5 * MINUTE, () => [{ all: [TRACKER, OTHER_TRACKER], down: [] }])
    expect(t.asked).toEqual([])
    expect(t.watch.watched).toEqual([])
  })

  it('probes a relay down in one torrent though up in another, and reconnects on its answer', async () => {
    // Each torrent's tracker retries on its own timer: one left down when the others came
    // back would wait minutes for it.
    const t = setup()
    t.answer(hello)
    await t.run(FIRST_PROBE_DELAY_MS + 1000, () => [
      { all: [TRACKER], down: [TRACKER] },
      { all: [`${TRACKER}/`], down: [] },
    ])
    expect(t.asked.map((a) => a.url)).toEqual([`${RELAY}/v1/hello`])
    expect(t.returned.map((r) => r.relay)).toEqual([RELAY])
  })

  it('stops probing a relay once its socket is up again or it is no longer used', async () => {
    const t = setup()
    await t.run(FIRST_PROBE_DELAY_MS + 1000, down(TRACKER, OTHER_TRACKER))
    expect(t.watch.watched.sort()).toEqual([RELAY, 'http://127.0.0.1:4200'])
    await t.run(1000, () => [{ all: [TRACKER], down: [] }])
    const before = t.asked.length
    await t.run(5 * MINUTE, () => [{ all: [TRACKER], down: [] }])
    expect(t.asked.length).toBe(before)
    expect(t.watch.watched).toEqual([])
  })

  it('probes nothing while the browser is offline', async () => {
    let online = false
    const t = setup({ online: () => online })
    await t.run(2 * MINUTE, down(TRACKER))
    expect(t.asked).toEqual([])
    online = true
    t.answer(hello)
    await t.run(MAX_PROBE_DELAY_MS + 1000, down(TRACKER))
    expect(t.returned[0]?.relay).toBe(RELAY)
  })

  it('times out a held answer, and is not fooled by what answers in its place', async () => {
    const t = setup()
    t.answer(held)
    await t.run(5 * MINUTE, down(TRACKER))
    expect(t.asked.length).toBeGreaterThan(2)
    // Each probe was aborted at its timeout, and at most one was ever waited on at a time.
    for (const a of t.asked) expect(a.signal.aborted).toBe(true)
    expect(t.returned).toEqual([])

    const junk: Answer[] = [
      () => Promise.resolve(new Response('<html>proxy error</html>', { status: 200 })),
      () => Promise.resolve(new Response(HELLO, { status: 503 })),
      () => Promise.resolve(new Response(JSON.stringify({ id: 'not hex' }))),
      () => Promise.resolve(new Response('x'.repeat(1 << 20))),
      () =>
        Promise.resolve(
          new Response(JSON.stringify({ id: 'ab'.repeat(32), pad: 'y'.repeat(1 << 20) })),
        ),
      // A body that starts and never ends: aborted at the timeout.
      () =>
        Promise.resolve(
          new Response(new ReadableStream({ start: (c) => c.enqueue(new Uint8Array(1)) })),
        ),
    ]
    for (const a of junk) {
      t.answer(a)
      await t.run(MAX_PROBE_DELAY_MS + PROBE_TIMEOUT_MS + 2000, down(TRACKER))
    }
    expect(t.returned).toEqual([])
  })

  it('keeps at most MAX_PROBES_IN_FLIGHT probes waiting, over many dead relays', async () => {
    const t = setup()
    t.answer(held)
    const trackers = Array.from({ length: 20 }, (_, i) => `ws://127.0.0.1:${5000 + i}`)
    let most = 0
    for (let s = 0; s < 120; s++) {
      await t.run(1000, down(...trackers))
      most = Math.max(most, t.asked.filter((a) => !a.signal.aborted).length)
    }
    expect(most).toBeGreaterThan(0)
    expect(most).toBeLessThanOrEqual(MAX_PROBES_IN_FLIGHT)
  })

  it('reconnects a relay whose hello answers but whose socket keeps failing at most once a longest delay', async () => {
    const t = setup()
    t.answer(hello)
    // The socket fails again each time it is remade: down, a second up (connecting), down.
    let step = 0
    await t.run(10 * MINUTE, () => {
      const failing = step++ % 3 !== 0
      return [{ all: [TRACKER], down: failing ? [TRACKER] : [] }]
    })
    expect(t.returned.length).toBeGreaterThan(0)
    expect(t.returned.length).toBeLessThanOrEqual(
      Math.ceil((10 * MINUTE) / (MAX_PROBE_DELAY_MS * (1 - PROBE_JITTER))) + 3,
    )
  })

  it('ignores trackers that name no relay', () => {
    const t = setup()
    t.watch.check([
      { all: ['udp://tracker:80', 'not a url'], down: ['udp://tracker:80', 'not a url'] },
    ])
    expect(t.watch.watched).toEqual([])
  })
})
