// A DoH client for the relay's bootstrap (RFC 8484 §4.1 GET): asks one endpoint for the TXT
// records at `_supernodes.<zone>` and returns the URLs they carry (zone.ts writes one
// record per supernode, its URLs as character-strings). The endpoint may be another relay
// or any public DoH resolver; RD is set so a resolver recurses for us. The answer is read
// up to a byte cap, within a timeout, and decoded by dns-packet; answers for other names
// (a resolver's CNAME chain aside) are ignored.

import dnsPacket from 'dns-packet'
import { fetchBytes } from './fetch-bytes.ts'

export interface DohLookupOptions {
  timeoutMs: number
  maxBytes: number
  signal?: AbortSignal
}

export class DohLookupError extends Error {
  override name = 'DohLookupError'
}

/** The bytes of a TXT query for `_supernodes.<zone>`, id 0 (cache-friendly, RFC 8484 §4.1). */
export function supernodesQuery(zone: string): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 0,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'TXT', class: 'IN', name: `_supernodes.${zone}` }],
  })
}

/** The strings of every TXT record at `_supernodes.<zone>` in a DNS response. */
export function supernodeUrlsIn(response: Uint8Array, zone: string): string[] {
  let packet
  try {
    packet = dnsPacket.decode(Buffer.from(response))
  } catch (err) {
    throw new DohLookupError(`bad DNS answer: ${(err as Error).message}`)
  }
  // dns-packet decodes the RCODE; its type definitions leave it out.
  const rcode = (packet as { rcode?: string }).rcode
  if (rcode !== 'NOERROR') throw new DohLookupError(`DNS answer ${rcode}`)
  const name = `_supernodes.${zone}`.toLowerCase()
  const urls: string[] = []
  for (const rr of packet.answers ?? []) {
    if (rr.type !== 'TXT' || rr.name.toLowerCase() !== name) continue
    const data = Array.isArray(rr.data) ? rr.data : [rr.data]
    for (const s of data) urls.push(Buffer.isBuffer(s) ? s.toString('utf8') : s)
  }
  return urls
}

/** Looks up the zone's supernode URLs through the DoH `endpoint`. */
export async function lookupSupernodes(
  endpoint: string,
  zone: string,
  options: DohLookupOptions,
): Promise<string[]> {
  const url = new URL(endpoint)
  url.searchParams.set('dns', supernodesQuery(zone).toString('base64url'))
  const bytes = await fetchBytes(url.href, {
    ...options,
    headers: { Accept: 'application/dns-message' },
  })
  return supernodeUrlsIn(bytes, zone)
}
