import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { charLength, sanitizeDescription, sanitizeName, sanitizePath } from './text.ts'

describe('sanitizeName', () => {
  it.each([
    ['../../etc/passwd', '..-..-etc-passwd'],
    ['/absolute/path', '-absolute-path'],
    ['C:\\Windows\\system32', 'C:-Windows-system32'],
    ['nul\u0000byte', 'nul byte'],
    ['line\nbreak\ttab', 'line break tab'],
    ['evil\u202egpj.exe', 'evilgpj.exe'],
    ['isolate\u2066x\u2069', 'isolatex'],
    ['  spaced   out  ', 'spaced out'],
    ['<img src=x onerror=alert(1)>', '<img src=x onerror=alert(1)>'],
    ['..', ''],
    ['.', ''],
    ['\u0000\u0001', ''],
    ['Cafe\u0301', 'Café'],
  ])('%j → %j', (input, expected) => {
    expect(sanitizeName(input)).toBe(expected)
  })

  it('caps length in characters without splitting surrogate pairs', () => {
    const name = sanitizeName('🎵'.repeat(300))
    expect(charLength(name)).toBe(256)
    expect(name).toBe('🎵'.repeat(256))
  })

  it('replaces lone surrogates', () => {
    expect(sanitizeName('a\ud800b')).toBe('a\ufffdb')
  })

  it('is idempotent and leaves no control, bidi or separator characters', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 400 }),
        fc.string({ unit: 'binary', maxLength: 400 }),
        (a, b) => {
          for (const s of [a, b]) {
            const once = sanitizeName(s)
            expect(sanitizeName(once)).toBe(once)
            // eslint-disable-next-line no-control-regex
            expect(once).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069/\\]/)
            expect(charLength(once)).toBeLessThanOrEqual(256)
          }
        },
      ),
    )
  })
})

describe('sanitizeDescription', () => {
  it('keeps single newlines, drops controls and bidi marks', () => {
    expect(sanitizeDescription('a\r\nb\n\n\n\nc\u0007\u202e')).toBe('a\nb\n\nc')
  })

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 3000 }), (s) => {
        const once = sanitizeDescription(s)
        expect(sanitizeDescription(once)).toBe(once)
        expect(charLength(once)).toBeLessThanOrEqual(2000)
      }),
    )
  })
})

describe('sanitizePath', () => {
  it.each([
    ['dir/file.txt', 'dir/file.txt'],
    ['../../../etc/shadow', 'etc/shadow'],
    ['/abs/./x//y/', 'abs/x/y'],
    ['a\\b\\c', 'a/b/c'],
    ['..', ''],
  ])('%j → %j', (input, expected) => {
    expect(sanitizePath(input)).toBe(expected)
  })

  it('is idempotent and never yields . or .. parts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('..', '.', 'a', 'b c', '/', '\\', '\u0000', 'é', '\u202e'), {
          maxLength: 300,
        }),
        (parts) => {
          const once = sanitizePath(parts.join(''))
          expect(sanitizePath(once)).toBe(once)
          for (const p of once.split('/')) if (once) expect(['', '.', '..']).not.toContain(p)
          expect(once.startsWith('/')).toBe(false)
        },
      ),
    )
  })
})
