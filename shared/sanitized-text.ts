// Whether text is already in the form shared/text.ts's sanitisers give it: what a verifier
// asks of every name, description and file path of a signed listing (shared/listing.ts).
// The answer is exactly `sanitizeX(text) === text`. Printable ASCII, nearly every listing,
// is judged in one pass over its characters: normalising and a chain of regular
// expressions per string were a fifth of a v2 listing's check. Any other text, and any
// ASCII the pass cannot vouch for, takes the full comparison.

import { MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_PATH_CHARS } from './limits.ts'
import { sanitizeDescription, sanitizeName, sanitizePath } from './text.ts'

const NEWLINE = 0x0a
const SPACE = 0x20
const DOT = 0x2e
const SLASH = 0x2f
const BACKSLASH = 0x5c
const TILDE = 0x7e

/** True when text[from, to) is printable ASCII that sanitizeName keeps as it is: not empty,
 * `.` or `..`, no separator, no space at either end or twice in a row, `max` at most. False
 * means "not shown here", not "not sanitised". */
function isPlainName(text: string, from: number, to: number, max: number): boolean {
  const length = to - from
  if (length === 0 || length > max) return false
  if (text.charCodeAt(from) === SPACE || text.charCodeAt(to - 1) === SPACE) return false
  if (length <= 2 && text.charCodeAt(from) === DOT && text.charCodeAt(to - 1) === DOT) return false
  let previous = 0
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i)
    if (c < SPACE || c > TILDE || c === SLASH || c === BACKSLASH) return false
    if (c === SPACE && previous === SPACE) return false
    previous = c
  }
  return true
}

/** sanitizeName(text) === text. */
export function isSanitizedName(text: string): boolean {
  return isPlainName(text, 0, text.length, MAX_NAME_CHARS) || sanitizeName(text) === text
}

/** sanitizePath(text) === text. */
export function isSanitizedPath(text: string): boolean {
  return isPlainPath(text) || sanitizePath(text) === text
}

/** sanitizeDescription(text) === text. */
export function isSanitizedDescription(text: string): boolean {
  return isPlainDescription(text) || sanitizeDescription(text) === text
}

/** Parts that are each a plain name, joined by single slashes, MAX_PATH_CHARS at most. */
function isPlainPath(text: string): boolean {
  if (text.length > MAX_PATH_CHARS) return false
  let from = 0
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length && text.charCodeAt(i) !== SLASH) continue
    if (!isPlainName(text, from, i, MAX_NAME_CHARS)) return false
    from = i + 1
  }
  return true
}

/** Printable ASCII and newlines, no whitespace at either end, no space before a newline,
 * no more than one blank line, MAX_DESCRIPTION_CHARS at most. */
function isPlainDescription(text: string): boolean {
  const length = text.length
  if (length > MAX_DESCRIPTION_CHARS) return false
  if (length === 0) return true
  const first = text.charCodeAt(0)
  const last = text.charCodeAt(length - 1)
  if (first === SPACE || first === NEWLINE || last === SPACE || last === NEWLINE) return false
  let newlines = 0
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i)
    if (c === NEWLINE) {
      if (++newlines > 2 || text.charCodeAt(i - 1) === SPACE) return false
      continue
    }
    if (c < SPACE || c > TILDE) return false
    newlines = 0
  }
  return true
}
