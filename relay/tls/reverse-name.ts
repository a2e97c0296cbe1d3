// The reverse-mapping DNS name of an IP address (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5
// ip6.arpa): the SNI name an ACME validator sends when it checks TLS-ALPN-01 for an IP
// address identifier (RFC 8738 §6).

import { isIPv4, isIPv6 } from 'node:net'

export function reverseName(ip: string): string {
  if (isIPv4(ip)) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`
  if (!isIPv6(ip)) throw new TypeError(`${ip} is not an IP address`)
  const [head, tail = ''] = ip.toLowerCase().split('::')
  const groups = (part: string) => (part ? part.split(':') : []).flatMap(ipv4Tail)
  const front = groups(head)
  const back = ip.includes('::') ? groups(tail) : []
  const all = [...front, ...new Array<string>(8 - front.length - back.length).fill('0'), ...back]
  const nibbles = all.map((g) => g.padStart(4, '0')).join('')
  return `${[...nibbles].reverse().join('.')}.ip6.arpa`
}

/** A dotted IPv4 tail (::ffff:1.2.3.4) as its two hex groups. */
function ipv4Tail(group: string): string[] {
  if (!group.includes('.')) return [group]
  const [a, b, c, d] = group.split('.').map(Number)
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)]
}
