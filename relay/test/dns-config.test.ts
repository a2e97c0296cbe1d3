// The DNS and bootstrap options (relay/config.ts): defaults, repeatable flags, and the
// impossible values and combinations refused at start-up with a clear message.

import { describe, expect, it } from 'vitest'
import { ConfigError, parseCommandLine } from '../config.ts'

const parse = (...argv: string[]) => parseCommandLine(argv, {}).config

describe('DNS and bootstrap options', () => {
  it('has defaults: no zone, no DNS port, TTL 60', () => {
    const config = parse()
    expect(config).toMatchObject({ dnsZones: [], dnsPort: undefined, dnsTtl: 60 })
    expect(config).toMatchObject({ dohEndpoints: [], bootstrapUrls: [], dnsNameServers: [] })
  })

  it('takes repeatable zones, endpoints and lists, from flags or the environment', () => {
    const config = parse(
      '--dns-zone',
      'a.example',
      '--dns-zone',
      'b.example',
      '--dns-port',
      '5353',
      '--doh-endpoint',
      'https://dns.example/dns-query',
      '--bootstrap-url',
      'https://lists.example/monsoon.json',
    )
    expect(config.dnsZones).toEqual(['a.example', 'b.example'])
    expect(config.dnsPort).toBe(5353)
    expect(config.dohEndpoints).toEqual(['https://dns.example/dns-query'])
    const env = parseCommandLine([], { MONSOON_DNS_ZONE: 'x.example,y.example' }).config
    expect(env.dnsZones).toEqual(['x.example', 'y.example'])
  })

  it('refuses bad names, ports, URLs and combinations', () => {
    for (const [argv, message] of [
      [['--dns-zone', 'bad..name'], 'not a DNS name'],
      [['--dns-zone', 'a.example', '--dns-port', '70000'], 'must be 0-65535'],
      [['--dns-zone', 'a.example', '--dns-ttl', '0'], 'positive'],
      [['--dns-port', '53'], 'give --dns-zone too'],
      [['--doh-endpoint', 'https://dns.example/dns-query'], 'give --dns-zone too'],
      [['--bootstrap-url', 'ftp://x'], 'http(s) URL'],
    ] as const) {
      expect(() => parse(...argv)).toThrow(ConfigError)
      expect(() => parse(...argv)).toThrow(message)
    }
  })
})
