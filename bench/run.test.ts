// The bench runner's command line (no benchmark is run: those take a minute each).
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const RUN = fileURLToPath(new URL('./run.js', import.meta.url))
const run = (...args: string[]) => spawnSync(process.execPath, [RUN, ...args], { encoding: 'utf8' })

describe('bench/run.js', () => {
  it('lists the tracker and abuse benchmarks with their summaries in --help', () => {
    const r = run('--help')
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/tracker-http\s+HTTP announces\/s/)
    expect(r.stdout).toMatch(/tracker-ws\s+WebSocket announces\/s/)
    expect(r.stdout).toMatch(/abuse\s+honest announce p50\/p99/)
  })

  it('refuses an unknown benchmark or a bad duration without running anything', () => {
    const unknown = run('no-such-bench')
    expect(unknown.status).toBe(2)
    expect(unknown.stderr).toContain('unknown benchmark no-such-bench')
    expect(unknown.stdout).toBe('')
    const bad = run('--duration', 'soon', 'tracker-http')
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain('--duration must be a positive number')
    const listings = run('--listings', '1e6', 'catalog-sync')
    expect(listings.status).toBe(2)
    expect(listings.stderr).toContain('--listings must be a whole number')
  })
})
