// The DNS messages a DoH client needs (RFC 8484), for the page and the relay alike: one TXT
// question (RFC 1035 §4.1.2) and the strings of the TXT answers (§3.3.14) for that name. Pure
// and isomorphic, rather than dns-packet, which needs Node's Buffer: in the browser bundle
// that is a polyfill the app does not declare. Compression pointers (§4.1.4) are followed
// backwards only and at most MAX_POINTER_HOPS times, so no packet can make it loop or read
// out of bounds. codec.test.ts checks it against dns-packet, the relay's DNS server codec.

/** Answers read from one response; the relay's zone sends at most 40. */
export const MAX_ANSWERS = 100
const MAX_POINTER_HOPS = 16
const TYPE_TXT = 16
const CLASS_IN = 1
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED']

export class DnsError extends Error {
  override name = 'DnsError'
}

/** The query bytes: id 0 (RFC 8484 §4.1, cache-friendly), RD set for public resolvers. */
export function txtQuery(name: string): Uint8Array<ArrayBuffer> {
  const labels = name.replace(/\.$/, '').split('.')
  if (name.length > 253 || labels.some((l) => !/^[A-Za-z0-9_-]{1,63}$/.test(l))) {
    throw new DnsError(`not a DNS name: ${name}`)
  }
  const bytes = [0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
  for (const label of labels) bytes.push(label.length, ...[...label].map((c) => c.charCodeAt(0)))
  bytes.push(0, 0, TYPE_TXT, 0, CLASS_IN)
  return new Uint8Array(bytes)
}

export function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** The strings of the TXT records owned by `name` in the response to a txtQuery. */
export function txtStrings(response: Uint8Array, name: string): string[] {
  const view = new DataView(response.buffer, response.byteOffset, response.byteLength)
  if (response.length < 12) throw new DnsError('DNS answer shorter than its header')
  const flags = view.getUint16(2)
  if (!(flags & 0x8000)) throw new DnsError('not a DNS response')
  if (view.getUint16(0) !== 0) throw new DnsError('DNS answer to another query (id not 0)')
  const rcode = flags & 0xf
  if (rcode !== 0) throw new DnsError(`DNS answer ${RCODES[rcode] ?? `RCODE ${rcode}`}`)
  if (flags & 0x0200) throw new DnsError('DNS answer truncated')
  const questions = view.getUint16(4)
  const answers = Math.min(view.getUint16(6), MAX_ANSWERS)
  let at = 12
  for (let i = 0; i < questions; i++) at = readName(response, at).end + 4
  const wanted = name.toLowerCase().replace(/\.$/, '')
  const decoder = new TextDecoder()
  const out: string[] = []
  for (let i = 0; i < answers; i++) {
    const owner = readName(response, at)
    at = owner.end
    if (at + 10 > response.length) throw new DnsError('DNS record cut short')
    const type = view.getUint16(at)
    const klass = view.getUint16(at + 2)
    const length = view.getUint16(at + 8)
    const start = at + 10
    at = start + length
    if (at > response.length) throw new DnsError('DNS record cut short')
    if (type !== TYPE_TXT || klass !== CLASS_IN || owner.name !== wanted) continue
    for (let p = start; p < at;) {
      const n = response[p]
      if (p + 1 + n > at) throw new DnsError('TXT string cut short')
      out.push(decoder.decode(response.subarray(p + 1, p + 1 + n)))
      p += 1 + n
    }
  }
  return out
}

/** A name at `offset` (lower case, no trailing dot), and where the record goes on. */
function readName(bytes: Uint8Array, offset: number): { name: string; end: number } {
  const labels: string[] = []
  let at = offset
  let end = -1
  let hops = 0
  let length = 0
  for (;;) {
    if (at >= bytes.length) throw new DnsError('DNS name cut short')
    const n = bytes[at]
    if (n === 0) {
      if (end < 0) end = at + 1
      break
    }
    if ((n & 0xc0) === 0xc0) {
      if (at + 1 >= bytes.length) throw new DnsError('DNS name cut short')
      const target = ((n & 0x3f) << 8) | bytes[at + 1]
      if (end < 0) end = at + 2
      if (target >= at || ++hops > MAX_POINTER_HOPS) throw new DnsError('bad compression pointer')
      at = target
      continue
    }
    if (n & 0xc0) throw new DnsError('bad DNS label')
    if (at + 1 + n > bytes.length) throw new DnsError('DNS name cut short')
    length += n + 1
    if (length > 255) throw new DnsError('DNS name too long')
    labels.push(String.fromCharCode(...bytes.subarray(at + 1, at + 1 + n)).toLowerCase())
    at += 1 + n
  }
  return { name: labels.join('.'), end }
}
