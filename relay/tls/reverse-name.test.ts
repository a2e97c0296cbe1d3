import { describe, expect, it } from 'vitest'
import { reverseName } from './reverse-name.ts'

describe('reverseName', () => {
  it('maps IPv4 and IPv6 addresses to their reverse names (RFC 3596 §2.5 example)', () => {
    expect(reverseName('127.0.0.1')).toBe('1.0.0.127.in-addr.arpa')
    expect(reverseName('4321:0:1:2:3:4:567:89ab')).toBe(
      'b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa',
    )
    expect(reverseName('::1')).toBe(`1.${'0.'.repeat(31)}ip6.arpa`)
    expect(reverseName('2001:DB8::')).toBe(`${'0.'.repeat(24)}8.b.d.0.1.0.0.2.ip6.arpa`)
    expect(reverseName('::ffff:1.2.3.4')).toBe(`4.0.3.0.2.0.1.0.f.f.f.f.${'0.'.repeat(20)}ip6.arpa`)
  })

  it('refuses what is not an IP address', () => {
    expect(() => reverseName('example.org')).toThrow(TypeError)
    expect(() => reverseName('1.2.3')).toThrow(TypeError)
  })
})
