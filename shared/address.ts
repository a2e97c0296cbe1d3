// Which relay addresses are reachable from the public Internet (ARCHITECTURE.md, "Discovery":
// no private, loopback or multicast addresses unless the network is configured as local).
// A relay contacts the URLs other nodes hand it, so an address that names this machine or
// its LAN would let anyone make the relay probe them. Ranges: RFC 6890 (special-purpose
// registries), RFC 1918 (private), RFC 6598 (shared, CGNAT), RFC 3927 and RFC 4291 §2.5.6
// (link-local), RFC 5771 and RFC 4291 §2.7 (multicast), RFC 4193 (unique local), RFC 6761
// (.localhost names). Input is a host as the WHATWG URL parser leaves it, which already turns
// IPv4 spelled in hex, octal or as one number ("0x7f.1", "2130706433") into dotted decimal
// and writes IPv6 in brackets, lower case. Isomorphic: relays check the URLs they are handed,
// browsers the relay URLs their mesh neighbours pass on (app/catalog/mesh-exchange.ts).

import { ipv6Words } from './admission.ts'

export type AddressKind =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'multicast'
  | 'reserved'
  /** A name that only means something on this machine or its LAN (localhost, .local). */
  | 'local-name'

/** IPv4 ranges that are not public, as [first octets, prefix length, kind]. */
const IPV4_RANGES: [number, number, AddressKind][] = [
  [0x00000000, 8, 'unspecified'], // 0.0.0.0/8 "this network"
  [0x0a000000, 8, 'private'], // 10/8
  [0x64400000, 10, 'private'], // 100.64/10 CGNAT
  [0x7f000000, 8, 'loopback'], // 127/8
  [0xa9fe0000, 16, 'link-local'], // 169.254/16
  [0xac100000, 12, 'private'], // 172.16/12
  [0xc0000000, 24, 'reserved'], // 192.0.0/24 IETF protocol assignments
  [0xc0a80000, 16, 'private'], // 192.168/16
  [0xc6120000, 15, 'reserved'], // 198.18/15 benchmarking
  [0xe0000000, 4, 'multicast'], // 224/4
  [0xf0000000, 4, 'reserved'], // 240/4, 255.255.255.255 included
]

/** Dotted decimal without leading zeros, as node:net's isIPv4 takes it. */
const IPV4_OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
const IPV4 = new RegExp(`^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`)

/** What kind of address a URL host is (a hostname, an IPv4 literal, or [IPv6]). */
export function addressKind(host: string): AddressKind {
  const h = host.toLowerCase().replace(/\.$/, '')
  if (h.startsWith('[') && h.endsWith(']')) return ipv6Kind(h.slice(1, -1))
  if (IPV4.test(h)) return ipv4Kind(ipv4Number(h))
  // A DNS name has no colon: this is IPv6 (or nothing, which ipv6Kind calls reserved).
  if (h.includes(':')) return ipv6Kind(h)
  // RFC 6761 §6.3 (localhost), RFC 6762 (.local, mDNS); a single label resolves, if at
  // all, through a local search domain.
  if (h === 'localhost' || h.endsWith('.localhost') || h.endsWith('.local') || !h.includes('.')) {
    return 'local-name'
  }
  // RFC 6761 §6.2, §6.4, RFC 2606 §3: names that never resolve on the Internet (tests and
  // documentation use them), so no lookup for them ever leaves the machine.
  if (/\.(test|invalid|example)$/.test(h) || /(^|\.)example\.(com|net|org)$/.test(h)) {
    return 'reserved'
  }
  return 'public'
}

function ipv4Number(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0)
}

function ipv4Kind(n: number): AddressKind {
  for (const [base, bits, kind] of IPV4_RANGES) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
    if ((n & mask) >>> 0 === base) return kind
  }
  return 'public'
}

function ipv6Kind(ip: string): AddressKind {
  const words = ipv6Words(ip)
  if (!words) return 'reserved'
  const [w0] = words
  const high96Zero = words.slice(0, 6).every((w) => w === 0)
  if (high96Zero && words[6] === 0 && words[7] === 0) return 'unspecified' // ::/128
  if (high96Zero && words[6] === 0 && words[7] === 1) return 'loopback' // ::1/128
  // ::ffff:a.b.c.d (RFC 4291 §2.5.5.2) is the IPv4 address; ::a.b.c.d is deprecated.
  const mapped = words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff
  if (mapped) return ipv4Kind((words[6] * 0x10000 + words[7]) >>> 0)
  if (high96Zero) return 'reserved'
  if ((w0 & 0xfe00) === 0xfc00) return 'private' // fc00::/7 unique local
  if ((w0 & 0xffc0) === 0xfe80) return 'link-local' // fe80::/10
  if ((w0 & 0xffc0) === 0xfec0) return 'private' // fec0::/10 site-local (deprecated)
  if ((w0 & 0xff00) === 0xff00) return 'multicast' // ff00::/8
  return 'public'
}
