import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { chooseCoding, entityTag, matchesTag, MAX_CODING_HEADER_CHARS } from './content-coding.ts'

describe('chooseCoding', () => {
  it('takes br over gzip, gzip alone, and nothing when neither is acceptable', () => {
    expect(chooseCoding('gzip, deflate, br, zstd')).toBe('br')
    expect(chooseCoding('gzip, deflate')).toBe('gzip')
    expect(chooseCoding('br;q=0, gzip;q=0.5')).toBe('gzip')
    expect(chooseCoding('x-gzip')).toBe('gzip')
    expect(chooseCoding('deflate')).toBeNull()
    expect(chooseCoding('identity')).toBeNull()
    expect(chooseCoding('')).toBeNull()
    expect(chooseCoding(undefined)).toBeNull()
  })

  it('reads * for codings not named, and a coding named with q=0 stays refused', () => {
    expect(chooseCoding('*')).toBe('br')
    expect(chooseCoding('br;q=0, *')).toBe('gzip')
    expect(chooseCoding('*;q=0, gzip')).toBe('gzip')
    expect(chooseCoding('br;q=0, gzip;q=0, *;q=1')).toBeNull()
  })

  it('treats an unreadable q as 0 (never sends what the client may not read)', () => {
    expect(chooseCoding('br;q=banana, gzip')).toBe('gzip')
    expect(chooseCoding('br;q=2, gzip;q=-1')).toBeNull()
    expect(chooseCoding('BR ; Q=0.3')).toBe('br')
  })

  it('never picks a coding the header names with q=0, whatever else it holds', () => {
    const token = fc.constantFrom('br', 'gzip', 'x-gzip', 'deflate', 'identity', '*', 'zstd', '')
    const q = fc.constantFrom('', ';q=0', ';q=0.5', ';q=1', ';q=x', ';q=0.000')
    fc.assert(
      fc.property(fc.array(fc.tuple(token, q), { maxLength: 8 }), (parts) => {
        const header = parts.map(([t, w]) => t + w).join(', ')
        const chosen = chooseCoding(header)
        if (chosen === null) return
        const first = parts.find(([t]) => t === chosen)
        if (first) expect(first[1]).not.toMatch(/^;q=(0(\.0*)?|x)$/)
      }),
    )
  })

  it('reads a hostile megabyte header only up to its cap', () => {
    const header = 'a,'.repeat(500_000) + 'br'
    expect(chooseCoding(header)).toBeNull()
    expect(chooseCoding('gzip,' + ' '.repeat(MAX_CODING_HEADER_CHARS) + 'br')).toBe('gzip')
  })
})

describe('matchesTag', () => {
  it('matches the tag of any coding, weak or strong, and *', () => {
    for (const coding of [null, 'br', 'gzip'] as const) {
      expect(matchesTag(entityTag('abc', coding), 'abc')).toBe(true)
      expect(matchesTag(`W/${entityTag('abc', coding)}`, 'abc')).toBe(true)
    }
    expect(matchesTag('"x", "abc-br"', 'abc')).toBe(true)
    expect(matchesTag('*', 'abc')).toBe(true)
  })

  it('does not match another page, an unquoted tag or nothing', () => {
    expect(matchesTag('"abd"', 'abc')).toBe(false)
    expect(matchesTag('abc', 'abc')).toBe(false)
    expect(matchesTag('"abc-zstd"', 'abc')).toBe(false)
    expect(matchesTag('', 'abc')).toBe(false)
    expect(matchesTag(undefined, 'abc')).toBe(false)
    expect(matchesTag('"', 'abc')).toBe(false)
  })

  it('matches its own entity tag for any tag text', () => {
    // Tags are fixed-length base64url (page-server.ts), so one never ends in another plus a coding.
    const tag = fc.stringMatching(/^[A-Za-z0-9_]{1,30}$/)
    fc.assert(
      fc.property(tag, tag, fc.constantFrom(null, 'br' as const, 'gzip' as const), (a, b, c) => {
        expect(matchesTag(entityTag(a, c), a)).toBe(true)
        if (a !== b) expect(matchesTag(entityTag(a, c), b)).toBe(false)
      }),
    )
  })
})
