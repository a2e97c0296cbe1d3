import { describe, expect, it } from 'vitest'
import {
  formatAge,
  formatBytes,
  formatCount,
  formatDay,
  formatDuration,
  formatPercent,
  formatSpeed,
  shortKey,
} from './format.ts'

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

  it('counts, ages and keys', () => {
    expect(formatCount(1234567)).toBe('1,234,567')
    expect(formatCount(NaN)).toBe('—')
    const now = Date.UTC(2026, 10, 15, 12, 0, 0)
    const at = (secondsAgo: number) => Math.floor(now / 1000) - secondsAgo
    expect(formatAge(at(-30), now)).toBe('just now')
    expect(formatAge(at(5), now)).toBe('just now')
    expect(formatAge(at(300), now)).toBe('5 min ago')
    expect(formatAge(at(7200), now)).toBe('2 h ago')
    expect(formatAge(at(86_400), now)).toBe('yesterday')
    expect(formatAge(at(3 * 86_400), now)).toBe('3 days ago')
    expect(formatAge(at(90 * 86_400), now)).toBe(formatDay(at(90 * 86_400)))
    expect(formatDay(at(90 * 86_400))).toMatch(/^2026-08-\d\d$/)
    expect(shortKey('ab'.repeat(32))).toBe('abababab…ababab')
  })
})
