// Sanitising of untrusted text (names, descriptions, file paths) that every node shows or
// stores. Signed records must already be in sanitised form: a verifier checks
// `x === sanitizeName(x)` instead of rewriting (which would break the signature).
//
// Removed: C0/C1 controls and DEL, the bidirectional controls of Unicode UAX #9 (§2: LRE, RLE,
// PDF, LRO, RLO, LRI, RLI, FSI, PDI, LRM, RLM, ALM) which can make `gpj.exe` read as
// `exe.jpg`, the BOM, and lone surrogates (replaced with U+FFFD). Text is NFC-normalised so
// the same name has one byte form.

import { MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_PATH_CHARS } from './limits.ts'

// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g
const BIDI_AND_BOM = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g
const SEPARATORS = /[/\\]/g

function wellFormedNfc(text: string): string {
  return text.toWellFormed().normalize('NFC')
}

/** Keeps at most `max` code points (never splits a surrogate pair). */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text
  const points = Array.from(text)
  return points.length <= max ? text : points.slice(0, max).join('').trimEnd()
}

/** Counts code points, as the limits are stated in characters. */
export function charLength(text: string): number {
  let n = 0
  for (const _ of text) n++
  return n
}

/**
 * A display name: one line, no controls or bidi tricks, no path separators (a name must
 * never steer where a file is written), never empty, `.` or `..`.
 * Returns '' when nothing usable is left.
 */
export function sanitizeName(text: string, max = MAX_NAME_CHARS): string {
  const clean = wellFormedNfc(text)
    .replace(BIDI_AND_BOM, '')
    .replace(CONTROLS, ' ')
    .replace(SEPARATORS, '-')
    .replace(/\s+/g, ' ')
    .trim()
  const name = truncate(clean, max)
  return name === '.' || name === '..' ? '' : name
}

/** A description: newlines kept (\r\n → \n, at most one blank line), other controls gone. */
export function sanitizeDescription(text: string, max = MAX_DESCRIPTION_CHARS): string {
  const clean = wellFormedNfc(text)
    .replace(/\r\n?/g, '\n')
    .replace(BIDI_AND_BOM, '')
    .replace(/[\t\v\f]/g, ' ')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '')
    .replace(/[ \u00a0]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
  return truncate(clean, max)
}

/**
 * A relative file path inside a torrent, `/`-separated, each part a sanitised name; no
 * empty, `.` or `..` parts, no leading `/`. Returns '' when nothing usable is left.
 */
export function sanitizePath(path: string, max = MAX_PATH_CHARS): string {
  const clean = (p: string) =>
    p
      .split(SEPARATORS)
      .map((part) => sanitizeName(part))
      .filter((part) => part !== '')
      .join('/')
  // Cutting to length can leave a part ending in a space or reading `..`: clean once more.
  return clean(truncate(clean(wellFormedNfc(path)), max))
}
