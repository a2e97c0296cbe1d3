// Content codings of a sync page (RFC 9110 §8.4 and §12.5.3): which one to send for a
// request's Accept-Encoding, and whether an If-None-Match names a page already held
// (§13.1.2). Pure: header text in, a choice out.

/** The compressed forms a page is sent in; anything else goes as it is (identity). */
export type PageCoding = 'br' | 'gzip'

/** Longest Accept-Encoding or If-None-Match read: browsers send under 100 bytes; a longer
 * header is read up to here, the rest ignored. */
export const MAX_CODING_HEADER_CHARS = 1024

/**
 * The coding to send for `accept` (an Accept-Encoding value), or null for identity: br when
 * it is acceptable (smaller than gzip for the same CPU on a page), else gzip, else none.
 * A coding is acceptable when named with q > 0, or covered by `*` with q > 0 and not named.
 */
export function chooseCoding(accept: string | undefined): PageCoding | null {
  if (!accept) return null
  const weights = new Map<string, number>()
  for (const part of accept.slice(0, MAX_CODING_HEADER_CHARS).split(',')) {
    const [name, ...params] = part.split(';')
    const coding = name.trim().toLowerCase()
    if (!coding || weights.has(coding)) continue
    weights.set(coding, qValue(params))
  }
  const acceptable = (coding: string) => (weights.get(coding) ?? weights.get('*') ?? 0) > 0
  if (acceptable('br')) return 'br'
  if (acceptable('gzip') || (!weights.has('gzip') && (weights.get('x-gzip') ?? 0) > 0)) {
    return 'gzip'
  }
  return null
}

/** q of a coding's parameters (1 when absent, 0 when unreadable: never send what the client
 * may not read). */
function qValue(params: string[]): number {
  for (const param of params) {
    const [key, value] = param.split('=')
    if (key.trim().toLowerCase() !== 'q') continue
    const q = Number(value?.trim())
    return Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0
  }
  return 1
}

/** The entity tag of a page's form: one tag per page, suffixed by its coding (a strong tag
 * names exact bytes, and each coding has its own). */
export function entityTag(tag: string, coding: PageCoding | null): string {
  return coding ? `"${tag}-${coding}"` : `"${tag}"`
}

/**
 * Whether `ifNoneMatch` names the page tagged `tag` in any coding (or is `*`): the client
 * holds this page's listings, so a 304 serves it whatever form it was sent in. Weak
 * comparison, as §13.1.2 says for If-None-Match.
 */
export function matchesTag(ifNoneMatch: string | undefined, tag: string): boolean {
  if (!ifNoneMatch) return false
  for (const part of ifNoneMatch.slice(0, MAX_CODING_HEADER_CHARS).split(',')) {
    let value = part.trim()
    if (value === '*') return true
    if (value.startsWith('W/')) value = value.slice(2)
    if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) continue
    value = value.slice(1, -1)
    if (value === tag || value === `${tag}-br` || value === `${tag}-gzip`) return true
  }
  return false
}
