import { describe, expect, it } from 'vitest'
import { createLogger } from './log.ts'
import { encodeMetrics } from './metrics.ts'
import { Refusals } from './refusals.ts'

function logged() {
  const lines: Record<string, unknown>[] = []
  const log = createLogger('warn', (line) => lines.push(JSON.parse(line)))
  return { lines, log }
}

describe('Refusals', () => {
  it('counts every refusal and warns once per source and reason per interval', () => {
    const { lines, log } = logged()
    const refusals = new Refusals(log, { warnIntervalMs: 60_000 })
    for (let i = 0; i < 50; i++) refusals.refuse('torrents-per-address', '192.0.2.7', {}, 1000 + i)
    refusals.refuse('torrents-per-address', '192.0.2.8', {}, 2000)
    refusals.refuse('peer-id-taken', '192.0.2.7', {}, 2000)
    expect(refusals.count('torrents-per-address')).toBe(51)
    expect(lines.map((l) => [l.reason, l.source])).toEqual([
      ['torrents-per-address', '192.0.2.7'],
      ['torrents-per-address', '192.0.2.8'],
      ['peer-id-taken', '192.0.2.7'],
    ])
    // A minute later the next refusal says how many came since the last line.
    refusals.refuse('torrents-per-address', '192.0.2.7', {}, 62_000)
    expect(lines.at(-1)).toMatchObject({ level: 'warn', source: '192.0.2.7', refused: 50 })
  })

  it('caps lines per interval over all sources, and says how many it left out', () => {
    const { lines, log } = logged()
    const refusals = new Refusals(log, { maxWarnsPerInterval: 10, maxSources: 100 })
    for (let i = 0; i < 1000; i++) refusals.refuse('connections-per-address', `10.0.${i}.1`, {}, 5)
    expect(lines).toHaveLength(10)
    refusals.refuse('connections-per-address', '10.9.9.9', {}, 70_000)
    expect(lines.at(-2)).toMatchObject({ msg: 'refusal lines elided', count: 990 })
    expect(refusals.count('connections-per-address')).toBe(1001)
  })

  it('lists every reason in /metrics', () => {
    const { log } = logged()
    const refusals = new Refusals(log)
    refusals.refuse('body-stalled', '::1')
    const text = encodeMetrics(refusals.metrics())
    expect(text).toContain('monsoon_refusals_total{reason="body-stalled"} 1')
    expect(text).toContain('monsoon_refusals_total{reason="tracker-full"} 0')
  })
})
