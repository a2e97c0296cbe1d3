// Peer addresses as the tracker reads and writes them: the client's address from a socket
// (or a trusted proxy's X-Forwarded-For), and the compact forms of BEP 23 (IPv4) and BEP 7
// (IPv6). Parsed by hand: this runs on every HTTP announce.

/** The address in a 6-byte compact form as an unsigned 32-bit number; -1 for anything else. */
export function ip4Of(c: Uint8Array | null): number {
  if (c === null || c.length !== 6) return -1
  return ((c[0] << 24) | (c[1] << 16) | (c[2] << 8) | c[3]) >>> 0
}

/** BEP 23 (IPv4, 6 bytes) or BEP 7 (IPv6, 18 bytes) compact form of an address. */
export function compactPeer(ip: string, port: number): Uint8Array | null {
  const v4 = parseIPv4(ip)
  if (v4) {
    const out = new Uint8Array(6)
    out.set(v4, 0)
    out[4] = port >>> 8
    out[5] = port & 0xff
    return out
  }
  const v6 = parseIPv6(ip)
  if (!v6) return null
  const out = new Uint8Array(18)
  out.set(v6, 0)
  out[16] = port >>> 8
  out[17] = port & 0xff
  return out
}

export function parseIPv4(ip: string): Uint8Array | null {
  // Four dot-separated decimal parts of 1-3 digits, each at most 255; a loop rather than
  // split() and a RegExp per part, since this runs on every HTTP announce.
  if (ip.length < 7 || ip.length > 15) return null
  const out = new Uint8Array(4)
  let part = 0
  let value = 0
  let digits = 0
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i)
    if (c === 0x2e /* . */) {
      if (digits === 0 || part === 3) return null
      out[part++] = value
      value = 0
      digits = 0
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      value = value * 10 + (c - 0x30)
      if (value > 255) return null
      digits++
    } else {
      return null
    }
  }
  if (digits === 0 || part !== 3) return null
  out[3] = value
  return out
}

export function parseIPv6(ip: string): Uint8Array | null {
  if (!ip.includes(':') || ip.includes('%')) return null
  const halves = ip.split('::')
  if (halves.length > 2) return null
  const head = halves[0] ? halves[0].split(':') : []
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : []
  const groups = [...head, ...tail]
  const missing = 8 - groups.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null
  const all = [...head, ...new Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]
  const out = new Uint8Array(16)
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(all[i])) return null
    const n = parseInt(all[i], 16)
    out[i * 2] = n >>> 8
    out[i * 2 + 1] = n & 0xff
  }
  return out
}

/** `::ffff:1.2.3.4` → `1.2.3.4`, so dual-stack sockets give IPv4 peers a compact IPv4 form. */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip
}

/**
 * The peer's address: the socket's, or with `trustProxy` the last X-Forwarded-For entry
 * (the one our own proxy appended; anything left of it came from the client).
 */
export function clientIp(
  remoteAddress: string,
  forwardedFor: unknown,
  trustProxy: boolean,
): string {
  if (trustProxy && typeof forwardedFor === 'string') {
    const parts = forwardedFor.split(',')
    const last = parts[parts.length - 1].trim()
    if (last) return normalizeIp(last)
  }
  return normalizeIp(remoteAddress)
}
