// A DNS-over-HTTPS client (RFC 8484) for the page and the relay alike: asks one endpoint
// for the TXT records at `_supernodes.<zone>` and returns the strings they carry (zone.ts
// writes one record per supernode, its URLs as character-strings). The endpoint may be a
// relay's /dns-query or any public resolver (RD is set, so a resolver recurses for us). GET
// with `dns=<base64url>` by default (§4.1: cacheable), or POST of the message itself.

import { fetchCapped } from '../capped-body.ts'
import { base64url, txtQuery, txtStrings } from './codec.ts'

/** A DoH answer larger than this is refused (the relay's zone fits in ~12 KiB). */
export const MAX_DOH_ANSWER_BYTES = 64 * 1024
export const DNS_MESSAGE = 'application/dns-message'

export interface DohOptions {
  /** GET unless 'POST' (RFC 8484 §4.1). */
  method?: 'GET' | 'POST'
  maxBytes?: number
  timeoutMs?: number
  signal?: AbortSignal
  /** The relay refuses redirects ('error'); the page follows them as fetch does. */
  redirect?: RequestRedirect
  fetch?: typeof fetch
}

/** The strings of the TXT records at `name`, through the DoH `endpoint`. Throws DnsError
 * for a bad answer, HttpStatusError or BodyTooLargeError for a bad HTTP one. */
export async function lookupTxt(
  endpoint: string,
  name: string,
  options: DohOptions = {},
): Promise<string[]> {
  const query = txtQuery(name)
  const url = new URL(endpoint)
  const post = options.method === 'POST'
  if (!post) url.searchParams.set('dns', base64url(query))
  const answer = await fetchCapped(url.href, {
    ...options,
    maxBytes: options.maxBytes ?? MAX_DOH_ANSWER_BYTES,
    headers: post ? { Accept: DNS_MESSAGE, 'Content-Type': DNS_MESSAGE } : { Accept: DNS_MESSAGE },
    body: post ? query : undefined,
  })
  return txtStrings(answer, name)
}

/** The supernode URLs a DoH `endpoint` gives for `zone`. */
export function lookupSupernodes(
  endpoint: string,
  zone: string,
  options: DohOptions = {},
): Promise<string[]> {
  return lookupTxt(endpoint, `_supernodes.${zone}`, options)
}
