import { describe, expect, it } from 'vitest'
import { formatBytes, formatDuration, formatPercent, formatSpeed } from './format.ts'

describe('format', () => {
  it('sizes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1023)).toBe('1023 B')
    expect(formatBytes(8 * 1024 * 1024)).toBe('8.00 MiB')
    expect(formatBytes(1536 * 1024)).toBe('1.50 MiB')
    expect(formatBytes(NaN)).toBe('—')
    expect(formatSpeed(20 * 1024)).toBe('20.0 KiB/s')
  })

  it('time left', () => {
    expect(formatDuration(Infinity)).toBe('—')
    expect(formatDuration(1200)).toBe('2 s')
    expect(formatDuration(200_000)).toBe('3 min 20 s')
    expect(formatDuration(3_900_000)).toBe('1 h 5 min')
  })

  it('never shows an unfinished transfer as 100 %', () => {
    expect(formatPercent(0.99999)).toBe('99.9 %')
    expect(formatPercent(1)).toBe('100 %')
    expect(formatPercent(0.5)).toBe('50.0 %')
  })
})
