import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_PATH_CHARS } from './limits.ts'
import { isSanitizedDescription, isSanitizedName, isSanitizedPath } from './sanitized-text.ts'
import { sanitizeDescription, sanitizeName, sanitizePath } from './text.ts'

/** Text built from the characters the fast pass decides on, and from those it must not. */
const tricky = fc
  .array(
    fc.oneof(
      fc.constantFrom('a', 'Z', '0', ' ', '  ', '.', '..', '/', '//', '\\', '\n', '\n\n\n'),
      fc.constantFrom(' \n', '\r\n', '\t', '\u0000', '\u007f', '\u0085', '\u00a0', '\u202e'),
      fc.constantFrom('\ufeff', '\ud800', 'e\u0301', '\u00e9', '😀', '-', '~', '<img>'),
      fc.string({ unit: 'grapheme-ascii', maxLength: 8 }),
      fc.string({ unit: 'binary', maxLength: 3 }),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''))

/** ASCII at and around each length limit. */
const long = (max: number) =>
  fc
    .tuple(fc.integer({ min: max - 2, max: max + 2 }), fc.constantFrom('a', 'a ', 'a/', 'ab\n'))
    .map(([n, unit]) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n))

const anyText = (max: number) => fc.oneof(tricky, long(max), fc.string({ unit: 'binary' }))

describe('isSanitized*', () => {
  it('answers exactly sanitizeName(x) === x', () => {
    fc.assert(
      fc.property(anyText(MAX_NAME_CHARS), (x) => {
        expect(isSanitizedName(x)).toBe(sanitizeName(x) === x)
      }),
      { numRuns: 3000 },
    )
  })

  it('answers exactly sanitizePath(x) === x', () => {
    fc.assert(
      fc.property(fc.oneof(anyText(MAX_PATH_CHARS), long(MAX_NAME_CHARS)), (x) => {
        expect(isSanitizedPath(x)).toBe(sanitizePath(x) === x)
      }),
      { numRuns: 3000 },
    )
  })

  it('answers exactly sanitizeDescription(x) === x', () => {
    fc.assert(
      fc.property(anyText(MAX_DESCRIPTION_CHARS), (x) => {
        expect(isSanitizedDescription(x)).toBe(sanitizeDescription(x) === x)
      }),
      { numRuns: 3000 },
    )
  })

  it('refuses the hostile cases a verifier meets (empty text is refused on its own)', () => {
    for (const name of ['.', '..', ' a', 'a ', 'a  b', 'a/b', 'a\\b', 'gpj\u202eexe.jpg']) {
      expect(isSanitizedName(name)).toBe(false)
    }
    for (const path of ['/a', 'a/', 'a//b', '../a', 'a/./b', 'a\\b', 'a/ b']) {
      expect(isSanitizedPath(path)).toBe(false)
    }
    for (const text of [' a', 'a\n', 'a \nb', 'a\n\n\nb', 'a\r\nb', 'a\tb', 'x\u0000']) {
      expect(isSanitizedDescription(text)).toBe(false)
    }
    expect(isSanitizedName('a'.repeat(MAX_NAME_CHARS + 1))).toBe(false)
    expect(isSanitizedPath(`${'a'.repeat(200)}/`.repeat(3).slice(0, -1))).toBe(false)
    expect(isSanitizedDescription('a'.repeat(MAX_DESCRIPTION_CHARS + 1))).toBe(false)
  })

  it('accepts clean text of every kind, ASCII or not', () => {
    expect(isSanitizedName('Sample release 1 (42)')).toBe(true)
    expect(isSanitizedName('Été à Paris 😀')).toBe(true)
    expect(isSanitizedPath('release-1/video.mkv')).toBe(true)
    expect(isSanitizedPath('dossier/vidéo.mkv')).toBe(true)
    expect(isSanitizedDescription('one\n\ntwo\nthree')).toBe(true)
    expect(isSanitizedDescription('')).toBe(true)
  })
})
