import { describe, expect, it } from 'vitest'
import { addressKind } from './address.ts'

/** The host as the URL parser leaves it, which is what the relay classifies. */
const kindOf = (url: string) => addressKind(new URL(url).hostname)

describe('addressKind', () => {
  it.each([
    ['http://8.8.8.8', 'public'],
    ['http://93.184.216.34:8080', 'public'],
    ['https://relay.monsoon.network', 'public'],
    ['http://[2001:db8::1]', 'public'],
    ['http://[2606:4700::1111]', 'public'],
    ['http://[::ffff:8.8.8.8]', 'public'],
  ])('%s is %s', (url, kind) => expect(kindOf(url)).toBe(kind))

  it.each([
    // IPv4, including the spellings the URL parser folds into dotted decimal.
    ['http://127.0.0.1', 'loopback'],
    ['http://127.1', 'loopback'],
    ['http://2130706433', 'loopback'],
    ['http://0x7f.0.0.1', 'loopback'],
    ['http://0177.0.0.1', 'loopback'],
    ['http://0.0.0.0', 'unspecified'],
    // Names that never resolve on the Internet (RFC 6761, RFC 2606): never looked up.
    ['https://relay.example', 'reserved'],
    ['https://a.b.test', 'reserved'],
    ['https://x.invalid', 'reserved'],
    ['https://relay.example.org', 'reserved'],
    ['https://example.com', 'reserved'],
    ['http://0', 'unspecified'],
    ['http://10.1.2.3', 'private'],
    ['http://172.16.0.1', 'private'],
    ['http://172.31.255.255', 'private'],
    ['http://192.168.1.1', 'private'],
    ['http://100.64.0.1', 'private'],
    ['http://169.254.169.254', 'link-local'],
    ['http://224.0.0.1', 'multicast'],
    ['http://239.255.255.250', 'multicast'],
    ['http://255.255.255.255', 'reserved'],
    ['http://198.18.0.1', 'reserved'],
    // IPv6, and IPv4 wrapped in it.
    ['http://[::1]', 'loopback'],
    ['http://[0:0:0:0:0:0:0:1]', 'loopback'],
    ['http://[::]', 'unspecified'],
    ['http://[::ffff:127.0.0.1]', 'loopback'],
    ['http://[::ffff:10.0.0.1]', 'private'],
    ['http://[::ffff:169.254.1.1]', 'link-local'],
    ['http://[::127.0.0.1]', 'reserved'],
    ['http://[fd00::1]', 'private'],
    ['http://[fc12:3456::1]', 'private'],
    ['http://[fe80::1]', 'link-local'],
    ['http://[febf::1]', 'link-local'],
    ['http://[fec0::1]', 'private'],
    ['http://[ff02::1]', 'multicast'],
    ['http://[FF05::1:3]', 'multicast'],
    // Names that only mean something here.
    ['http://localhost:8080', 'local-name'],
    ['http://LOCALHOST.', 'local-name'],
    ['http://relay.localhost', 'local-name'],
    ['http://printer.local', 'local-name'],
    ['http://router', 'local-name'],
  ])('%s is %s', (url, kind) => expect(kindOf(url)).toBe(kind))

  it('is a pure function of the host text (bare IPv6, trailing dot, case)', () => {
    expect(addressKind('::1')).toBe('loopback')
    expect(addressKind('[FE80::AB]')).toBe('link-local')
    expect(addressKind('10.0.0.1.')).toBe('private')
    expect(addressKind('Relay.Monsoon.NETWORK.')).toBe('public')
    expect(addressKind('Relay.Example.COM')).toBe('reserved')
  })
})
