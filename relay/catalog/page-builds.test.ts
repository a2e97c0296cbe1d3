import { describe, expect, it } from 'vitest'
import { PageBuildOverdue, PageBuilds, isRefused, type PageBuildsOptions } from './page-builds.ts'

const options: PageBuildsOptions = {
  atOnce: 1,
  maxWaiting: 3,
  perAddressAtOnce: 2,
  perAddressPerMinute: 60,
  maxAddresses: 100,
  busyRetryAfterSeconds: 2,
  maxTurnMs: 10_000,
}

/** Turn timers that fire only when told (tests never wait on a clock). */
function manualTimers() {
  const pending = new Set<() => void>()
  return {
    setTimer(run: () => void): () => void {
      pending.add(run)
      return () => pending.delete(run)
    },
    get pending(): number {
      return pending.size
    },
    /** Fires every timer set and not cancelled. */
    fireAll(): void {
      const due = [...pending]
      pending.clear()
      for (const run of due) run()
    },
  }
}

/** A build that ends when told, and says when it started. */
function gate() {
  let open!: () => void
  const started = { value: false }
  const done = new Promise<void>((resolve) => (open = resolve))
  return { open, started, build: () => ((started.value = true), done.then(() => 'built')) }
}

describe('PageBuilds', () => {
  it('runs builds one at a time, first come first served', async () => {
    const builds = new PageBuilds(options, manualTimers())
    const [a, b] = [gate(), gate()]
    const ra = builds.run('10.0.0.1', a.build, 0)
    const rb = builds.run('10.0.0.2', b.build, 0)
    await Promise.resolve()
    expect(a.started.value).toBe(true)
    expect(b.started.value).toBe(false)
    expect(builds.waiting).toBe(1)
    a.open()
    await ra
    await Promise.resolve()
    expect(b.started.value).toBe(true)
    b.open()
    expect(await rb).toBe('built')
    expect(builds.running).toBe(0)
  })

  it('holds one address to its builds at once, others unaffected', () => {
    const builds = new PageBuilds(options, manualTimers())
    const g = gate()
    builds.run('10.0.0.1', g.build, 0)
    builds.run('10.0.0.1', g.build, 0)
    const third = builds.run('10.0.0.1', g.build, 0)
    expect(isRefused(third) && third.refused).toBe('address')
    expect(isRefused(builds.run('10.0.0.2', g.build, 0))).toBe(false)
  })

  it('holds one address to its builds per minute, with a Retry-After', async () => {
    const builds = new PageBuilds({ ...options, perAddressPerMinute: 2 }, manualTimers())
    for (let i = 0; i < 2; i++) await builds.run('10.0.0.1', () => 1, 0)
    const over = builds.run('10.0.0.1', () => 1, 0)
    expect(isRefused(over) && over).toEqual({ refused: 'address', retryAfterSeconds: 30 })
    expect(isRefused(builds.run('10.0.0.1', () => 1, 30_000))).toBe(false)
  })

  it('refuses everyone past the queue with busy, before any work', () => {
    const builds = new PageBuilds(options, manualTimers())
    const g = gate()
    for (let i = 1; i <= 4; i++) builds.run(`10.0.0.${i}`, g.build, 0)
    const refused = builds.run('10.0.0.9', g.build, 0)
    expect(isRefused(refused) && refused).toEqual({ refused: 'busy', retryAfterSeconds: 2 })
  })

  it('gives the turn back when a build throws', async () => {
    const builds = new PageBuilds(options, manualTimers())
    const failed = builds.run(
      '10.0.0.1',
      () => {
        throw new Error('disk gone')
      },
      0,
    )
    await expect(failed).rejects.toThrow('disk gone')
    expect(await builds.run('10.0.0.1', () => 'ok', 0)).toBe('ok')
    expect(builds.running).toBe(0)
  })

  it('gives up a turn that overruns, reports it, and passes the turn on', async () => {
    const timers = manualTimers()
    const overdue: [string, number][] = []
    const builds = new PageBuilds(options, {
      setTimer: timers.setTimer,
      onOverdue: (address, ms) => overdue.push([address, ms]),
    })
    const stuck = gate()
    const next = gate()
    const ra = builds.run('10.0.0.1', stuck.build, 0)
    const rb = builds.run('10.0.0.2', next.build, 0)
    await Promise.resolve()
    expect(builds.waiting).toBe(1)
    timers.fireAll()
    await expect(ra).rejects.toBeInstanceOf(PageBuildOverdue)
    expect(overdue).toEqual([['10.0.0.1', 10_000]])
    await Promise.resolve()
    expect(next.started.value).toBe(true)
    expect(builds.running).toBe(1)
    // The build given up ending late frees nothing more: the next one still holds the turn.
    stuck.open()
    await Promise.resolve()
    await Promise.resolve()
    expect(builds.running).toBe(1)
    next.open()
    expect(await rb).toBe('built')
    expect(builds.running).toBe(0)
    expect(timers.pending).toBe(0)
    // The address's share came back too.
    for (let i = 0; i < 2; i++) expect(isRefused(builds.run('10.0.0.1', () => 1, 0))).toBe(false)
  })

  it('cancels the timer of a turn that ends in time', async () => {
    const timers = manualTimers()
    const builds = new PageBuilds(options, timers)
    expect(await builds.run('10.0.0.1', () => 'quick', 0)).toBe('quick')
    await expect(builds.run('10.0.0.1', () => Promise.reject(new Error('no')), 0)).rejects.toThrow()
    expect(timers.pending).toBe(0)
    expect(builds.running).toBe(0)
  })
})
